using Captum.Attr;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Captum.Tests.Attr;

/// <summary>Inputs and states a user brings by mistake get a one-line error that names them (issue 15, item 7).</summary>
public sealed class HostileInputTests
{
    public static TheoryData<string> GradientMethods => ["IntegratedGradients", "Saliency", "LayerIntegratedGradients"];

    [Theory]
    [MemberData(nameof(GradientMethods))]
    public void Attribute_InsideInferenceMode_ThrowsNamingInferenceMode(string method)
    {
        using var scope = torch.NewDisposeScope();
        var model = TestModels.SmoothMlp(5);
        var x = torch.randn(2, 4);

        using var inference = torch.inference_mode();
        var ex = Assert.Throws<InvalidOperationException>(() => Run(method, model, x));

        Assert.Contains("inference_mode", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', ex.Message);
    }

    [Fact]
    public void Attribute_TargetOutOfRange_NamesEachExamplesOutputShapeNotTheStepsBatch()
    {
        using var scope = torch.NewDisposeScope();
        var model = TestModels.SmoothMlp(7);
        var x = torch.randn(2, 4);

        var ex = Assert.Throws<ArgumentException>(() =>
            new IntegratedGradients(model).Attribute(x, new IntegratedGradientsOptions { Target = 5, Steps = 50 }).Dispose());

        Assert.Equal("target", ex.ParamName);
        Assert.Contains("index 5 is out of range", ex.Message, StringComparison.Ordinal);
        Assert.Contains("(shape [3])", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("100", ex.Message, StringComparison.Ordinal); // the 50 steps x 2 examples of the expansion
    }

    public static TheoryData<string, ScalarType> GradientMethodsAndOtherFloatTypes => new()
    {
        { "IntegratedGradients", ScalarType.Float64 },
        { "Saliency", ScalarType.Float64 },
        { "LayerIntegratedGradients", ScalarType.Float64 },
        { "IntegratedGradients", ScalarType.Float16 },
        { "Saliency", ScalarType.Float16 },
        { "LayerIntegratedGradients", ScalarType.Float16 },
        { "IntegratedGradients", ScalarType.BFloat16 },
    };

    [Theory]
    [MemberData(nameof(GradientMethodsAndOtherFloatTypes))]
    public void Attribute_OtherFloatInputsToAFloat32Model_ThrowsNamingInputsAndBothDtypes(string method, ScalarType dtype)
    {
        using var scope = torch.NewDisposeScope();
        var model = TestModels.SmoothMlp(6);
        var x = torch.randn(2, 4).to(dtype);

        var ex = Assert.Throws<ArgumentException>(() => Run(method, model, x));

        Assert.Equal("inputs", ex.ParamName);
        Assert.Contains($"the inputs are {dtype} but the model's parameters are Float32", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', ex.Message); // libtorch's C++ stack stays in the inner exception
    }

    [Fact]
    public void Attribute_Float64InputsToAFloat64Model_Works()
    {
        using var scope = torch.NewDisposeScope();
        var model = TestModels.SmoothMlp(7);
        model.to(ScalarType.Float64);

        using var result = new IntegratedGradients(model).Attribute(torch.randn(2, 4, ScalarType.Float64), new IntegratedGradientsOptions { Target = 0 });

        Assert.Equal(ScalarType.Float64, result.Attribution.dtype);
    }

    [Theory]
    [MemberData(nameof(GradientMethods))]
    public void Attribute_TokenCancelledBeforeTheCallOfTwentyThousandSteps_ThrowsBeforeAnyForwardPass(string method)
    {
        using var scope = torch.NewDisposeScope();
        var model = TestModels.SmoothMlp(8);
        var calls = 0;
        var hook = model.register_forward_pre_hook((_, x) =>
        {
            calls++;
            return x;
        });
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();

        try
        {
            Assert.ThrowsAny<OperationCanceledException>(() => Run(method, model, torch.randn(2, 4), steps: 20_000, cancelled.Token));
        }
        finally
        {
            hook.remove();
        }

        Assert.Equal(0, calls);
    }

    [Fact]
    public void Attribute_TokenCancelledFromAnotherThreadDuringABudgetChunkedCall_ThrowsAtTheNextChunkLeavingNoLiveTensors()
    {
        using var scope = torch.NewDisposeScope();
        var model = TestModels.SmoothMlp(9, inputs: 64, hidden: 32, outputs: 3);
        var x = torch.randn(4, 64);
        const int Steps = 20_000;
        using var cancel = new CancellationTokenSource();
        var reports = new List<AttributionProgress>();
        var reportsWhenCancelled = 0;
        var options = new IntegratedGradientsOptions
        {
            Target = 1,
            Steps = Steps,
            Progress = new SynchronousProgress<AttributionProgress>(p =>
            {
                reports.Add(p);
                if (reports.Count == 3)
                {
                    // Another thread cancels, as a Ctrl+C handler or a server aborting a request does; this pass goes on once it has.
                    var canceller = new Thread(cancel.Cancel);
                    canceller.Start();
                    canceller.Join();
                    reportsWhenCancelled = reports.Count;
                }
            }),
        };
        var ig = new IntegratedGradients(model);
        var live = DisposeScopeManager.Statistics.ThreadTotalLiveCount;

        using (MemoryBudget.WithDefaultBytes(1))
        {
            // A default budget below one step: the budget cuts the 20,000 steps into 20,000 passes of one step.
            Assert.Throws<OperationCanceledException>(() => ig.Attribute(x, options, cancel.Token).Dispose());
        }

        Assert.Equal(3, reportsWhenCancelled);
        Assert.InRange(reports.Count - reportsWhenCancelled, 0, 2); // a generous bound: the token is checked before every pass
        Assert.Equal([new(1, Steps), new(2, Steps), new(3, Steps)], reports.Take(3));
        Assert.Equal(live, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
    }

    private static void Run(string method, Mlp model, Tensor x, int steps = 50, CancellationToken cancellationToken = default)
    {
        switch (method)
        {
            case "IntegratedGradients":
                new IntegratedGradients(model).Attribute(x, new IntegratedGradientsOptions { Target = 0, Steps = steps }, cancellationToken).Dispose();
                break;
            case "Saliency":
                new Saliency(model).Attribute(x, new SaliencyOptions { Target = 0 }, cancellationToken).Dispose();
                break;
            default:
                new LayerIntegratedGradients(model, model.Lin1).Attribute(x, new LayerIntegratedGradientsOptions { Target = 0, Steps = steps }, cancellationToken).Dispose();
                break;
        }
    }
}
