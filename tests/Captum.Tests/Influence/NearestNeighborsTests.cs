using Captum.Influence;
using TorchSharp;
using Xunit;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace Captum.Tests.Influence;

/// <summary>The INearestNeighbors implementations: the exact one, and USearch's approximate one against it.</summary>
public sealed class NearestNeighborsTests(ITestOutputHelper output)
{
    public static TheoryData<string> Implementations => new() { nameof(ExactNearestNeighbors), nameof(USearchNearestNeighbors) };

    private static INearestNeighbors Make(string name) =>
        name == nameof(ExactNearestNeighbors) ? new ExactNearestNeighbors() : new USearchNearestNeighbors();

    // Seeded Gaussian vectors whose lengths spread over a factor of 10 and more, as influence vectors' do.
    private static Tensor Vectors(int seed, long count, long width) =>
        TestModels.Normal(seed, count, width) * torch.exp(TestModels.Normal(seed + 100, count, 1));

    [Fact]
    public void GetNearestNeighbors_Exact_IsTheTopKOfTheDotProducts()
    {
        using var scope = torch.NewDisposeScope();
        var data = Vectors(1, 40, 3, 2);
        var query = TestModels.Normal(3, 5, 6);
        using var index = new ExactNearestNeighbors();
        index.Setup(data);
        data.Dispose();

        var (indices, scores) = index.GetNearestNeighbors(query.view(5, 3, 2), 7);

        var (expectedScores, expectedIndices) = torch.topk(torch.mm(query, Vectors(1, 40, 3, 2).view(40, 6).t()), 7, dim: 1);
        Assert.Equal(ScalarType.Int64, indices.dtype);
        Assert.Equal(expectedIndices.data<long>().ToArray(), indices.data<long>().ToArray());
        TensorAssert.AllClose(scores, expectedScores, 0, 0);
    }

    [Fact]
    public void GetNearestNeighbors_USearchOnSeededRandomVectors_RecallAtTenAtLeastNinetyPercent()
    {
        using var scope = torch.NewDisposeScope();
        var (data, queries, approximate) = USearchOver(11, 500, 32, 13, 50);
        using var index = approximate;
        using var exact = new ExactNearestNeighbors();
        exact.Setup(data);

        var (found, scores) = approximate.GetNearestNeighbors(queries, 10);
        var (truth, _) = exact.GetNearestNeighbors(queries, 10);

        var hits = Enumerable.Range(0, 50).Sum(q => found[q].data<long>().ToArray().Intersect(truth[q].data<long>().ToArray()).Count());
        var recall = hits / 500.0;
        output.WriteLine($"USearch recall@10 on 500 vectors of 32 elements, 50 queries: {recall:F3}");
        Assert.True(recall >= 0.9, $"recall@10 {recall:F3}");
        // Its scores are the dot products of the vectors it returns (float32, 1 - USearch's distance).
        TensorAssert.AllClose(scores, (data.index_select(0, found.flatten()).view(50, 10, 32) * queries.unsqueeze(1)).sum(2), 1e-4, 1e-5);
    }

    [Fact]
    public void GetNearestNeighbors_USearchKIsTheWholeSet_ReturnsEveryIndexOnceBestFirst()
    {
        // k = every stored vector: on these vectors the graph search alone comes back short (a vector or two out of
        // its reach, checked below on a bare USearch index); such a query is answered exactly, so each row is a
        // permutation.
        using var scope = torch.NewDisposeScope();
        var (data, queries, built) = USearchOver(22, 400, 16, 222, 20);
        using var index = built;
        using (var raw = new Cloud.Unum.USearch.USearchIndex(Cloud.Unum.USearch.MetricKind.Ip, Cloud.Unum.USearch.ScalarKind.Float32, 16))
        {
            var rows = data.data<float>().ToArray();
            raw.Add(Enumerable.Range(0, 400).Select(i => (ulong)i).ToArray(), Enumerable.Range(0, 400).Select(i => rows[(i * 16)..((i + 1) * 16)]).ToArray());
            var q = queries.data<float>().ToArray();
            var shortRows = Enumerable.Range(0, 20).Count(i => raw.Search(q[(i * 16)..((i + 1) * 16)], 400, out _, out _) < 400);
            output.WriteLine($"queries the graph alone answers with fewer than 400: {shortRows} of 20");
            Assert.True(shortRows > 0, "USearch now reaches every vector of this set: pick another seed for the test to reach the exact answers");
        }

        var (found, scores) = index.GetNearestNeighbors(queries, 400);

        for (var q = 0; q < 20; q++)
        {
            Assert.Equal(Enumerable.Range(0, 400).Select(i => (long)i), found[q].data<long>().ToArray().Order());
        }

        var (exactScores, _) = torch.topk(torch.mm(queries, data.t()), 400, dim: 1);
        TensorAssert.AllClose(scores.sort(dim: 1, descending: true).Values, exactScores, 1e-4, 1e-5);
    }

    [Theory]
    [MemberData(nameof(Implementations))]
    public void GetNearestNeighbors_BadArguments_ThrowNamingThem(string implementation)
    {
        using var scope = torch.NewDisposeScope();
        using var index = Make(implementation);
        var query = TestModels.Normal(31, 2, 4);

        Assert.Throws<InvalidOperationException>(() => index.GetNearestNeighbors(query, 1));
        Assert.Equal("data", Assert.Throws<ArgumentException>(() => index.Setup(torch.zeros(0, 4))).ParamName);
        Assert.Equal("data", Assert.Throws<ArgumentException>(() => index.Setup(torch.zeros([3, 4], ScalarType.Int64))).ParamName);
        index.Setup(TestModels.Normal(32, 6, 4));

        Assert.Equal("k", Assert.Throws<ArgumentOutOfRangeException>(() => index.GetNearestNeighbors(query, 0)).ParamName);
        Assert.Equal("k", Assert.Throws<ArgumentOutOfRangeException>(() => index.GetNearestNeighbors(query, 7)).ParamName);
        Assert.Equal("query", Assert.Throws<ArgumentException>(() => index.GetNearestNeighbors(TestModels.Normal(33, 2, 5), 1)).ParamName);
        Assert.Equal("query", Assert.Throws<ArgumentException>(() => index.GetNearestNeighbors(torch.ones([2, 4], ScalarType.Int64), 1)).ParamName);
        var (indices, _) = index.GetNearestNeighbors(query, 6);
        Assert.Equal(new long[] { 2, 6 }, indices.shape);
    }

    [Theory]
    [MemberData(nameof(Implementations))]
    public void Setup_DataDisposedAfterwards_StillAnswers(string implementation)
    {
        using var scope = torch.NewDisposeScope();
        using var index = Make(implementation);
        var data = TestModels.Normal(41, 8, 4);
        var expected = torch.mm(TestModels.Normal(42, 1, 4), data.t()).argmax(1).item<long>();
        index.Setup(data);
        data.Dispose();

        var (indices, _) = index.GetNearestNeighbors(TestModels.Normal(42, 1, 4), 1);

        Assert.Equal(expected, indices.item<long>());
    }

    // Seeded stored vectors and queries, and a USearch index set up with the vectors (the caller disposes it).
    private static (Tensor Data, Tensor Queries, USearchNearestNeighbors Index) USearchOver(int seed, long count, long width, int querySeed, long queries)
    {
        var data = Vectors(seed, count, width);
        var index = new USearchNearestNeighbors();
        index.Setup(data);
        return (data, TestModels.Normal(querySeed, queries, width), index);
    }

    private static Tensor Vectors(int seed, long count, long rows, long columns) => Vectors(seed, count, rows * columns).view(count, rows, columns);
}
