using Captum.Attr;
using Captum.Forward;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Captum.Tests.Attr.Gradient;

public sealed class IntegratedGradientsTests
{
    [Theory]
    [InlineData(IntegrationMethod.GaussLegendre, 1)]
    [InlineData(IntegrationMethod.GaussLegendre, 13)]
    [InlineData(IntegrationMethod.RiemannLeft, 2)]
    [InlineData(IntegrationMethod.RiemannRight, 5)]
    [InlineData(IntegrationMethod.RiemannMiddle, 9)]
    public void Attribute_LinearModel_EqualsWeightTimesDifference(IntegrationMethod method, int steps)
    {
        using var scope = torch.NewDisposeScope();
        var model = new LinearModel(4, 3, seed: 1);
        var x = torch.randn(5, 4);
        var baseline = torch.randn(1, 4);

        using var result = new IntegratedGradients(model).Attribute(x, new IntegratedGradientsOptions
        {
            Baselines = baseline,
            Target = 2,
            Steps = steps,
            Method = method,
            ReturnConvergenceDelta = true,
        });

        var expected = model.Lin.weight![2].unsqueeze(0) * (x - baseline);
        TensorAssert.AllClose(result.Attribution, expected, 1e-5, 1e-5);
        TensorAssert.AllClose(result.Delta!, torch.zeros(5), 1e-5, 0);
    }

    [Theory]
    [InlineData(IntegrationMethod.GaussLegendre)]
    [InlineData(IntegrationMethod.RiemannTrapezoid)]
    public void Attribute_StepsOverTheLimit_ThrowsNamingStepsBeforeAnyWork(IntegrationMethod method)
    {
        using var scope = torch.NewDisposeScope();
        var model = new LinearModel(4, 3, seed: 1);
        var calls = 0;
        var forward = ForwardFunction.FromDelegate((Tensor[] x) => { calls++; return model.call(x[0]); });

        var ex = Assert.ThrowsAny<ArgumentException>(() => new IntegratedGradients(forward).Attribute(torch.randn(2, 4), new IntegratedGradientsOptions { Target = 0, Steps = int.MaxValue, Method = method }));

        Assert.Equal("Steps", ex.ParamName);
        Assert.Contains($"at most {IntegratedGradientsOptions.MaxSteps}", ex.Message, StringComparison.Ordinal);
        Assert.Equal(0, calls);
    }

    [Fact]
    public void Attribute_CancelledFromTheLastReport_ThrowsBeforeTheDeltaPasses()
    {
        using var scope = torch.NewDisposeScope();
        var model = TestModels.SmoothMlp(12);
        var x = torch.randn(2, 4);
        using var cancellation = new CancellationTokenSource();
        var options = new IntegratedGradientsOptions
        {
            Target = 0,
            Steps = 4,
            InternalBatchSize = 4,
            ReturnConvergenceDelta = true,
            Progress = new SynchronousProgress(p =>
            {
                if (p.CompletedSteps == p.TotalSteps)
                {
                    cancellation.Cancel();
                }
            }),
        };

        Assert.Throws<OperationCanceledException>(() => new IntegratedGradients(model).Attribute(x, options, cancellation.Token));
    }

    [Fact]
    public void Attribute_MultiplyByInputsFalse_ReturnsPathAveragedGradient()
    {
        using var scope = torch.NewDisposeScope();
        var model = new LinearModel(4, 3, seed: 2);
        var x = torch.randn(2, 4);

        using var result = new IntegratedGradients(model, multiplyByInputs: false).Attribute(x, new IntegratedGradientsOptions { Target = 1 });

        TensorAssert.AllClose(result.Attribution, model.Lin.weight![1].expand(2, 4), 1e-5, 1e-5);
    }

    [Fact]
    public void Attribute_SeveralInputsWithAdditionalArgs_SumsToOutputDifference()
    {
        using var scope = torch.NewDisposeScope();
        var model = new TwoInputModel(seed: 3);
        var a = torch.randn(3, 2);
        var b = torch.randn(3, 3);
        var scale = torch.tensor(new[] { 1f, 2f, 0.5f }).reshape(3, 1);

        using var result = new IntegratedGradients(model).Attribute(Inputs.Of(a, b), new IntegratedGradientsOptions
        {
            Baselines = new BaselineValue[] { 0.5, torch.zeros(1, 3) },
            Target = new[] { 0, 2, 1 },
            AdditionalForwardArgs = [scale],
            Steps = 64,
            ReturnConvergenceDelta = true,
        });

        Assert.Equal(2, result.Attributions.Count);
        Assert.Equal(a.shape, result[0].shape);
        Assert.Equal(b.shape, result[1].shape);
        Assert.True(result.Delta!.abs().max().item<float>() < 1e-4, $"delta {result.Delta!.abs().max().item<float>()}");
    }

    [Fact]
    public void Attribute_NonTensorAdditionalArgument_PassesUnchanged()
    {
        using var scope = torch.NewDisposeScope();
        var seen = new List<object?>();
        var forward = ForwardFunction.FromDelegate(args =>
        {
            seen.Add(args[1]);
            return ((Tensor)args[0]!).pow(2).sum(dim: 1) * (double)args[1]!;
        });

        using var result = new IntegratedGradients(forward).Attribute(torch.ones(2, 3), new IntegratedGradientsOptions
        {
            AdditionalForwardArgs = [3.0],
            Steps = 20,
        });

        Assert.All(seen, s => Assert.Equal(3.0, s));
        TensorAssert.AllClose(result.Attribution, torch.full(2, 3, 3.0f), 1e-4, 1e-4);
    }

    [Fact]
    public void Attribute_TupleTargetOnThreeDimensionalOutput_SelectsThatElement()
    {
        using var scope = torch.NewDisposeScope();
        var forward = (ForwardFunction)(Func<Tensor, Tensor>)(x => torch.stack([x * 2, x * 3], 1));
        var x = torch.randn(2, 4);

        using var result = new IntegratedGradients(forward).Attribute(x, new IntegratedGradientsOptions { Target = (1, 2) });

        var expected = torch.zeros(2, 4);
        expected[TensorIndex.Colon, 2] = x[TensorIndex.Colon, 2] * 3;
        TensorAssert.AllClose(result.Attribution, expected, 1e-5, 1e-5);
    }

    [Fact]
    public void Attribute_TensorTargetPerExample_MatchesArrayTarget()
    {
        using var scope = torch.NewDisposeScope();
        var model = TestModels.SmoothMlp(4);
        var x = torch.randn(3, 4);
        var ig = new IntegratedGradients(model);

        using var fromTensor = ig.Attribute(x, new IntegratedGradientsOptions { Target = torch.tensor(new long[] { 2, 0, 1 }) });
        using var fromArray = ig.Attribute(x, new IntegratedGradientsOptions { Target = new[] { 2, 0, 1 } });

        TensorAssert.AllClose(fromTensor.Attribution, fromArray.Attribution, 0, 0);
    }

    [Fact]
    public void Attribute_CallerTensors_LeftUnchanged()
    {
        using var scope = torch.NewDisposeScope();
        var model = TestModels.SmoothMlp(5);
        var x = torch.randn(2, 4);
        var baseline = torch.randn(2, 4);
        var xCopy = x.clone();
        var parameters = model.parameters().Select(p => p.detach().clone()).ToList();

        using var result = new IntegratedGradients(model).Attribute(x, new IntegratedGradientsOptions { Baselines = baseline, Target = 0, InternalBatchSize = 7 });

        Assert.False(x.requires_grad);
        Assert.False(baseline.requires_grad);
        TensorAssert.AllClose(x, xCopy, 0, 0);
        Assert.All(model.parameters().Zip(parameters), p =>
        {
            TensorAssert.AllClose(p.First, p.Second, 0, 0);
            Assert.True(p.First.grad is null || p.First.grad.IsInvalid || p.First.grad.abs().sum().item<float>() == 0);
        });
    }

    [Fact]
    public void Attribute_InsideNoGrad_StillComputesGradients()
    {
        using var scope = torch.NewDisposeScope();
        var model = new LinearModel(3, 2, seed: 6);
        var x = torch.randn(1, 3);

        using var noGrad = torch.no_grad();
        using var result = new IntegratedGradients(model).Attribute(x, new IntegratedGradientsOptions { Target = 0 });

        TensorAssert.AllClose(result.Attribution, model.Lin.weight![0].unsqueeze(0) * x, 1e-5, 1e-5);
    }

    [Fact]
    public void Attribute_InternalBatches_ReportProgressPerChunk()
    {
        using var scope = torch.NewDisposeScope();
        var model = TestModels.SmoothMlp(7);
        var reports = new List<AttributionProgress>();
        var progress = new SynchronousProgress<AttributionProgress>(reports.Add);

        using var result = new IntegratedGradients(model).Attribute(torch.randn(2, 4), new IntegratedGradientsOptions
        {
            Target = 0,
            Steps = 10,
            InternalBatchSize = 6,
            Progress = progress,
        });

        Assert.Equal([3, 6, 9, 10], reports.Select(r => r.CompletedSteps));
        Assert.All(reports, r => Assert.Equal(10, r.TotalSteps));
    }

    [Fact]
    public void Attribute_CancelledToken_ThrowsOperationCanceled()
    {
        using var scope = torch.NewDisposeScope();
        var model = TestModels.SmoothMlp(8);
        using var cts = new CancellationTokenSource();
        cts.Cancel();

        Assert.Throws<OperationCanceledException>(() =>
            new IntegratedGradients(model).Attribute(torch.randn(2, 4), new IntegratedGradientsOptions { Target = 0 }, cts.Token));
    }

    [Fact]
    public void Attribute_ResultDisposed_FreesItsTensors()
    {
        using var scope = torch.NewDisposeScope();
        var result = new IntegratedGradients(TestModels.SmoothMlp(9)).Attribute(torch.randn(2, 4), new IntegratedGradientsOptions { Target = 0, ReturnConvergenceDelta = true });
        var attribution = result.Attribution;
        var delta = result.Delta!;

        result.Dispose();

        Assert.True(attribution.IsInvalid);
        Assert.True(delta.IsInvalid);
    }

    [Fact]
    public void Attribute_CallerScope_OwnsTheResult()
    {
        var x = torch.randn(2, 4);
        var model = TestModels.SmoothMlp(10);
        Tensor attribution;
        using (torch.NewDisposeScope())
        {
            var result = new IntegratedGradients(model).Attribute(x, new IntegratedGradientsOptions { Target = 1 });
            attribution = result.Attribution;
            Assert.False(attribution.IsInvalid);
        }

        Assert.True(attribution.IsInvalid);
        Assert.False(x.IsInvalid);
        x.Dispose();
    }
}
