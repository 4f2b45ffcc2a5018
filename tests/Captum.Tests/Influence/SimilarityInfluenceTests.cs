using Captum.Influence;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Captum.Tests.Influence;

/// <summary>SimilarityInfluence: the top k by activation similarity, streamed, as the whole similarity matrix gives it.</summary>
public sealed class SimilarityInfluenceTests
{
    private static (Mlp Model, Tensor Train, Tensor Test) Setup()
    {
        var model = TestModels.SmoothMlp(12, inputs: 4, hidden: 6, outputs: 3);
        var train = TestModels.Normal(13, 17, 4);
        var test = torch.cat([train.narrow(0, 5, 1), TestModels.Normal(14, 2, 4)]);
        return (model, train, test);
    }

    private static IReadOnlyList<IReadOnlyList<Tensor>> Batches(Tensor x, int size) =>
        Enumerable.Range(0, (int)((x.shape[0] + size - 1) / size)).Select(b => (IReadOnlyList<Tensor>)[x.narrow(0, b * size, Math.Min(size, x.shape[0] - (b * size)))]).ToList();

    [Theory]
    [InlineData(1)]
    [InlineData(4)]
    [InlineData(17)]
    public void MostSimilar_AnyBatchSize_EqualsTheTopKOfTheWholeSimilarityMatrix(int batchSize)
    {
        using var scope = torch.NewDisposeScope();
        var (model, train, test) = Setup();
        var expected = SimilarityMetrics.Cosine()(model.Lin1.call(test), model.Lin1.call(train)).topk(3, dim: 1);

        using var result = new SimilarityInfluence(model, ["lin1"], Batches(train, batchSize)).MostSimilar([test], 3);

        TensorAssert.AllClose(result["lin1"].Scores, expected.values, 1e-6, 1e-5);
        Assert.Equal(expected.indexes.data<long>().ToArray(), result["lin1"].Indices.data<long>().ToArray());
        Assert.Null(result.ZeroActivations("lin1"));
    }

    [Fact]
    public void MostSimilar_ATrainingExample_IsItsOwnNearestByCosineAndByDistance()
    {
        using var scope = torch.NewDisposeScope();
        var (model, train, test) = Setup();

        using var cosine = new SimilarityInfluence(model, [model.Lin1], Batches(train, 5)).MostSimilar([test], 1);
        using var distance = new SimilarityInfluence(model, ["lin1"], Batches(train, 5), new SimilarityInfluenceOptions
        {
            Metric = SimilarityMetrics.Euclidean,
            Direction = SimilarityDirection.Min,
        }).MostSimilar([test], 2);

        Assert.Equal(5, cosine["lin1"].Indices[0, 0].item<long>());
        Assert.Equal(1f, cosine["lin1"].Scores[0, 0].item<float>(), 5);
        Assert.Equal(5, distance["lin1"].Indices[0, 0].item<long>());
        Assert.Equal(0f, distance["lin1"].Scores[0, 0].item<float>(), 3);
        Assert.True(distance["lin1"].Scores[.., 0].le(distance["lin1"].Scores[.., 1]).all().item<bool>());
    }

    [Fact]
    public void MostSimilar_BadArguments_ThrowNamingThem()
    {
        using var scope = torch.NewDisposeScope();
        var (model, train, test) = Setup();
        var method = new SimilarityInfluence(model, ["lin1"], Batches(train, 5));
        var badMetric = new SimilarityInfluence(model, ["lin1"], Batches(train, 5), new SimilarityInfluenceOptions { Metric = (a, b) => torch.zeros(1) });

        Assert.Equal("k", Assert.Throws<ArgumentOutOfRangeException>(() => method.MostSimilar([test], 18)).ParamName);
        Assert.Equal("k", Assert.Throws<ArgumentOutOfRangeException>(() => method.MostSimilar([test], 0)).ParamName);
        Assert.Equal("Metric", Assert.Throws<ArgumentException>(() => badMetric.MostSimilar([test], 1)).ParamName);
        Assert.Equal("layers", Assert.ThrowsAny<ArgumentException>(() => new SimilarityInfluence(model, [], Batches(train, 5))).ParamName);
        Assert.Contains("nope", Assert.ThrowsAny<ArgumentException>(() => new SimilarityInfluence(model, ["nope"], Batches(train, 5))).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void MostSimilar_LayerReturningSeveralTensors_ThrowsNamingLayers()
    {
        using var scope = torch.NewDisposeScope();
        var model = new GruModel();
        var train = TestModels.Normal(15, 6, 15).reshape(6, 5, 3);

        var ex = Assert.Throws<ArgumentException>(() => new SimilarityInfluence(model, ["gru"], [[train]]).MostSimilar([train.narrow(0, 0, 2)], 1));
        using var head = new SimilarityInfluence(model, ["head"], [[train]]).MostSimilar([train.narrow(0, 0, 2)], 1);

        Assert.Equal("layers", ex.ParamName);
        Assert.Contains("gru returns 2 tensors", ex.Message, StringComparison.Ordinal);
        Assert.Equal([2L, 1L], head["head"].Indices.shape);
    }

    [Theory]
    [InlineData(SimilarityDirection.Max, -2.0)]
    [InlineData(SimilarityDirection.Min, 2.0)]
    public void MostSimilar_ZeroActivationVectors_RankLastAndAreReported(SimilarityDirection direction, double undefined)
    {
        using var scope = torch.NewDisposeScope();
        var linear = nn.Linear(3, 3, hasBias: false);
        using (torch.no_grad())
        {
            linear.weight!.copy_(torch.eye(3));
        }

        var model = nn.Sequential(("lin", linear));
        // Signed activations: Captum fills the zero vector's elements with ∓2, which scores it ∓2 · Σ(t / |t|) = ±3.46
        // for test example 0, beyond every true cosine on the side that ranks first.
        var train = torch.tensor(new float[,] { { 0, 0, 0 }, { 1, 0, 0 }, { -1, -2, 0 } });
        var test = torch.tensor(new float[,] { { -1, -1, -1 }, { 0, 0, 0 } });

        using var result = new SimilarityInfluence(model, ["lin"], Batches(train, 2), new SimilarityInfluenceOptions { Direction = direction }).MostSimilar([test], 3);

        var cosines = new[] { -1 / Math.Sqrt(3), 3 / Math.Sqrt(15) };
        var (first, second) = direction == SimilarityDirection.Max ? (2L, 1L) : (1L, 2L);
        Assert.Equal([first, second, 0L], result["lin"].Indices[0].data<long>().ToArray());
        TensorAssert.AllClose(result["lin"].Scores[0], torch.tensor(new[] { cosines[first - 1], cosines[second - 1], undefined }, ScalarType.Float32), 1e-6, 1e-5);
        TensorAssert.AllClose(result["lin"].Scores[1], torch.full(3, undefined, ScalarType.Float32), 0, 0);
        Assert.Equal(new long[] { 0, 0, 1, 0, 1, 1, 1, 2 }, result.ZeroActivations("lin")!.data<long>().ToArray());
    }
}
