using Captum.Attr;
using Captum.Forward;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Captum.Tests.Attr.Common;

/// <summary>A memory budget picks an internal batch size that fits, says which, and does not change the result.</summary>
[Collection(Captum.Tests.Attr.SerialCollection.Name)]
public sealed class MemoryBudgetTests
{
    [Fact]
    public void Attribute_MemoryBudget_PicksLargerBatchesForLargerBudgetsWithTheSameResult()
    {
        using var scope = torch.NewDisposeScope();
        var model = TestModels.SmoothMlp(1, inputs: 512, hidden: 1024, outputs: 4);
        var x = torch.randn(16, 512);
        var ig = new IntegratedGradients(model);
        var options = new IntegratedGradientsOptions { Target = 1, Steps = 40 };

        using var reference = ig.Attribute(x, options);
        using var tiny = OnAMachineWithADefaultBudgetOfOneByte(() => ig.Attribute(x, options));
        using var huge = ig.Attribute(x, options with { MaxMemoryBytes = 64L << 30 });

        Assert.Null(reference.InternalBatchSize);
        Assert.Equal(16, tiny.InternalBatchSize);
        Assert.Equal(40 * 16, huge.InternalBatchSize);
        Assert.NotNull(tiny.MemoryBudgetOverrun); // one step of the batch is more than a byte: it ran beyond the budget and says so
        Assert.Null(huge.MemoryBudgetOverrun);
        TensorAssert.AllClose(tiny.Attribution, reference.Attribution, 1e-6, 1e-5);
        TensorAssert.AllClose(huge.Attribution, reference.Attribution, 1e-6, 1e-5);
    }

    [Fact]
    public void Attribute_LayerMemoryBudget_ReportsTheBatchItUsed()
    {
        using var scope = torch.NewDisposeScope();
        var model = new BagOfWords(seed: 2);
        var tokens = torch.randint(1, 12, [4, 8], ScalarType.Int64);
        var lig = new LayerIntegratedGradients(model, "embedding");

        using var result = OnAMachineWithADefaultBudgetOfOneByte(() => lig.Attribute(tokens, new LayerIntegratedGradientsOptions { Target = 0, Steps = 10 }));

        Assert.Equal(4, result.InternalBatchSize);
        Assert.Equal("one integration step", result.MemoryBudgetOverrun?.Pass);
    }

    [Fact]
    public void Attribute_DefaultBudgetAndAPassThatCouldExceedIt_ProbesAndStillRunsOnePassWhenItFits()
    {
        using var scope = torch.NewDisposeScope();
        var model = TestModels.SmoothMlp(4, inputs: 4096, hidden: 2, outputs: 2);
        var x = torch.randn(1, 4096);
        // Just enough steps for steps x 16 KB per row x 1024 to exceed the default budget, whatever this machine's memory.
        var steps = (int)(MemoryBudget.DefaultBytes / (4096L * 4 * 1024)) + 1;
        var ig = new IntegratedGradients(model);
        var options = new IntegratedGradientsOptions { Target = 1, Steps = steps, Method = IntegrationMethod.RiemannTrapezoid };

        using var probed = ig.Attribute(x, options);
        using var unlimited = ig.Attribute(x, options with { MaxMemoryBytes = MemoryBudget.Unlimited });
        using var small = ig.Attribute(x, options with { Steps = steps / 2 });

        Assert.Equal(steps, probed.InternalBatchSize); // the probe ran and found every step fits in one pass
        Assert.Null(unlimited.InternalBatchSize);
        Assert.Null(small.InternalBatchSize); // evidently small: no probe
        TensorAssert.AllClose(probed.Attribution, unlimited.Attribution, 0, 0);
    }

    // The path methods beyond (Layer) Integrated Gradients take the same budget: a tiny default one runs the fewest steps
    // per pass (one, or the two points LayerConductance needs), a huge one every step in one pass, with the same result.
    [Theory]
    [InlineData("LayerConductance", 2)]
    [InlineData("InternalInfluence", 1)]
    [InlineData("NeuronConductance", 1)]
    [InlineData("NeuronIntegratedGradients", 1)]
    public void Attribute_PathMethodWithAMemoryBudget_PicksItsBatchAndKeepsTheResult(string method, int fewestSteps)
    {
        using var scope = torch.NewDisposeScope();
        var model = TestModels.SmoothMlp(5, inputs: 64, hidden: 32, outputs: 3);
        var x = torch.randn(4, 64);
        const int steps = 12;

        var (reference, referenceBatch) = RunPathMethod(method, model, x, steps, null);
        var (tiny, tinyBatch) = OnAMachineWithADefaultBudgetOfOneByte(() => RunPathMethod(method, model, x, steps, null));
        var (huge, hugeBatch) = RunPathMethod(method, model, x, steps, 64L << 30);

        Assert.Null(referenceBatch); // evidently small under the default budget: no probe, one pass
        Assert.Equal(fewestSteps * 4, tinyBatch);
        Assert.Equal((method == "LayerConductance" ? steps + 1 : steps) * 4, hugeBatch);
        TensorAssert.AllClose(tiny, reference, 1e-6, 1e-5);
        TensorAssert.AllClose(huge, reference, 1e-6, 1e-5);
    }

    private static (Tensor Attribution, int? InternalBatchSize) RunPathMethod(string method, Mlp model, Tensor x, int steps, long? budget)
    {
        switch (method)
        {
            case "LayerConductance":
            {
                var result = new LayerConductance(model, model.Lin1).Attribute(x, new LayerConductanceOptions { Target = 1, Steps = steps, MaxMemoryBytes = budget });
                return (result.Attribution, result.InternalBatchSize);
            }

            case "InternalInfluence":
            {
                var result = new InternalInfluence(model, model.Lin1).Attribute(x, new InternalInfluenceOptions { Target = 1, Steps = steps, MaxMemoryBytes = budget });
                return (result.Attribution, result.InternalBatchSize);
            }

            case "NeuronConductance":
            {
                var result = new NeuronConductance(model, model.Lin1, neuronSelector: 2).Attribute(x, new NeuronConductanceOptions { Target = 1, Steps = steps, MaxMemoryBytes = budget });
                return (result.Attribution, result.InternalBatchSize);
            }

            default:
            {
                var result = new NeuronIntegratedGradients(model, model.Lin1, neuronSelector: 2).Attribute(x, new NeuronIntegratedGradientsOptions { Steps = steps, MaxMemoryBytes = budget });
                return (result.Attribution, result.InternalBatchSize);
            }
        }
    }

    [Theory]
    [InlineData("IntegratedGradients")]
    [InlineData("NeuronIntegratedGradients")]
    [InlineData("FeatureAblation")]
    [InlineData("Occlusion")]
    public void Attribute_GivenBudgetBelowTheInputsOfOneStep_ThrowsNamingMaxMemoryBytesBeforeAnyForwardPass(string method)
    {
        using var scope = torch.NewDisposeScope();
        var model = TestModels.SmoothMlp(6, inputs: 64, hidden: 8, outputs: 3);
        var x = torch.randn(4, 64);
        var calls = 0;
        var hook = model.register_forward_pre_hook((_, input) =>
        {
            calls++;
            return input;
        });

        try
        {
            // The 4 x 64 float32 inputs alone are 1 KiB: one step or perturbation of the batch cannot fit 1000 bytes.
            var ex = Assert.Throws<ArgumentException>(() => RunWithBudget(method, model, x, 1000));

            Assert.Equal("MaxMemoryBytes", ex.ParamName);
            Assert.Contains("MaxMemoryBytes is 1000 bytes", ex.Message, StringComparison.Ordinal);
            Assert.Contains("MemoryBudget.Unlimited", ex.Message, StringComparison.Ordinal);
        }
        finally
        {
            hook.remove();
        }

        Assert.Equal(0, calls);
    }

    [Fact]
    public void Attribute_GivenBudgetBelowTheMeasuredStep_ThrowsNamingMaxMemoryBytesAfterTheProbesBeforeTheSteps()
    {
        using var scope = torch.NewDisposeScope();
        var (forward, calls) = StepHoldingABlock(7);
        var x = torch.randn(2, 4096);

        var ex = Assert.Throws<ArgumentException>(() =>
            new IntegratedGradients(forward).Attribute(x, new IntegratedGradientsOptions { Target = 1, Steps = 8, MaxMemoryBytes = 16L << 20 }).Dispose());

        Assert.Equal("MaxMemoryBytes", ex.ParamName);
        Assert.Contains("one integration step of the whole batch alone needs about", ex.Message, StringComparison.Ordinal);
        Assert.Equal(2, calls()); // the probe, and the probe again to confirm it: none of the 8 steps
    }

    [Fact]
    public void Attribute_OneStepOverTheDefaultBudget_RunsOneStepPerPassAndReportsTheOverrun()
    {
        using var scope = torch.NewDisposeScope();
        var (forward, _) = StepHoldingABlock(8);
        var x = torch.randn(2, 4096);
        var ig = new IntegratedGradients(forward);
        var options = new IntegratedGradientsOptions { Target = 1, Steps = 8 };

        using var unlimited = ig.Attribute(x, options with { MaxMemoryBytes = MemoryBudget.Unlimited });
        AttributionResult over;
        using (MemoryBudget.WithDefaultBytes(16L << 20))
        {
            over = ig.Attribute(x, options);
        }

        using (over)
        {
            Assert.Equal(2, over.InternalBatchSize);
            var overrun = Assert.IsType<MemoryBudgetOverrun>(over.MemoryBudgetOverrun);
            Assert.Equal(16L << 20, overrun.BudgetBytes);
            Assert.True(overrun.PassBytes >= BlockBytes * 9 / 10, $"{overrun.PassBytes} bytes measured for a step holding {BlockBytes}");
            Assert.Contains("more than the default memory budget of 16 MiB", overrun.Message, StringComparison.Ordinal);
            Assert.Null(unlimited.MemoryBudgetOverrun);
            TensorAssert.AllClose(over.Attribution, unlimited.Attribution, 1e-6, 1e-5);
        }
    }

    [Fact]
    public void Message_BudgetNotAQuarterOfTheMemory_SaysOnlyWhatWasMeasured()
    {
        var overrun = new MemoryBudgetOverrun(16L << 20, 32L << 20, "one perturbation");

        Assert.Equal("one perturbation of the whole batch needs about 32 MiB, more than the default memory budget of 16 MiB; it ran anyway, one at a time, beyond the budget", overrun.Message);
    }

    [Fact]
    public void Attribute_LayerConductanceOverTheDefaultBudget_OverrunNamesTwoIntegrationPoints()
    {
        using var scope = torch.NewDisposeScope();
        var model = TestModels.SmoothMlp(11);
        var x = torch.randn(3, 4);

        LayerAttributionResult result;
        using (MemoryBudget.WithDefaultBytes(1))
        {
            result = new LayerConductance(model, model.Lin1).Attribute(x, new LayerConductanceOptions { Target = 1, Steps = 4 });
        }

        using (result)
        {
            Assert.Equal("two integration points", result.MemoryBudgetOverrun?.Pass);
        }
    }

    [Fact]
    public void Attribute_GivenInternalBatchSize_IsReportedAndTheBudgetIgnored()
    {
        using var scope = torch.NewDisposeScope();
        using var result = new IntegratedGradients(TestModels.SmoothMlp(3)).Attribute(torch.randn(2, 4), new IntegratedGradientsOptions { Target = 0, InternalBatchSize = 6, MaxMemoryBytes = 1 });

        Assert.Equal(6, result.InternalBatchSize);
    }
    /// <summary>64 MiB: above glibc's largest mmap threshold, so a block this size is always mapped afresh and counts in the resident peak.</summary>
    private const long BlockBytes = 64L << 20;

    /// <summary>Runs <paramref name="call"/> as on a machine whose default budget is one byte, less than any step.</summary>
    private static T OnAMachineWithADefaultBudgetOfOneByte<T>(Func<T> call)
    {
        using (MemoryBudget.WithDefaultBytes(1))
        {
            return call();
        }
    }

    /// <summary>A model of 4096 inputs whose every forward pass holds a fresh <see cref="BlockBytes"/> block, and its count of calls.</summary>
    private static (ForwardFunction Forward, Func<int> Calls) StepHoldingABlock(int seed)
    {
        var model = TestModels.SmoothMlp(seed, inputs: 4096, hidden: 2, outputs: 2);
        var calls = 0;
        Tensor Forward(Tensor x)
        {
            calls++;
            using var block = torch.ones(BlockBytes / 4);
            return model.call(x) + (block.sum() * 0);
        }

        return (ForwardFunction.FromDelegate((Tensor[] args) => Forward(args[0])), () => calls);
    }

    private static void RunWithBudget(string method, Mlp model, Tensor x, long budget)
    {
        switch (method)
        {
            case "IntegratedGradients":
                new IntegratedGradients(model).Attribute(x, new IntegratedGradientsOptions { Target = 1, MaxMemoryBytes = budget }).Dispose();
                break;
            case "NeuronIntegratedGradients":
                new NeuronIntegratedGradients(model, model.Lin1, neuronSelector: 2).Attribute(x, new NeuronIntegratedGradientsOptions { MaxMemoryBytes = budget }).Dispose();
                break;
            case "FeatureAblation":
                new FeatureAblation(model).Attribute(x, new FeatureAblationOptions { Target = 1, MaxMemoryBytes = budget }).Dispose();
                break;
            default:
                new Occlusion(model).Attribute(x, new OcclusionOptions { Target = 1, SlidingWindowShapes = new long[] { 8 }, MaxMemoryBytes = budget }).Dispose();
                break;
        }
    }

    [Fact]
    public void PeakGrowth_ProbesOnSeveralThreads_RunOneAtATimeAndEachSeesItsOwnPeak()
    {
        if (!File.Exists("/proc/self/status"))
        {
            return; // the probe measures nothing off Linux; there is no process-wide peak to share
        }

        const long Bytes = 64L << 20;
        var inside = 0;
        var overlapped = 0;
        var growths = new long?[4];
        Parallel.For(0, growths.Length, new ParallelOptions { MaxDegreeOfParallelism = growths.Length }, i =>
        {
            growths[i] = MemoryProbe.PeakGrowth(torch.CPU, () =>
            {
                if (Interlocked.Increment(ref inside) > 1)
                {
                    Interlocked.Exchange(ref overlapped, 1);
                }

                // Touch every page, so the block is resident while this probe measures; then free it.
                using (var block = torch.ones(Bytes / 4, ScalarType.Float32))
                {
                    Thread.Sleep(50);
                }

                Interlocked.Decrement(ref inside);
            });
        });

        Assert.Equal(0, overlapped);
        Assert.All(growths, g => Assert.True(g >= Bytes * 9 / 10, $"a probe saw {g} bytes of growth for a {Bytes}-byte block"));
    }
}
