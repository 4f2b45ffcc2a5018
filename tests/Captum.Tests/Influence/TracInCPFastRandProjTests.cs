using Captum.Influence;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Captum.Tests.Influence;

/// <summary>TracInCPFastRandProj: exact without projection, converging to it as the projection grows.</summary>
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
}
