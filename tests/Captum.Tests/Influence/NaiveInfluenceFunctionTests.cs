using System.Text.Json.Nodes;
using Captum;
using Captum.Golden;
using Captum.Influence;
using Captum.TestData;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Captum.Tests.Influence;

/// <summary>
/// NaiveInfluenceFunction: Captum 0.8.0's answers (tests/Captum.Tests/Fixtures/golden/captum-0.8.0-influence, made by
/// scripts/golden/influence_function.py), the closed form on a least-squares model, its laws, the model left as
/// given, and bad arguments.
/// </summary>
public sealed class NaiveInfluenceFunctionTests
{
    public static TheoryData<string> GoldenCases() =>
        new(Directory.GetFiles(GoldenFolder(), "*.json").Select(Path.GetFileName).Order(StringComparer.Ordinal).Select(n => n!));

    [Fact]
    public void GoldenCases_IncludeEveryKindOfCall()
    {
        var calls = Directory.GetFiles(GoldenFolder(), "*.json").Select(f => JsonNode.Parse(File.ReadAllText(f))!["call"]!.ToJsonString()).ToList();

        Assert.Contains(calls, c => c.Contains("self_influence", StringComparison.Ordinal));
        Assert.Contains(calls, c => c.Contains("\"k\":3", StringComparison.Ordinal));
        Assert.Contains(calls, c => c.Contains("intermediate_quantities", StringComparison.Ordinal));
    }

    [Theory]
    [MemberData(nameof(GoldenCases))]
    public void NaiveInfluenceFunction_GoldenCase_MatchesCaptum(string file)
    {
        using var scope = torch.NewDisposeScope();
        var golden = new InfluenceGoldenCase(Path.Combine(GoldenFolder(), file));
        var (test, call, constructor) = (golden.Test, golden.Call, golden.Constructor);
        var options = new NaiveInfluenceFunctionOptions
        {
            Layers = golden.Layers,
            ProjectionDim = constructor["projection_dim"]!.GetValue<int>(),
            HessianReg = constructor["hessian_reg"]!.GetValue<double>(),
            HessianInverseTol = constructor["hessian_inverse_tol"]!.GetValue<double>(),
            HessianData = golden.Batches("hessian"),
        };
        using var method = new NaiveInfluenceFunction(golden.Model, golden.Train, golden.Checkpoints.Single(), options);

        if (call["self_influence"]?.GetValue<bool>() == true)
        {
            var examples = call["of_test"]?.GetValue<bool>() == true ? new[] { test } : null;
            AssertClose(method.SelfInfluence(examples), golden.ExpectedTensor("self_influence"));
        }
        else if (call["intermediate_quantities"]?.GetValue<bool>() == true)
        {
            AssertClose(method.ComputeIntermediateQuantities([test]), golden.ExpectedTensor("intermediate_quantities"));
        }
        else if (call["k"] is JsonValue k)
        {
            using var result = method.MostInfluential(test, k.GetValue<int>(), call["proponents"]!.GetValue<bool>());
            Assert.Equal(golden.ExpectedTensor("indices").data<long>().ToArray(), result.Indices.data<long>().ToArray());
            AssertClose(result.Scores, golden.ExpectedTensor("scores"));
        }
        else
        {
            AssertClose(method.Influence(test), golden.ExpectedTensor("scores"));
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(12)]
    public void Influence_LeastSquares_EqualsTheClosedForm(int batchSize)
    {
        // Loss (w·x − y)²: gradient 2(w·x − y)x, Hessian Σ 2 x xᵀ, so influence is g_testᵀ (Σ 2 x xᵀ)⁻¹ g_train.
        using var scope = torch.NewDisposeScope();
        var (model, x, y, train, test) = LeastSquares(batchSize);
        using var method = new NaiveInfluenceFunction(model, train, Snapshot(model), new NaiveInfluenceFunctionOptions { Loss = SquaredError, ProjectionDim = null, HessianReg = 0 });

        using var scores = method.Influence(test);

        var w = model.weight!.detach().reshape(-1);
        var g = (torch.mv(x, w) - y).unsqueeze(1) * x * 2;
        var gTest = (torch.mv(test.Inputs[0], w) - test.Labels).unsqueeze(1) * test.Inputs[0] * 2;
        var h = torch.mm(x.t(), x) * 2;
        var expected = torch.mm(torch.mm(gTest, torch.linalg.inv(h)), g.t());
        TensorAssert.AllClose(scores, expected, 1e-4, 1e-3);
    }

    [Fact]
    public void SelfInfluence_OfTheTrainingSet_IsTheDiagonalOfItsInfluenceOnItself()
    {
        using var scope = torch.NewDisposeScope();
        var (model, x, y, train, _) = LeastSquares(4);
        using var method = new NaiveInfluenceFunction(model, train, Snapshot(model), new NaiveInfluenceFunctionOptions { Loss = SquaredError, ProjectionDim = 2 });

        using var self = method.SelfInfluence();
        using var all = method.Influence(new InfluenceBatch(x, y));

        TensorAssert.AllClose(self, all.diagonal(), 1e-5, 1e-4);
    }

    [Fact]
    public void ComputeIntermediateQuantities_Products_AreTheInfluenceScores()
    {
        using var scope = torch.NewDisposeScope();
        var (model, _, _, train, test) = LeastSquares(5);
        using var method = new NaiveInfluenceFunction(model, train, Snapshot(model), new NaiveInfluenceFunctionOptions { Loss = SquaredError, ProjectionDim = 3 });

        var trainRows = method.ComputeIntermediateQuantities(train);
        var testRows = method.ComputeIntermediateQuantities([test], test: true);
        var sum = method.ComputeIntermediateQuantities(train, aggregate: true);

        Assert.Equal([12L, 3L], trainRows.shape);
        TensorAssert.AllClose(method.Influence(test), torch.mm(testRows, trainRows.t()), 1e-5, 1e-4);
        TensorAssert.AllClose(sum, trainRows.sum(0, keepdim: true), 1e-5, 1e-4);
    }

    [Fact]
    public void MostInfluential_Opponents_AreTheLowestScoresInOrder()
    {
        using var scope = torch.NewDisposeScope();
        var (model, _, _, train, test) = LeastSquares(5);
        using var method = new NaiveInfluenceFunction(model, train, Snapshot(model), new NaiveInfluenceFunctionOptions { Loss = SquaredError });

        using var scores = method.Influence(test);
        using var opponents = method.MostInfluential(test, 4, proponents: false);

        var (values, indices) = torch.topk(scores, 4, dim: 1, largest: false);
        Assert.Equal(indices.data<long>().ToArray(), opponents.Indices.data<long>().ToArray());
        TensorAssert.AllClose(opponents.Scores, values, 0, 0);
    }

    [Fact]
    public void Influence_AfterTheCall_LeavesTheModelAsGiven()
    {
        using var scope = torch.NewDisposeScope();
        var (model, _, _, train, test) = LeastSquares(4);
        var other = nn.Linear(3, 1, hasBias: false);
        var checkpoint = Snapshot(other);
        model.weight!.requires_grad_(false);
        var before = model.weight.detach().clone();

        using var method = new NaiveInfluenceFunction(model, train, checkpoint, new NaiveInfluenceFunctionOptions { Loss = SquaredError });
        using var scores = method.Influence(test);

        Assert.False(model.weight.requires_grad);
        TensorAssert.AllClose(model.weight.detach(), before, 0, 0);
    }

    [Fact]
    public void Influence_SecondCall_ReusesTheHessianAndGivesTheSameScores()
    {
        using var scope = torch.NewDisposeScope();
        var (model, _, _, train, test) = LeastSquares(4);
        using var method = new NaiveInfluenceFunction(model, train, Snapshot(model), new NaiveInfluenceFunctionOptions { Loss = SquaredError });
        var reports = new List<AttributionProgress>();
        var progress = new SynchronousProgress(reports.Add);

        using var first = method.Influence(test, progress);
        var reportsOfFirst = reports.Count;
        using var second = method.Influence(test, progress);

        // The first call reports the Hessian's three batches and the training data's three; the second only the latter.
        Assert.Equal(6, reportsOfFirst);
        Assert.Equal(9, reports.Count);
        TensorAssert.AllClose(second, first, 0, 0);
    }

    [Fact]
    public void Influence_HessianWithoutPositiveEigenvalues_SaysSo()
    {
        using var scope = torch.NewDisposeScope();
        var (model, _, _, train, test) = LeastSquares(4);
        using var method = new NaiveInfluenceFunction(model, train, Snapshot(model), new NaiveInfluenceFunctionOptions { Loss = SquaredError, HessianInverseTol = 1e9 });

        var error = Assert.Throws<InvalidOperationException>(() => method.Influence(test));
        Assert.Contains("HessianInverseTol", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Influence_Cancelled_ThrowsBeforeAnyBatch()
    {
        using var scope = torch.NewDisposeScope();
        var (model, _, _, train, test) = LeastSquares(4);
        using var method = new NaiveInfluenceFunction(model, train, Snapshot(model), new NaiveInfluenceFunctionOptions { Loss = SquaredError });
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        var reports = new List<AttributionProgress>();

        Assert.ThrowsAny<OperationCanceledException>(() => method.Influence(test, new SynchronousProgress(reports.Add), cancelled.Token));
        Assert.Empty(reports);
    }

    [Theory]
    [InlineData("ProjectionDim")]
    [InlineData("HessianReg")]
    [InlineData("HessianInverseTol")]
    [InlineData("MemoryBudget")]
    public void Constructor_OptionOutOfRange_NamesIt(string option)
    {
        using var scope = torch.NewDisposeScope();
        var (model, _, _, train, _) = LeastSquares(4);
        var options = option switch
        {
            "ProjectionDim" => new NaiveInfluenceFunctionOptions { ProjectionDim = 0 },
            "HessianReg" => new NaiveInfluenceFunctionOptions { HessianReg = -1 },
            "HessianInverseTol" => new NaiveInfluenceFunctionOptions { HessianInverseTol = double.NaN },
            _ => new NaiveInfluenceFunctionOptions { MemoryBudget = 0 },
        };

        var error = Assert.ThrowsAny<ArgumentException>(() => new NaiveInfluenceFunction(model, train, Snapshot(model), options));
        Assert.Equal(option, error.ParamName);
    }

    [Fact]
    public void Influence_HessianBeyondTheMemoryBudget_NamesLayersBeforeAnyWork()
    {
        using var scope = torch.NewDisposeScope();
        var (model, _, _, train, test) = LeastSquares(4);
        using var method = new NaiveInfluenceFunction(model, train, Snapshot(model), new NaiveInfluenceFunctionOptions { Loss = SquaredError, MemoryBudget = 100 });
        var reports = new List<AttributionProgress>();

        var error = Assert.Throws<ArgumentException>(() => method.Influence(test, new SynchronousProgress(reports.Add)));
        Assert.Equal("Layers", error.ParamName);
        Assert.Empty(reports);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(13)]
    public void MostInfluential_KOutOfRange_NamesK(int k)
    {
        using var scope = torch.NewDisposeScope();
        var (model, _, _, train, test) = LeastSquares(4);
        using var method = new NaiveInfluenceFunction(model, train, Snapshot(model), new NaiveInfluenceFunctionOptions { Loss = SquaredError });

        var error = Assert.Throws<ArgumentOutOfRangeException>(() => method.MostInfluential(test, k));
        Assert.Equal("k", error.ParamName);
    }

    [Fact]
    public void Constructor_LayerNotInTheModel_NamesLayers()
    {
        using var scope = torch.NewDisposeScope();
        var (model, _, _, train, _) = LeastSquares(4);

        var error = Assert.ThrowsAny<ArgumentException>(() => new NaiveInfluenceFunction(model, train, Snapshot(model), new NaiveInfluenceFunctionOptions { Layers = ["missing"] }));
        Assert.Equal("Layers", error.ParamName);
    }

    private static readonly InfluenceLoss SquaredError = (outputs, labels) => (outputs.reshape(-1) - labels).pow(2);

    /// <summary>Linear(3, 1) without bias over 12 examples; the test set has 2.</summary>
    private static (TorchSharp.Modules.Linear Model, Tensor X, Tensor Y, IReadOnlyList<InfluenceBatch> Train, InfluenceBatch Test) LeastSquares(int batchSize)
    {
        var model = nn.Linear(3, 1, hasBias: false);
        using (torch.no_grad())
        {
            model.weight!.copy_(torch.tensor(new[] { 0.5f, -1.0f, 0.25f }).reshape(1, 3));
        }

        var generator = new torch.Generator(7);
        var x = torch.randn(12, 3, generator: generator);
        var y = torch.randn(12, generator: generator);
        var test = new InfluenceBatch(torch.randn(2, 3, generator: generator), torch.randn(2, generator: generator));
        return (model, x, y, InfluenceData.Batches(x, y, batchSize), test);
    }

    private static TrainingCheckpoint Snapshot(nn.Module model) =>
        TrainingCheckpoint.FromStateDict(model.state_dict().ToDictionary(p => p.Key, p => p.Value.detach().clone()));

    private static string GoldenFolder() =>
        Path.Combine(SharedData.RepositoryRoot(), "tests", "Captum.Tests", "Fixtures", "golden", "captum-0.8.0-influence");

    /// <summary>The golden README's tolerance: |a - e| &lt;= 1e-4 + 1e-3 |e| elementwise.</summary>
    private static void AssertClose(Tensor actual, Tensor expected) =>
        TensorAssert.AllClose(actual, expected, 1e-4, 1e-3);
}
