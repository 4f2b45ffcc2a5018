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
/// LayerIntegratedGradients runs the part of the model before the layers once per chunk of steps on the n inputs
/// (not on steps x n copies of them) when the model allows it, and falls back to the expanded pass otherwise; either
/// way the attributions are those of the expanded pass (forced here through the internal ReuseLayerPrefix switch).
/// The path taken is read from the rows an early module sees: 2n for the two end-point passes, 3n for the check on two
/// points of the path (n on the prefix path, 2n on the expanded one; n when the prefix attempt fails), then n per chunk on the prefix
/// path, against steps x n on the expanded one.
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
        var options = new LayerIntegratedGradientsOptions { Target = 2, Steps = 7, InternalBatchSize = 3 * n, ReturnConvergenceDelta = true };

        var rows = CompareWithExpanded(new LayerIntegratedGradients(model, layer), model.Conv1, TestModels.Normal(n, n, 3, 16, 16), options);

        // Chunks of 3, 3 and 1 steps.
        Assert.Equal(((2 * n) + (3 * n) + (3 * n), (2 * n) + (7 * n)), rows);
    }

    [Theory]
    [InlineData("fc", 1)]
    [InlineData("fc", 2)]
    [InlineData("layer4", 2)]
    public void Attribute_ResNetLayerInput_PrefixOncePerChunkAndEqualsExpandedPath(string layer, int n)
    {
        using var scope = torch.NewDisposeScope();
        var model = new TinyResNet(seed: 14);
        var options = new LayerIntegratedGradientsOptions { Target = 3, Steps = 7, InternalBatchSize = 3 * n, AttributeToLayerInput = true };

        var rows = CompareWithExpanded(new LayerIntegratedGradients(model, layer), model.Conv1, TestModels.Normal(20 + n, n, 3, 16, 16), options);

        Assert.Equal(((2 * n) + (3 * n) + (3 * n), (2 * n) + (7 * n)), rows);
    }

    [Fact]
    public void Attribute_TwoResNetStages_PrefixOncePerChunkAndEqualsExpandedPath()
    {
        using var scope = torch.NewDisposeScope();
        var model = new TinyResNet(seed: 15);
        var lig = new LayerIntegratedGradients(model, new LayerReference[] { "layer2", "layer4" });
        var options = new LayerIntegratedGradientsOptions { Target = 0, Steps = 6, InternalBatchSize = 6, ReturnConvergenceDelta = true };

        // Chunks of 3 steps of 2 examples; layer4 reads layer2's replaced rows through layer3.
        var rows = CompareWithExpanded(lig, model.Conv1, TestModels.Normal(30, 2, 3, 16, 16), options);

        Assert.Equal((4 + 6 + 4, 4 + 12), rows);
    }

    [Fact]
    public void Attribute_LayerInsideResidualBlockBatchOfTwo_FallsBackAndEqualsExpandedPath()
    {
        using var scope = torch.NewDisposeScope();
        var model = new TinyResNet(seed: 12);
        var x = TestModels.Normal(3, 2, 3, 16, 16);
        var options = new LayerIntegratedGradientsOptions { Target = 1, Steps = 6, InternalBatchSize = 6 };
        var live = DisposeScopeManager.Statistics.ThreadTotalLiveCount;

        // The block adds its input (batch 2, from before the layer) to the layer's rows (3 steps x 2): the shapes do
        // not fit, the first chunk's attempt stops there (2 rows) and every chunk runs expanded.
        var rows = CompareWithExpanded(new LayerIntegratedGradients(model, "layer3.0.conv2"), model.Conv1, x, options);

        Assert.Equal((4 + 2 + 12, 4 + 12), rows);
        Assert.True(torch.is_grad_enabled());

        // The failed attempt and the expanded inputs kept across chunks are all freed with the call.
        Assert.Equal(live, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
    }

    [Fact]
    public void Attribute_LayerInsideResidualBlockOneExample_BroadcastsTheBlockInputAndEqualsExpandedPath()
    {
        using var scope = torch.NewDisposeScope();
        var model = new TinyResNet(seed: 13);
        var options = new LayerIntegratedGradientsOptions { Target = 4, Steps = 8, InternalBatchSize = 4, ReturnConvergenceDelta = true };

        // One example: the block input [1, ...] broadcasts over the steps' rows exactly as its copies would.
        var rows = CompareWithExpanded(new LayerIntegratedGradients(model, "layer3.1.conv2"), model.Conv1, TestModels.Normal(4, 1, 3, 16, 16), options);

        Assert.Equal((2 + 3 + 2, 2 + 8), rows);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void Attribute_AdditionalArgumentUsedBeforeTheLayer_PassedUnexpandedAndEqualsExpandedPath(int n)
    {
        using var scope = torch.NewDisposeScope();
        var model = new LinearPairModel(foldToInputBatch: false);
        var scale = TestModels.Normal(8, n, 4);
        var options = new LayerIntegratedGradientsOptions { Target = 1, Steps = 6, AdditionalForwardArgs = [scale], ReturnConvergenceDelta = true };

        // The scale meets the inputs before the layer: on the prefix path both keep their n rows (one pass of 6 steps).
        var rows = CompareWithExpanded(new LayerIntegratedGradients(model, "lin1"), model.Lin1, TestModels.Normal(7, n, 4), options);

        Assert.Equal(((2 * n) + (3 * n) + n, (2 * n) + (6 * n)), rows);
    }

    [Fact]
    public void Attribute_OutputReshapedByInputBatch_DetectsWrongRowCountAndFallsBack()
    {
        using var scope = torch.NewDisposeScope();
        var model = new LinearPairModel(foldToInputBatch: true);
        var options = new LayerIntegratedGradientsOptions { Steps = 5, InternalBatchSize = 10, AdditionalForwardArgs = [torch.ones(2, 4)] };

        // On the prefix path the reshape by the inputs' batch folds the steps into the features (the softmax would mix
        // them) and the output comes back with 2 rows instead of 10: detected, and the chunk runs expanded.
        var rows = CompareWithExpanded(new LayerIntegratedGradients(model, "lin2"), model.Lin1, TestModels.Normal(5, 2, 4), options);

        Assert.Equal((4 + 2 + 10, 4 + 10), rows);
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
        var tutorial = new LayerIntegratedGradients(new ModelInputWrapper(net), new LayerReference[] { "input_maps.v", "module.text.embedding" });

        // The questions' lengths (batch n, from before the layer) do not fit the steps' rows of embeddings.
        CompareWithExpanded(new LayerIntegratedGradients(net, "text.embedding"), null, Inputs.Of(v, q), options);
        CompareWithExpanded(tutorial, null, Inputs.Of(v, q), options);
    }

    [Theory]
    [InlineData(BatchContext.SoftmaxOverBatchKeys, 2)]
    [InlineData(BatchContext.SoftmaxOverBatchKeys, 3)]
    [InlineData(BatchContext.ScaledByBatchSum, 1)]
    [InlineData(BatchContext.ScaledByBatchSum, 2)]
    public void Attribute_SuffixReadsOtherRowsOfATensorFromBeforeTheLayer_DetectsTheBatchDependenceAndEqualsExpandedPath(BatchContext context, int n)
    {
        using var scope = torch.NewDisposeScope();
        var model = new BatchContextModel(context);
        var options = new LayerIntegratedGradientsOptions { Target = n - 1, Steps = 6, InternalBatchSize = 3 * n };
        var x = TestModels.Normal(40 + n, n, 4);
        var live = DisposeScopeManager.Statistics.ThreadTotalLiveCount;

        // The keys (from before the layer) have n rows on the prefix path and k x n on the expanded one: the softmax
        // over them has n columns instead of k x n, and their sum over the batch is k times smaller, also for one
        // example (a broadcast batch-1 tensor is its copies only for operations that treat rows separately). The
        // output keeps its k x n rows; no shape error shows it. Two steps of the path are compared, then all run expanded.
        var rows = CompareWithExpanded(new LayerIntegratedGradients(model, "lin1"), model.Lin1, x, options);

        Assert.Equal(((2 * n) + (3 * n) + (6 * n), (2 * n) + (6 * n)), rows);
        Assert.True(torch.is_grad_enabled());

        // The check's passes and the expanded inputs built for it are freed with the call.
        Assert.Equal(live, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
    }

    [Fact]
    public void Attribute_BatchDependenceGatedOffNearTheBaseline_DetectedAndEqualsExpandedPath()
    {
        using var scope = torch.NewDisposeScope();
        var model = new BatchContextModel(BatchContext.GatedBatchSum);
        var x = TestModels.Normal(60, 2, 4) * 3;
        var options = new LayerIntegratedGradientsOptions { Target = 2, Steps = 6, InternalBatchSize = 6 };

        // The sum over the batch counts only once a row's layer value is far enough from the baseline's: the gate is
        // shut for the first two steps (alpha 0.03 and 0.17, squared 0.001 and 0.03) and open from the third (0.38);
        // a check on the steps next to the baseline would not see the dependence.
        using (torch.no_grad())
        {
            var offsets = model.Lin1.call(x) - model.Lin1.bias!;
            model.Threshold = 0.05 * offsets.square().sum(dim: 1).min().ToDouble();
        }

        var rows = CompareWithExpanded(new LayerIntegratedGradients(model, "lin1"), model.Lin1, x, options);

        Assert.Equal((4 + 6 + 12, 4 + 12), rows);
    }

    [Fact]
    public void Attribute_CalledUnderNoGrad_UsesThePrefixPathAndLeavesGradModeOff()
    {
        using var scope = torch.NewDisposeScope();
        var model = new ReluCnn(seed: 5);
        var options = new LayerIntegratedGradientsOptions { Target = 0, Steps = 4 };

        using (torch.no_grad())
        {
            var rows = CompareWithExpanded(new LayerIntegratedGradients(model, "relu1"), model.Conv1, TestModels.Normal(6, 2, 2, 6, 6), options);

            Assert.Equal((4 + 6 + 2, 4 + 8), rows);
            Assert.False(torch.is_grad_enabled());
        }
    }

    [Fact]
    public void Attribute_ForwardRunsTheModelOnAnotherThread_PrefixOncePerChunkAndEqualsExpandedPath()
    {
        using var scope = torch.NewDisposeScope();
        var model = new ReluCnn(seed: 9);
        ForwardFunction elsewhere = (Func<Tensor, Tensor>)(batch => Task.Run(() => model.call(batch)).GetAwaiter().GetResult());
        var options = new LayerIntegratedGradientsOptions { Target = 2, Steps = 5, InternalBatchSize = 6 };

        // Grad mode is per thread: the layer's hook fires on the worker, which keeps its own mode throughout.
        var rows = CompareWithExpanded(new LayerIntegratedGradients(elsewhere, model.Conv2), model.Conv1, TestModels.Normal(10, 2, 2, 6, 6), options);

        Assert.Equal((4 + 6 + 4, 4 + 10), rows);
        Assert.True(torch.is_grad_enabled());
    }

    [Theory]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    public void Attribute_ForwardCancelsDuringThePrefixAttempt_PropagatesTheCancellation(int cancelledCall)
    {
        using var scope = torch.NewDisposeScope();
        var model = new ReluCnn(seed: 10);
        var calls = 0;

        // Calls 1 and 2 read the layer on the inputs and baselines; calls 3 and 4 check the prefix path on two steps
        // (prefix attempt, expanded pass); call 5 is the first chunk's prefix attempt.
        ForwardFunction forward = (Func<Tensor, Tensor>)(batch => ++calls == cancelledCall ? throw new OperationCanceledException() : model.call(batch));
        var lig = new LayerIntegratedGradients(forward, model.Conv2);

        Assert.Throws<OperationCanceledException>(() => lig.Attribute(TestModels.Normal(11, 2, 2, 6, 6), new LayerIntegratedGradientsOptions { Target = 0, Steps = 4 }));
        Assert.Equal(cancelledCall, calls);
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
        var options = new LayerIntegratedGradientsOptions
        {
            Baselines = TestModels.Normal(seed + 1, 1, 2, 6, 6),
            Target = Math.Abs(seed % 3),
            Steps = steps,
            InternalBatchSize = internalBatchSize,
        };

        var lig = new LayerIntegratedGradients(model, onConv2 ? "conv2" : "relu1");
        var rows = CompareWithExpanded(lig, model.Conv1, TestModels.Normal(seed, n, 2, 6, 6), options);

        var perChunk = PathIntegral.StepsPerChunk(steps, internalBatchSize, n);
        var chunks = (steps + perChunk - 1) / perChunk;
        var check = Math.Min(perChunk, steps) > 1 ? 3 * n : 0;
        Assert.Equal(((2 * n) + check + (chunks * n), (2 * n) + (steps * n)), rows);
    }

    /// <summary>
    /// Attributes twice, on the prefix path where the model allows it and forced onto the expanded pass, asserts that
    /// both give the same attributions (every layer) and deltas, and returns the rows <paramref name="early"/> saw in
    /// each call (0 without it; its counting hook is removed).
    /// </summary>
    private static (long Reused, long Expanded) CompareWithExpanded(
        LayerIntegratedGradients lig, nn.Module<Tensor, Tensor>? early, Inputs inputs, LayerIntegratedGradientsOptions options)
    {
        long rows = 0;
        var counter = early?.register_forward_hook((_, input, output) =>
        {
            rows += input.shape[0];
            return output;
        });
        try
        {
            using var reused = lig.Attribute(inputs, options);
            var reusedRows = rows;
            using var expanded = lig.Attribute(inputs, options with { ReuseLayerPrefix = false });
            for (var l = 0; l < reused.Layers.Count; l++)
            {
                for (var j = 0; j < reused.Layers[l].Count; j++)
                {
                    TensorAssert.AllClose(reused.Layers[l][j], expanded.Layers[l][j], 1e-6, 1e-5, $"layer {l}, tensor {j}");
                }
            }

            if (options.ReturnConvergenceDelta)
            {
                TensorAssert.AllClose(reused.Delta!, expanded.Delta!, 1e-6, 1e-5, "delta");
            }

            return (reusedRows, rows - reusedRows);
        }
        finally
        {
            counter?.remove();
        }
    }

    public enum BatchContext
    {
        SoftmaxOverBatchKeys,
        ScaledByBatchSum,
        GatedBatchSum,
    }

    /// <summary>
    /// A model whose rows depend on the other rows of its batch through a tensor computed from the inputs before the
    /// layers (lin3(x), [batch, 5]), with h = lin2(tanh(lin1(x))): softmax(h keys^T) over the batch's keys (an in-batch
    /// retrieval score, [batch, batch]), h scaled by the keys' sum over the batch ([batch, 5]), or h plus that sum
    /// gated by how far lin1's output is from its value on zeros (relu(|lin1(x) - bias|^2 - Threshold), [batch, 5]).
    /// </summary>
    private sealed class BatchContextModel : nn.Module<Tensor, Tensor>
    {
        private readonly Linear lin1;
        private readonly Linear lin2;
        private readonly Linear lin3;
        private readonly BatchContext context;

        public BatchContextModel(BatchContext context)
            : base(nameof(BatchContextModel))
        {
            torch.manual_seed(33);
            lin1 = nn.Linear(4, 6);
            lin2 = nn.Linear(6, 5);
            lin3 = nn.Linear(4, 5);
            this.context = context;
            RegisterComponents();
            eval();
        }

        public Linear Lin1 => lin1;

        public double Threshold { get; set; }

        public override Tensor forward(Tensor x)
        {
            var keys = torch.tanh(lin3.call(x));
            var first = lin1.call(x);
            var h = lin2.call(torch.tanh(first));
            return context switch
            {
                BatchContext.SoftmaxOverBatchKeys => torch.softmax(h.matmul(keys.t()), 1),
                BatchContext.ScaledByBatchSum => h * keys.sum(dim: 0),
                _ => h + (((first - lin1.bias!).square().sum(dim: 1, keepdim: true) - Threshold).relu() * keys.sum(dim: 0)),
            };
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
