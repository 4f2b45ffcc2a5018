using Captum.Attr;
using FsCheck.Xunit;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Captum.Tests.Attr.Layer;

public sealed class LayerConductanceTests
{
    [Fact]
    public void Attribute_TrapezoidManySteps_SumsToOutputDifference()
    {
        using var scope = torch.NewDisposeScope();
        var model = TestModels.SmoothMlp(11);
        var x = torch.randn(3, 4);
        var baseline = torch.randn(3, 4);

        using var result = new LayerConductance(model, model.Lin1).Attribute(x, new LayerConductanceOptions
        {
            Baselines = baseline,
            Target = 1,
            Steps = 200,
            Method = IntegrationMethod.RiemannTrapezoid,
            ReturnConvergenceDelta = true,
        });

        Assert.Equal(new long[] { 3, 8 }, result.Attribution.shape);
        using var noGrad = torch.no_grad();
        var difference = model.call(x)[TensorIndex.Colon, 1] - model.call(baseline)[TensorIndex.Colon, 1];
        TensorAssert.AllClose(result.Delta!, result.Attribution.sum(1) - difference, 1e-5, 1e-4);
        Assert.True(result.Delta!.abs().max().item<float>() < 1e-3, $"delta {result.Delta!.abs().max().item<float>()}");
    }

    [Fact]
    public void Attribute_StepsAtMaxSteps_IsAcceptedAndOverItRefusedNamingSteps()
    {
        // Conductance evaluates Steps + 1 points, as Captum: the limit is the user's Steps, not the points.
        using var scope = torch.NewDisposeScope();
        var model = TestModels.SmoothMlp(11);
        var x = torch.randn(1, 4);
        var conductance = new LayerConductance(model, model.Lin1);
        LayerConductanceOptions Options(int steps) => new() { Target = 1, Steps = steps, Method = IntegrationMethod.RiemannTrapezoid, InternalBatchSize = 2 };
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();

        Assert.ThrowsAny<OperationCanceledException>(() => conductance.Attribute(x, Options(IntegratedGradientsOptions.MaxSteps), cancelled.Token).Dispose());
        var ex = Assert.ThrowsAny<ArgumentException>(() => conductance.Attribute(x, Options(IntegratedGradientsOptions.MaxSteps + 1), cancelled.Token).Dispose());
        Assert.Equal("Steps", ex.ParamName);
        Assert.Contains($"at most {IntegratedGradientsOptions.MaxSteps}", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Attribute_LinearLayerBeforeLinearHead_IsHeadWeightTimesLayerChange()
    {
        using var scope = torch.NewDisposeScope();
        var model = new LinearStack(seed: 2);
        var x = torch.randn(2, 4);
        var baseline = torch.randn(2, 4);

        // The gradient is constant, and the trapezoid's points run from 0 to 1, so the differences telescope exactly.
        using var result = new LayerConductance(model, model.Lin1).Attribute(x, new LayerConductanceOptions
        {
            Baselines = baseline,
            Target = 0,
            Steps = 7,
            Method = IntegrationMethod.RiemannTrapezoid,
        });

        using var noGrad = torch.no_grad();
        var change = model.Lin1.call(x) - model.Lin1.call(baseline);
        TensorAssert.AllClose(result.Attribution, model.Lin2.weight![0] * change, 1e-5, 1e-4);
    }

    [Fact]
    public void Attribute_InternalBatchSize_DoesNotChangeTheResult()
    {
        using var scope = torch.NewDisposeScope();
        var model = TestModels.SmoothMlp(4);
        var x = torch.randn(3, 4);
        var conductance = new LayerConductance(model, model.Lin1);
        var options = new LayerConductanceOptions { Target = 2, Steps = 10, ReturnConvergenceDelta = true };

        using var whole = conductance.Attribute(x, options);
        using var twoPoints = conductance.Attribute(x, options with { InternalBatchSize = 1 });
        using var uneven = conductance.Attribute(x, options with { InternalBatchSize = 13 });

        TensorAssert.AllClose(twoPoints.Attribution, whole.Attribution, 1e-6, 1e-5);
        TensorAssert.AllClose(uneven.Attribution, whole.Attribution, 1e-6, 1e-5);
        TensorAssert.AllClose(uneven.Delta!, whole.Delta!, 1e-6, 1e-5);
    }

    [Property(MaxTest = 25)]
    public void Attribute_AnyInternalBatchSize_EqualsOneBatch(int seed, byte batchChoice, byte stepChoice, byte methodChoice)
    {
        using var scope = torch.NewDisposeScope();
        var methods = Enum.GetValues<IntegrationMethod>().Where(m => m != IntegrationMethod.Romberg).ToArray(); // Romberg needs 2^k + 1 points, conductance uses Steps + 1
        var model = TestModels.SmoothMlp(seed);
        var x = torch.randn(2, 4);
        var steps = 1 + (stepChoice % 25);
        var internalBatch = 1 + (batchChoice % ((2 * steps) + 6));
        var conductance = new LayerConductance(model, model.Lin1);
        var options = new LayerConductanceOptions { Target = 1, Steps = steps, Method = methods[methodChoice % methods.Length] };

        using var whole = conductance.Attribute(x, options);
        using var chunked = conductance.Attribute(x, options with { InternalBatchSize = internalBatch });

        TensorAssert.AllClose(chunked.Attribution, whole.Attribution, 1e-6, 1e-5);
    }

    [Fact]
    public void Attribute_AdditionalArgumentsAndSeveralInputs_SumsToOutputDifference()
    {
        using var scope = torch.NewDisposeScope();
        var model = new TwoInputModel(seed: 5);
        var a = torch.randn(2, 2);
        var b = torch.randn(2, 3);
        var scale = torch.rand(2, 1) + 0.5;

        using var result = new LayerConductance(model, "lin").Attribute(Inputs.Of(a, b), new LayerConductanceOptions
        {
            Target = new[] { 2, 0 },
            AdditionalForwardArgs = [scale],
            Steps = 300,
            Method = IntegrationMethod.RiemannTrapezoid,
            AttributeToLayerInput = true,
            ReturnConvergenceDelta = true,
            InternalBatchSize = 50,
        });

        Assert.Equal(new long[] { 2, 5 }, result.Attribution.shape);
        Assert.True(result.Delta!.abs().max().item<float>() < 1e-3, $"delta {result.Delta!.abs().max().item<float>()}");
    }

    [Fact]
    public void Attribute_Progress_CountsPointsUpToStepsPlusOne()
    {
        using var scope = torch.NewDisposeScope();
        var model = TestModels.SmoothMlp(6);
        var reports = new List<AttributionProgress>();

        using var result = new LayerConductance(model, model.Lin1).Attribute(torch.randn(2, 4), new LayerConductanceOptions
        {
            Target = 0,
            Steps = 9,
            InternalBatchSize = 8,
            Progress = new SynchronousProgress(reports.Add),
        });

        // Four points per pass, the next starting at the last: 0-3, 3-6, 6-9.
        Assert.Equal([4, 7, 10], reports.Select(r => r.CompletedSteps));
        Assert.All(reports, r => Assert.Equal(10, r.TotalSteps));
    }

    [Fact]
    public void Attribute_CancelledToken_Throws()
    {
        using var scope = torch.NewDisposeScope();
        var model = TestModels.SmoothMlp(7);
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();

        Assert.ThrowsAny<OperationCanceledException>(() =>
            new LayerConductance(model, model.Lin1).Attribute(torch.randn(2, 4), new LayerConductanceOptions { Target = 0 }, cancelled.Token));
    }

    [Fact]
    public void Attribute_ZeroSteps_ThrowsNamingSteps()
    {
        using var scope = torch.NewDisposeScope();
        var model = TestModels.SmoothMlp(8);
        var ex = Assert.ThrowsAny<ArgumentException>(() =>
            new LayerConductance(model, model.Lin1).Attribute(torch.randn(2, 4), new LayerConductanceOptions { Target = 0, Steps = 0 }));
        Assert.Equal("Steps", ex.ParamName);
    }

    [Fact]
    public void Attribute_TokenIds_ThrowsNamingInputs()
    {
        using var scope = torch.NewDisposeScope();
        var ex = Assert.Throws<ArgumentException>(() =>
            new LayerConductance(new BagOfWords(seed: 1), "embedding").Attribute(torch.tensor(new long[,] { { 1, 2 } }), new LayerConductanceOptions { Target = 0 }));
        Assert.Equal("inputs", ex.ParamName);
    }
}
