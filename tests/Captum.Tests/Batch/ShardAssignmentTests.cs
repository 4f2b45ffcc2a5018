using Captum.Batch;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Xunit;

namespace Captum.Tests.Batch;

public sealed class ShardAssignmentTests
{
    [Property(MaxTest = 200)]
    public Property Shards_OfAnyCount_CoverEveryExampleExactlyOnceInOrder(byte examplesSeed, byte shardsSeed)
    {
        var (examples, shards) = (examplesSeed * 3, shardsSeed % 40 + 1);
        var covered = new List<int>();
        for (var i = 0; i < shards; i++)
        {
            var shard = new ShardAssignment(i, shards);
            covered.AddRange(Enumerable.Range(shard.First(examples), shard.End(examples) - shard.First(examples)));
        }

        return covered.SequenceEqual(Enumerable.Range(0, examples)).ToProperty();
    }

    [Fact]
    public void Resolve_KubernetesIndexedJob_TakesIndexFromJobCompletionIndexAndCountFromCaptumShardCount()
    {
        var env = Env(("JOB_COMPLETION_INDEX", "3"), ("CAPTUM_SHARD_COUNT", "8"));

        Assert.Equal(new ShardAssignment(3, 8), ShardAssignment.Resolve(null, null, env));
        Assert.Equal(new ShardAssignment(3, 5), ShardAssignment.Resolve(null, 5, env));
        Assert.Equal(new ShardAssignment(1, 8), ShardAssignment.Resolve(1, null, env));
    }

    [Fact]
    public void Resolve_SlurmArray_CountsFromTheArraysLowestTaskId()
    {
        var env = Env(("SLURM_ARRAY_TASK_ID", "5"), ("SLURM_ARRAY_TASK_MIN", "1"), ("SLURM_ARRAY_TASK_COUNT", "6"));

        Assert.Equal(new ShardAssignment(4, 6), ShardAssignment.Resolve(null, null, env));
    }

    [Fact]
    public void Resolve_SlurmSteppedArray_NumbersTheTasksByTheirPlaceInTheArray()
    {
        // --array=0-15:4: tasks 0, 4, 8 and 12.
        var shards = new[] { 0, 4, 8, 12 }.Select(id => ShardAssignment.Resolve(null, null, Env(
            ("SLURM_ARRAY_TASK_ID", $"{id}"), ("SLURM_ARRAY_TASK_MIN", "0"), ("SLURM_ARRAY_TASK_MAX", "12"), ("SLURM_ARRAY_TASK_STEP", "4"), ("SLURM_ARRAY_TASK_COUNT", "4"))));

        Assert.Equal([new(0, 4), new(1, 4), new(2, 4), new(3, 4)], shards);
    }

    [Theory]
    [InlineData("2", "1", "9", "1", "3")] // --array=1,2,9
    [InlineData("6", "0", "12", "4", "4")] // an id off the step
    public void Resolve_SlurmArrayNotEvenlySpaced_ThrowsNamingTheSlurmVariables(string id, string min, string max, string step, string count)
    {
        var env = Env(("SLURM_ARRAY_TASK_ID", id), ("SLURM_ARRAY_TASK_MIN", min), ("SLURM_ARRAY_TASK_MAX", max), ("SLURM_ARRAY_TASK_STEP", step), ("SLURM_ARRAY_TASK_COUNT", count));

        var ex = Assert.Throws<ArgumentException>(() => ShardAssignment.Resolve(null, null, env));

        Assert.Equal("SLURM_ARRAY_TASK_ID", ex.ParamName);
        Assert.Contains("not evenly spaced", ex.Message);
        Assert.Contains("--shard-index and --shard-count", ex.Message);
    }

    [Fact]
    public void Resolve_NothingGiven_IsTheSingleShard() =>
        Assert.Equal(ShardAssignment.Single, ShardAssignment.Resolve(null, null, Env()));

    [Fact]
    public void Resolve_IndexOutOfRange_ThrowsNamingShardIndexAndTheRange()
    {
        var ex = Assert.Throws<ArgumentException>(() => ShardAssignment.Resolve(null, 4, Env(("JOB_COMPLETION_INDEX", "4"))));

        Assert.Equal("shard-index", ex.ParamName);
        Assert.Contains("JOB_COMPLETION_INDEX", ex.Message);
        Assert.Contains("[0, 3]", ex.Message);
        Assert.Throws<ArgumentException>(() => ShardAssignment.Resolve(-1, 4, Env()));
    }

    [Fact]
    public void Resolve_IndexWithoutCount_ThrowsNamingCaptumShardCount()
    {
        var ex = Assert.Throws<ArgumentException>(() => ShardAssignment.Resolve(null, null, Env(("JOB_COMPLETION_INDEX", "0"))));

        Assert.Equal("shard-count", ex.ParamName);
        Assert.Contains("CAPTUM_SHARD_COUNT", ex.Message);
    }

    [Fact]
    public void Resolve_VariableNotANumber_ThrowsNamingIt()
    {
        var ex = Assert.Throws<ArgumentException>(() => ShardAssignment.Resolve(null, 2, Env(("JOB_COMPLETION_INDEX", "one"))));

        Assert.Contains("JOB_COMPLETION_INDEX", ex.Message);
    }

    [Fact]
    public void DatasetProgress_HalfwayAfterTenSeconds_RatesOnlyComputedExamplesAndEstimatesTheRest()
    {
        var progress = new DatasetProgress(new ShardAssignment(1, 4), Done: 30, Total: 50, Resumed: 10, Elapsed: TimeSpan.FromSeconds(10));

        Assert.Equal(2.0, progress.Rate);
        Assert.Equal(TimeSpan.FromSeconds(10), progress.Remaining);
        Assert.Equal("shard 1 of 4: 30/50 examples (10 resumed), 2.00 examples/s, 10s left", progress.ToString());
        Assert.Null((progress with { Done = 10 }).Remaining);
    }

    private static Func<string, string?> Env(params (string Name, string Value)[] variables) =>
        name => variables.FirstOrDefault(v => v.Name == name).Value;
}
