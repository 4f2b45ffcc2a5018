using System.Globalization;

namespace Captum.Batch;

/// <summary>
/// Which part of a dataset one worker attributes: shard <see cref="Index"/> of <see cref="Count"/>. Shard i holds
/// the examples [⌊i·n/N⌋, ⌊(i+1)·n/N⌋) of n examples, so the split depends on nothing but n and N: every example
/// belongs to exactly one shard, in any process on any machine.
/// </summary>
/// <param name="Index">The shard, in [0, <paramref name="Count"/>).</param>
/// <param name="Count">The number of shards, at least 1.</param>
public sealed record ShardAssignment(int Index, int Count)
{
    /// <summary>The Kubernetes Indexed Job variable: the pod's completion index.</summary>
    public const string KubernetesIndexVariable = "JOB_COMPLETION_INDEX";

    /// <summary>The shard count for a Kubernetes Indexed Job (Kubernetes does not pass <c>completions</c> to the pod); also read elsewhere when <c>--shard-count</c> is not given.</summary>
    public const string ShardCountVariable = "CAPTUM_SHARD_COUNT";

    /// <summary>The Slurm job array variables: the task's id, the array's task count, its lowest and highest id, and the step between ids.</summary>
    public const string SlurmIndexVariable = "SLURM_ARRAY_TASK_ID";

    /// <inheritdoc cref="SlurmIndexVariable"/>
    public const string SlurmCountVariable = "SLURM_ARRAY_TASK_COUNT";

    /// <inheritdoc cref="SlurmIndexVariable"/>
    public const string SlurmMinVariable = "SLURM_ARRAY_TASK_MIN";

    /// <inheritdoc cref="SlurmIndexVariable"/>
    public const string SlurmMaxVariable = "SLURM_ARRAY_TASK_MAX";

    /// <inheritdoc cref="SlurmIndexVariable"/>
    public const string SlurmStepVariable = "SLURM_ARRAY_TASK_STEP";

    /// <summary>The one shard of a single-process run.</summary>
    public static ShardAssignment Single { get; } = new(0, 1);

    /// <summary>The first example of this shard of <paramref name="examples"/> examples.</summary>
    public int First(int examples) => Start(Index, examples);

    /// <summary>One past the last example of this shard of <paramref name="examples"/> examples.</summary>
    public int End(int examples) => Start(Index + 1, examples);

    private int Start(int shard, int examples) => (int)((long)shard * examples / Count);

    /// <summary>
    /// The shard of this worker: the options when given, otherwise the environment. The index comes from
    /// <paramref name="index"/>, else <c>JOB_COMPLETION_INDEX</c>, else the task's place in a Slurm array,
    /// (<c>SLURM_ARRAY_TASK_ID</c> - <c>SLURM_ARRAY_TASK_MIN</c>) / <c>SLURM_ARRAY_TASK_STEP</c> (min 0 and step 1
    /// when unset, so <c>--array=0-15:4</c> gives tasks 0, 4, 8, 12 the shards 0 to 3), else 0. The count comes from
    /// <paramref name="count"/>, else <c>CAPTUM_SHARD_COUNT</c>, else (in a Slurm array) <c>SLURM_ARRAY_TASK_COUNT</c>,
    /// else 1. An array whose ids are not evenly spaced (<c>--array=1,2,9</c>) is refused: its tasks have no place in
    /// a sequence of shards.
    /// </summary>
    /// <param name="index">The <c>--shard-index</c> option, or null.</param>
    /// <param name="count">The <c>--shard-count</c> option, or null.</param>
    /// <param name="environment">Reads an environment variable (null when unset); <see cref="Environment.GetEnvironmentVariable(string)"/> when null.</param>
    /// <exception cref="ArgumentException">A value is not a whole number, the index is out of range, an index comes without a count, or a Slurm array's ids are not evenly spaced; the message names the option or variable.</exception>
    public static ShardAssignment Resolve(int? index, int? count, Func<string, string?>? environment = null)
    {
        environment ??= Environment.GetEnvironmentVariable;
        string? indexSource = index is null ? null : "--shard-index";
        string? countSource = count is null ? null : "--shard-count";
        var slurm = environment(SlurmIndexVariable) is { Length: > 0 };
        if (index is null && Read(environment, KubernetesIndexVariable) is { } k)
        {
            (index, indexSource) = (k, KubernetesIndexVariable);
        }
        else if (index is null && slurm)
        {
            (index, indexSource) = (SlurmPlace(environment), $"({SlurmIndexVariable} - {SlurmMinVariable}) / {SlurmStepVariable}");
        }

        if (count is null && Read(environment, ShardCountVariable) is { } c)
        {
            (count, countSource) = (c, ShardCountVariable);
        }
        else if (count is null && slurm && Read(environment, SlurmCountVariable) is { } s)
        {
            (count, countSource) = (s, SlurmCountVariable);
        }

        if (index is not null && count is null)
        {
            throw new ArgumentException(
                $"the shard index comes from {indexSource} but no shard count is given: pass --shard-count or set {ShardCountVariable}.",
                "shard-count");
        }

        var resolved = new ShardAssignment(index ?? 0, count ?? 1);
        if (resolved.Count < 1)
        {
            throw new ArgumentException($"the shard count ({countSource}) must be at least 1, not {resolved.Count}.", "shard-count");
        }

        if (resolved.Index < 0 || resolved.Index >= resolved.Count)
        {
            throw new ArgumentException(
                $"the shard index ({indexSource}) is {resolved.Index}, out of range for {resolved.Count} shards: it must be in [0, {resolved.Count - 1}].",
                "shard-index");
        }

        return resolved;
    }

    /// <summary>A Slurm array task's place among the array's ids, which must be evenly spaced.</summary>
    private static int SlurmPlace(Func<string, string?> environment)
    {
        var id = Read(environment, SlurmIndexVariable)!.Value;
        var min = Read(environment, SlurmMinVariable) ?? 0;
        var step = Read(environment, SlurmStepVariable) ?? 1;
        const string Advice = "submit a contiguous array (--array=0-N) or an evenly stepped one (--array=A-B:S), or pass --shard-index and --shard-count";
        if (step < 1)
        {
            throw new ArgumentException($"${SlurmStepVariable} must be at least 1, not {step}.", SlurmStepVariable);
        }

        if ((id - min) % step != 0)
        {
            throw new ArgumentException(
                $"${SlurmIndexVariable} {id} is not ${SlurmMinVariable} {min} plus a multiple of ${SlurmStepVariable} {step}: the array's task ids are not evenly spaced, so they do not number shards; {Advice}.",
                SlurmIndexVariable);
        }

        if (Read(environment, SlurmMaxVariable) is { } max && Read(environment, SlurmCountVariable) is { } tasks && (long)min + ((long)step * (tasks - 1)) != max)
        {
            throw new ArgumentException(
                $"the Slurm array's {tasks} task ids from {min} to {max} are not evenly spaced by {step} (${SlurmCountVariable}, ${SlurmMinVariable}, ${SlurmMaxVariable}, ${SlurmStepVariable}), so they do not number shards; {Advice}.",
                SlurmIndexVariable);
        }

        return (id - min) / step;
    }

    private static int? Read(Func<string, string?> environment, string name) =>
        environment(name) is not { Length: > 0 } text
            ? null
            : int.TryParse(text.Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var value)
                ? value
                : throw new ArgumentException($"${name} must be a whole number, not '{text}'.", name);

    /// <summary>The folder name of this shard in an output folder: <c>shard-00003</c>.</summary>
    public string FolderName => string.Create(CultureInfo.InvariantCulture, $"shard-{Index:D5}");

    /// <inheritdoc />
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"shard {Index} of {Count}");
}
