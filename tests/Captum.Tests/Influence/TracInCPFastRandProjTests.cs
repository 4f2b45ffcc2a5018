using Captum.Influence;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Captum.Tests.Influence;

/// <summary>
/// TracInCPFastRandProj: exact without projection, converging to it as the projection grows; its top k through the
/// nearest-neighbour index of its options.
/// </summary>
public sealed class TracInCPFastRandProjTests
{
    private static (nn.Module Model, IReadOnlyList<InfluenceBatch> Train, InfluenceBatch Test, List<TrainingCheckpoint> Checkpoints) Setup()
    {
        torch.manual_seed(31);
        var model = nn.Sequential(("hidden", nn.Linear(6, 16)), ("act", nn.Tanh()), ("head", nn.Linear(16, 12)));
        var checkpoints = Enumerable.Range(0, 2).Select(i =>
        {
            torch.manual_seed(40 + i);
            var weights = nn.Sequential(("hidden", nn.Linear(6, 16)), ("act", nn.Tanh()), ("head", nn.Linear(16, 12))).state_dict()
                .ToDictionary(p => p.Key, p => p.Value.detach().clone());
            return TrainingCheckpoint.FromStateDict(weights, 0.5 + i);
        }).ToList();
        var x = TestModels.Normal(32, 30, 6);
        var y = torch.randint(0, 12, [30], ScalarType.Int64, generator: new torch.Generator(33));
        var test = new InfluenceBatch(TestModels.Normal(34, 3, 6), torch.tensor(new long[] { 1, 5, 11 }));
        return (model, InfluenceData.Batches(x, y, 7), test, checkpoints);
    }

    [Fact]
    public void Influence_WithoutProjection_EqualsTracInCPFast()
    {
        using var scope = torch.NewDisposeScope();
        var (model, train, test, checkpoints) = Setup();
        using var method = new TracInCPFastRandProj(model, "head", train, checkpoints);

        using var scores = method.Influence(test);
        using var expected = new TracInCPFast(model, "head", train, checkpoints).Influence(test);
        using var self = method.SelfInfluence();
        using var expectedSelf = new TracInCPFast(model, "head", train, checkpoints).SelfInfluence();

        Assert.Equal(new long[] { 30, 2 * 12 * 16 }, method.TrainingVectors.shape);
        TensorAssert.AllClose(scores, expected, 1e-6, 1e-5);
        TensorAssert.AllClose(self, expectedSelf, 1e-6, 1e-5);
    }

    [Fact]
    public void Influence_LargerProjections_ComeCloserToTheExactScores()
    {
        using var scope = torch.NewDisposeScope();
        var (model, train, test, checkpoints) = Setup();
        using var exact = new TracInCPFast(model, "head", train, checkpoints).Influence(test);

        double Error(int dim) => Enumerable.Range(0, 8).Average(seed =>
        {
            using var method = new TracInCPFastRandProj(model, "head", train, checkpoints, new TracInCPFastRandProjOptions { ProjectionDim = dim, Seed = seed });
            using var scores = method.Influence(test);
            return (scores - exact).norm().item<float>() / exact.norm().item<float>();
        });

        // Johnson-Lindenstrauss: the error of a projected dot product shrinks like 1 / √(columns), relative to the
        // vectors' lengths rather than to the (possibly tiny) score, so only the trend is asserted.
        var errors = new[] { 4, 36, 144 }.Select(Error).ToArray();
        Assert.True(errors[0] > errors[1] && errors[1] > errors[2], $"relative errors at 4, 36, 144 dimensions: {string.Join(", ", errors)}");
    }

    [Fact]
    public void Build_SameSeed_DrawsTheSameProjections()
    {
        using var scope = torch.NewDisposeScope();
        var (model, train, _, checkpoints) = Setup();
        var options = new TracInCPFastRandProjOptions { ProjectionDim = 16, Seed = 5 };

        using var a = new TracInCPFastRandProj(model, "head", train, checkpoints, options);
        using var b = new TracInCPFastRandProj(model, "head", train, checkpoints, options);

        Assert.Equal(new long[] { 30, 2 * 4 * 4 }, a.TrainingVectors.shape);
        TensorAssert.AllClose(a.TrainingVectors, b.TrainingVectors, 0, 0);
        Assert.Equal("ProjectionDim", Assert.Throws<ArgumentOutOfRangeException>(() => new TracInCPFastRandProj(model, "head", train, checkpoints, options with { ProjectionDim = 0 })).ParamName);
    }

    [Fact]
    public void MostInfluential_DefaultIndex_EqualsTheTopKOfInfluence()
    {
        using var scope = torch.NewDisposeScope();
        var (model, train, test, checkpoints) = Setup();
        using var method = new TracInCPFastRandProj(model, "head", train, checkpoints);
        using var explicitExact = new TracInCPFastRandProj(model, "head", train, checkpoints, new TracInCPFastRandProjOptions { NearestNeighbors = new ExactNearestNeighbors() });
        using var scores = method.Influence(test);

        foreach (var proponents in new[] { true, false })
        {
            // What MostInfluential computed before it had an index: the top k of the whole score matrix.
            using var expected = MostInfluentialResult.From(scores, 5, proponents);
            using var actual = method.MostInfluential(test, 5, proponents);
            using var viaOptions = explicitExact.MostInfluential(test, 5, proponents);

            Assert.Equal(expected.Indices.data<long>().ToArray(), actual.Indices.data<long>().ToArray());
            TensorAssert.AllClose(actual.Scores, expected.Scores, 0, 0);
            Assert.Equal(expected.Indices.data<long>().ToArray(), viaOptions.Indices.data<long>().ToArray());
            TensorAssert.AllClose(viaOptions.Scores, expected.Scores, 0, 0);
        }

        Assert.Equal("k", Assert.Throws<ArgumentOutOfRangeException>(() => method.MostInfluential(test, 31)).ParamName);
        Assert.Equal("k", Assert.Throws<ArgumentOutOfRangeException>(() => method.MostInfluential(test, 0)).ParamName);
    }

    [Fact]
    public void MostInfluential_USearchIndex_FindsTheExactTopKWithInfluenceScores()
    {
        using var scope = torch.NewDisposeScope();
        var (model, train, test, checkpoints) = Setup();
        using var method = new TracInCPFastRandProj(model, "head", train, checkpoints, new TracInCPFastRandProjOptions { NearestNeighbors = new USearchNearestNeighbors() });
        using var scores = method.Influence(test);

        foreach (var proponents in new[] { true, false })
        {
            using var expected = MostInfluentialResult.From(scores, 5, proponents);
            using var actual = method.MostInfluential(test, 5, proponents);

            // 30 training vectors: the graph reaches them all. The scores are the influence of the returned examples.
            Assert.Equal(expected.Indices.data<long>().ToArray(), actual.Indices.data<long>().ToArray());
            TensorAssert.AllClose(actual.Scores, scores.gather(1, actual.Indices), 1e-6, 1e-5);
        }
    }

    [Fact]
    public void MostInfluential_CustomIndex_IsSetUpOnceQueriedWithTheNegatedTestVectorsForOpponentsAndDisposed()
    {
        using var scope = torch.NewDisposeScope();
        var (model, train, test, checkpoints) = Setup();
        var index = new RecordingIndex();
        var method = new TracInCPFastRandProj(model, "head", train, checkpoints, new TracInCPFastRandProjOptions { NearestNeighbors = index });
        using var vectors = method.ComputeIntermediateQuantities([test]);
        using var scores = method.Influence(test);

        using var proponents = method.MostInfluential(test, 4);
        using var opponents = method.MostInfluential(test, 4, proponents: false);

        Assert.Equal(1, index.Setups);
        TensorAssert.AllClose(index.Stored!, method.TrainingVectors, 0, 0);
        Assert.Equal(2, index.Queries.Count);
        TensorAssert.AllClose(index.Queries[0], vectors, 0, 0);
        TensorAssert.AllClose(index.Queries[1], -vectors, 0, 0);
        // The index hands back its neighbours worst first and scores of its own: the method sorts them by influence.
        using var expectedProponents = MostInfluentialResult.From(scores, 4, true);
        using var expectedOpponents = MostInfluentialResult.From(scores, 4, false);
        Assert.Equal(expectedProponents.Indices.data<long>().ToArray(), proponents.Indices.data<long>().ToArray());
        Assert.Equal(expectedOpponents.Indices.data<long>().ToArray(), opponents.Indices.data<long>().ToArray());
        TensorAssert.AllClose(proponents.Scores, expectedProponents.Scores, 1e-6, 1e-5);
        TensorAssert.AllClose(opponents.Scores, expectedOpponents.Scores, 1e-6, 1e-5);

        Assert.False(index.Disposed);
        method.Dispose();
        Assert.True(index.Disposed);
        Assert.True(index.Stored!.IsInvalid);
    }

    [Fact]
    public void Build_IndexServingAnotherMethod_ThrowsNamingNearestNeighbors()
    {
        using var scope = torch.NewDisposeScope();
        var (model, train, test, checkpoints) = Setup();
        var options = new TracInCPFastRandProjOptions { NearestNeighbors = new RecordingIndex() };
        using var first = new TracInCPFastRandProj(model, "head", train, checkpoints, options);

        Assert.Equal("NearestNeighbors", Assert.Throws<ArgumentException>(() => new TracInCPFastRandProj(model, "head", train, checkpoints, options with { Seed = 1 })).ParamName);
        using var result = first.MostInfluential(test, 2);
        Assert.Equal(new long[] { 3, 2 }, result.Indices.shape);
    }

    [Fact]
    public void MostInfluential_IndexReturnsWrongShape_ThrowsInvalidOperationNamingIt()
    {
        using var scope = torch.NewDisposeScope();
        var (model, train, test, checkpoints) = Setup();
        using var method = new TracInCPFastRandProj(model, "head", train, checkpoints, new TracInCPFastRandProjOptions { NearestNeighbors = new RecordingIndex { Truncate = true } });

        Assert.Contains(nameof(RecordingIndex), Assert.Throws<InvalidOperationException>(() => method.MostInfluential(test, 3)).Message);
    }

    /// <summary>An exact index that records its calls and returns each row's neighbours worst first, with made-up scores.</summary>
    private sealed class RecordingIndex : INearestNeighbors
    {
        private readonly ExactNearestNeighbors exact = new();

        public int Setups { get; private set; }

        public Tensor? Stored { get; private set; }

        public List<Tensor> Queries { get; } = [];

        public bool Disposed { get; private set; }

        public bool Truncate { get; init; }

        public void Setup(Tensor data)
        {
            Setups++;
            Stored = data.clone().DetachFromDisposeScope();
            exact.Setup(data);
        }

        public (Tensor Indices, Tensor Scores) GetNearestNeighbors(Tensor query, int k)
        {
            Queries.Add(query.clone().DetachFromDisposeScope());
            var (indices, _) = exact.GetNearestNeighbors(query, k);
            var reversed = indices.flip(1);
            return (Truncate ? reversed[.., ..(k - 1)] : reversed, torch.zeros(reversed.shape));
        }

        public void Dispose()
        {
            Disposed = true;
            exact.Dispose();
            Stored?.Dispose();
            Queries.ForEach(q => q.Dispose());
        }
    }
}
