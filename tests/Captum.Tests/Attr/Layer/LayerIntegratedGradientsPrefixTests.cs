using Captum.Attr;
using Captum.Forward;
using Captum.Layers;
using Captum.Plugins.Vqa.Model;
using FsCheck.Xunit;
using TorchSharp;
using TorchSharp.Modules;
using Xunit;
using static TorchSharp.torch;

namespace Captum.Tests.Attr.Layer;

/// <summary>
/// LayerIntegratedGradients runs the part of the model before a single layer once per chunk of steps on the n inputs
/// (not on steps x n copies of them) when the model allows it, and falls back to the expanded pass otherwise; either
/// way the attributions are those of the expanded pass (forced here through the internal ReuseLayerPrefix switch).
/// The path taken is read from the rows an early module sees: 2n for the two end-point passes, then n per chunk on the
/// prefix path, against steps x n on the expanded one.
/// </summary>
public sealed class LayerIntegratedGradientsPrefixTests
{
    [Theory]
    [InlineData("layer3", 1)]
    [InlineData("layer3", 2)]
    [InlineData("layer4", 1)]
    [InlineData("layer4", 3)]
    public void Attribute_ResNetStageOutput_PrefixOncePerChunkAndEqualsExpandedPath(string layer, int n)
    {
        using var scope = torch.NewDisposeScope();
        var model = new TinyResNet(seed: 11);
        var x = TestModels.Normal(n, n, 3, 16, 16);
        var options = new LayerIntegratedGradientsOptions { Target = 2, Steps = 7, InternalBatchSize = 3 * n, ReturnConvergenceDelta = true };

        var (reused, reusedRows) = Run(model, model.Conv1, layer, x, options);
        var (expanded, expandedRows) = Run(model, model.Conv1, layer, x, options with { ReuseLayerPrefix = false });

        // Chunks of 3, 3 and 1 steps.
        Assert.Equal((2 * n) + (3 * n), reusedRows);
        Assert.Equal((2 * n) + (7 * n), expandedRows);
        TensorAssert.AllClose(reused.Attribution, expanded.Attribution, 1e-6, 1e-5);
        TensorAssert.AllClose(reused.Delta!, expanded.Delta!, 1e-6, 1e-5);
    }

    [Theory]
    [InlineData("fc", 1)]
    [InlineData("fc", 2)]
    [InlineData("layer4", 2)]
    public void Attribute_ResNetLayerInput_PrefixOncePerChunkAndEqualsExpandedPath(string layer, int n)
    {
        using var scope = torch.NewDisposeScope();
        var model = new TinyResNet(seed: 14);
        var x = TestModels.Normal(20 + n, n, 3, 16, 16);
        var options = new LayerIntegratedGradientsOptions
        {
            Target = 3,
            Steps = 7,
            InternalBatchSize = 3 * n,
            AttributeToLayerInput = true,
            ReturnConvergenceDelta = true,
        };

        var (reused, reusedRows) = Run(model, model.Conv1, layer, x, options);
        var (expanded, expandedRows) = Run(model, model.Conv1, layer, x, options with { ReuseLayerPrefix = false });

        Assert.Equal((2 * n) + (3 * n), reusedRows);
        Assert.Equal((2 * n) + (7 * n), expandedRows);
        TensorAssert.AllClose(reused.Attribution, expanded.Attribution, 1e-6, 1e-5);
        TensorAssert.AllClose(reused.Delta!, expanded.Delta!, 1e-6, 1e-5);
    }

    [Fact]
    public void Attribute_TwoResNetStages_PrefixOncePerChunkAndEqualsExpandedPath()
    {
        using var scope = torch.NewDisposeScope();
        var model = new TinyResNet(seed: 15);
        var x = TestModels.Normal(30, 2, 3, 16, 16);
        var options = new LayerIntegratedGradientsOptions { Target = 0, Steps = 6, InternalBatchSize = 6, ReturnConvergenceDelta = true };
        var layers = new LayerReference[] { "layer2", "layer4" };

        long rows = 0;
        var counter = model.Conv1.register_forward_hook((_, input, output) =>
        {
            rows += input.shape[0];
            return output;
        });
        using var reused = new LayerIntegratedGradients(model, layers).Attribute(x, options);
        var reusedRows = rows;
        using var expanded = new LayerIntegratedGradients(model, layers).Attribute(x, options with { ReuseLayerPrefix = false });
        counter.remove();

        // Chunks of 3 steps of 2 examples; layer4 reads layer2's replaced rows through layer3.
        Assert.Equal(4 + 4, reusedRows);
        Assert.Equal(4 + 12, rows - reusedRows);
        TensorAssert.AllClose(reused[0], expanded[0], 1e-6, 1e-5);
        TensorAssert.AllClose(reused[1], expanded[1], 1e-6, 1e-5);
        TensorAssert.AllClose(reused.Delta!, expanded.Delta!, 1e-6, 1e-5);
    }

    [Fact]
    public void Attribute_LayerInsideResidualBlockBatchOfTwo_FallsBackAndEqualsExpandedPath()
    {
        using var scope = torch.NewDisposeScope();
        var model = new TinyResNet(seed: 12);
        var x = TestModels.Normal(3, 2, 3, 16, 16);
        var options = new LayerIntegratedGradientsOptions { Target = 1, Steps = 6, InternalBatchSize = 6 };

        // The block adds its input (batch 2, from before the layer) to the layer's rows (3 steps x 2): the shapes do
        // not fit, the first chunk's attempt stops there (2 rows) and every chunk runs expanded.
        var live = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        var (reused, reusedRows) = Run(model, model.Conv1, "layer3.0.conv2", x, options);
        var (expanded, expandedRows) = Run(model, model.Conv1, "layer3.0.conv2", x, options with { ReuseLayerPrefix = false });

        Assert.Equal(4 + 12, expandedRows);
        Assert.Equal(4 + 2 + 12, reusedRows);
        TensorAssert.AllClose(reused.Attribution, expanded.Attribution, 1e-6, 1e-5);
        Assert.True(torch.is_grad_enabled());

        // The failed attempt and the expanded inputs kept across chunks are all freed with the call.
        reused.Dispose();
        expanded.Dispose();
        Assert.Equal(live, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void Attribute_AdditionalArgumentUsedBeforeTheLayer_PassedUnexpandedAndEqualsExpandedPath(int n)
    {
        using var scope = torch.NewDisposeScope();
        var model = new LinearPairModel(foldToInputBatch: false);
        var x = TestModels.Normal(7, n, 4);
        var scale = TestModels.Normal(8, n, 4);
        var options = new LayerIntegratedGradientsOptions { Target = 1, Steps = 6, AdditionalForwardArgs = [scale], ReturnConvergenceDelta = true };

        // The scale meets the inputs before the layer: on the prefix path both keep their n rows (one pass of 6 steps).
        var (reused, reusedRows) = Run(model, model.Lin1, "lin1", x, options);
        var (expanded, expandedRows) = Run(model, model.Lin1, "lin1", x, options with { ReuseLayerPrefix = false });

        Assert.Equal((2 * n) + n, reusedRows);
        Assert.Equal((2 * n) + (6 * n), expandedRows);
        TensorAssert.AllClose(reused.Attribution, expanded.Attribution, 1e-6, 1e-5);
        TensorAssert.AllClose(reused.Delta!, expanded.Delta!, 1e-6, 1e-5);
    }

    [Fact]
    public void Attribute_LayerInsideResidualBlockOneExample_BroadcastsTheBlockInputAndEqualsExpandedPath()
    {
        using var scope = torch.NewDisposeScope();
        var model = new TinyResNet(seed: 13);
        var x = TestModels.Normal(4, 1, 3, 16, 16);
        var options = new LayerIntegratedGradientsOptions { Target = 4, Steps = 8, InternalBatchSize = 4, ReturnConvergenceDelta = true };

        // One example: the block input [1, ...] broadcasts over the steps' rows exactly as its copies would.
        var (reused, reusedRows) = Run(model, model.Conv1, "layer3.1.conv2", x, options);
        var (expanded, _) = Run(model, model.Conv1, "layer3.1.conv2", x, options with { ReuseLayerPrefix = false });

        Assert.Equal(2 + 2, reusedRows);
        TensorAssert.AllClose(reused.Attribution, expanded.Attribution, 1e-6, 1e-5);
        TensorAssert.AllClose(reused.Delta!, expanded.Delta!, 1e-6, 1e-5);
    }

    [Fact]
    public void Attribute_OutputReshapedByInputBatch_DetectsWrongRowCountAndFallsBack()
    {
        using var scope = torch.NewDisposeScope();
        var model = new LinearPairModel(foldToInputBatch: true);
        var x = TestModels.Normal(5, 2, 4);
        var options = new LayerIntegratedGradientsOptions { Steps = 5, InternalBatchSize = 10, AdditionalForwardArgs = [torch.ones(2, 4)] };

        // On the prefix path the reshape by the inputs' batch folds the steps into the features (the softmax would mix
        // them) and the output comes back with 2 rows instead of 10: detected, and the chunk runs expanded.
        var (reused, reusedRows) = Run(model, model.Lin1, "lin2", x, options);
        var (expanded, expandedRows) = Run(model, model.Lin1, "lin2", x, options with { ReuseLayerPrefix = false });

        Assert.Equal(4 + 10, expandedRows);
        Assert.Equal(4 + 2 + 10, reusedRows);
        TensorAssert.AllClose(reused.Attribution, expanded.Attribution, 1e-6, 1e-5);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void Attribute_VqaQuestionEmbedding_FallsBackAndEqualsExpandedPath(int n)
    {
        using var scope = torch.NewDisposeScope();
        torch.manual_seed(21);
        var net = new VqaNet(new VqaConfig(Tokens: 20, EmbeddingFeatures: 6, LstmFeatures: 8, VFeatures: 5, MidFeatures: 4, Glimpses: 2, Answers: 7));
        net.eval();
        var v = TestModels.Normal(n, n, 5, 3, 3);
        var q = torch.tensor(new long[] { 3, 7, 2, 0, 5, 1, 9, 4 }).narrow(0, 0, 4 * n).reshape(n, 4);
        var qLen = torch.tensor(new long[] { 3, 4 }).narrow(0, 0, n);
        var options = new LayerIntegratedGradientsOptions
        {
            Baselines = new BaselineValue[] { 0.0, torch.zeros(1, 4, ScalarType.Int64) },
            Target = 6,
            AdditionalForwardArgs = [qLen],
            Steps = 6,
            InternalBatchSize = 3 * n,
        };
        var lig = new LayerIntegratedGradients(net, "text.embedding");
        var wrapped = new ModelInputWrapper(net);
        var tutorial = new LayerIntegratedGradients(wrapped, new LayerReference[] { "input_maps.v", "module.text.embedding" });

        // The questions' lengths (batch n, from before the layer) do not fit the steps' rows of embeddings.
        using var reused = lig.Attribute(Inputs.Of(v, q), options);
        using var expanded = lig.Attribute(Inputs.Of(v, q), options with { ReuseLayerPrefix = false });
        using var tutorialReused = tutorial.Attribute(Inputs.Of(v, q), options);
        using var tutorialExpanded = tutorial.Attribute(Inputs.Of(v, q), options with { ReuseLayerPrefix = false });

        TensorAssert.AllClose(reused.Attribution, expanded.Attribution, 1e-6, 1e-5);
        TensorAssert.AllClose(tutorialReused[0], tutorialExpanded[0], 1e-6, 1e-5);
        TensorAssert.AllClose(tutorialReused[1], tutorialExpanded[1], 1e-6, 1e-5);
    }

    [Fact]
    public void Attribute_CalledUnderNoGrad_UsesThePrefixPathAndLeavesGradModeOff()
    {
        using var scope = torch.NewDisposeScope();
        var model = new ReluCnn(seed: 5);
        var x = TestModels.Normal(6, 2, 2, 6, 6);
        var options = new LayerIntegratedGradientsOptions { Target = 0, Steps = 4 };
        var (expanded, _) = Run(model, model.Conv1, "relu1", x, options with { ReuseLayerPrefix = false });

        LayerAttributionResult reused;
        long rows;
        using (torch.no_grad())
        {
            (reused, rows) = Run(model, model.Conv1, "relu1", x, options);
            Assert.False(torch.is_grad_enabled());
        }

        Assert.Equal(4 + 2, rows);
        TensorAssert.AllClose(reused.Attribution, expanded.Attribution, 1e-6, 1e-5);
    }

    [Fact]
    public void Attribute_ForwardRunsTheModelOnAnotherThread_EqualsExpandedPath()
    {
        using var scope = torch.NewDisposeScope();
        var model = new ReluCnn(seed: 9);
        var x = TestModels.Normal(10, 2, 2, 6, 6);
        ForwardFunction elsewhere = (Func<Tensor, Tensor>)(batch => Task.Run(() => model.call(batch)).GetAwaiter().GetResult());
        var options = new LayerIntegratedGradientsOptions { Target = 2, Steps = 5, InternalBatchSize = 6 };

        // Grad mode is per thread: the layer's hook fires on the worker, which keeps its own mode throughout.
        using var reused = new LayerIntegratedGradients(elsewhere, model.Conv2).Attribute(x, options);
        using var expanded = new LayerIntegratedGradients(model, model.Conv2).Attribute(x, options with { ReuseLayerPrefix = false });

        TensorAssert.AllClose(reused.Attribution, expanded.Attribution, 1e-6, 1e-5);
        Assert.True(torch.is_grad_enabled());
    }

    [Fact]
    public void Attribute_ForwardCancelsDuringThePrefixAttempt_PropagatesTheCancellation()
    {
        using var scope = torch.NewDisposeScope();
        var model = new ReluCnn(seed: 10);
        var calls = 0;

        // Calls 1 and 2 read the layer on the inputs and baselines; call 3 is the first chunk's prefix attempt.
        ForwardFunction forward = (Func<Tensor, Tensor>)(batch => ++calls == 3 ? throw new OperationCanceledException() : model.call(batch));
        var lig = new LayerIntegratedGradients(forward, model.Conv2);

        Assert.Throws<OperationCanceledException>(() => lig.Attribute(TestModels.Normal(11, 2, 2, 6, 6), new LayerIntegratedGradientsOptions { Target = 0, Steps = 4 }));
        Assert.Equal(3, calls);
    }

    [Property(MaxTest = 30)]
    public void Attribute_SmallConvNet_PrefixPathEqualsExpandedPathForAnyBatchStepsAndInternalBatch(
        int seed, byte batchChoice, byte stepChoice, byte internalBatchChoice, bool onConv2)
    {
        using var scope = torch.NewDisposeScope();
        var n = 1 + (batchChoice % 3);
        var steps = 1 + (stepChoice % 9);
        int? internalBatchSize = internalBatchChoice % 13 == 0 ? null : internalBatchChoice % 13;
        var model = new ReluCnn(seed);
        var x = TestModels.Normal(seed, n, 2, 6, 6);
        var layer = onConv2 ? "conv2" : "relu1";
        var options = new LayerIntegratedGradientsOptions
        {
            Baselines = TestModels.Normal(seed + 1, 1, 2, 6, 6),
            Target = Math.Abs(seed % 3),
            Steps = steps,
            InternalBatchSize = internalBatchSize,
        };

        var (reused, reusedRows) = Run(model, model.Conv1, layer, x, options);
        var (expanded, expandedRows) = Run(model, model.Conv1, layer, x, options with { ReuseLayerPrefix = false });

        var chunks = (steps + PathIntegral.StepsPerChunk(steps, internalBatchSize, n) - 1) / PathIntegral.StepsPerChunk(steps, internalBatchSize, n);
        Assert.Equal((2 * n) + (chunks * n), reusedRows);
        Assert.Equal((2 * n) + (steps * n), expandedRows);
        TensorAssert.AllClose(reused.Attribution, expanded.Attribution, 1e-6, 1e-5);
    }

    /// <summary>Attributes with a forward hook on <paramref name="early"/> counting the rows it sees; the hook is removed.</summary>
    private static (LayerAttributionResult Result, long Rows) Run(
        ForwardFunction model, nn.Module<Tensor, Tensor> early, string layer, Tensor x, LayerIntegratedGradientsOptions options)
    {
        long rows = 0;
        var counter = early.register_forward_hook((_, input, output) =>
        {
            rows += input.shape[0];
            return output;
        });
        try
        {
            var result = new LayerIntegratedGradients(model, layer).Attribute(x, options);
            return (result, rows);
        }
        finally
        {
            counter.remove();
        }
    }

    /// <summary>
    /// forward(x, scale) = lin2(tanh(lin1(x * scale))), [n, 3] (the additional argument is read before lin1); with
    /// <paramref name="foldToInputBatch"/>, that output folded to the inputs' batch size and the softmax's first
    /// column, [n].
    /// </summary>
    private sealed class LinearPairModel : nn.Module<Tensor, Tensor, Tensor>
    {
        private readonly Linear lin1;
        private readonly Linear lin2;
        private readonly bool foldToInputBatch;

        public LinearPairModel(bool foldToInputBatch)
            : base(nameof(LinearPairModel))
        {
            torch.manual_seed(32);
            lin1 = nn.Linear(4, 5);
            lin2 = nn.Linear(5, 3);
            this.foldToInputBatch = foldToInputBatch;
            RegisterComponents();
            eval();
        }

        public Linear Lin1 => lin1;

        public override Tensor forward(Tensor x, Tensor scale)
        {
            var y = lin2.call(torch.tanh(lin1.call(x * scale)));
            return foldToInputBatch ? torch.softmax(y.reshape(x.shape[0], -1), 1)[TensorIndex.Colon, 0] : y;
        }
    }
}
