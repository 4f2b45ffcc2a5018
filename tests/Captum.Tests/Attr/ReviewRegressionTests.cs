using Captum.Attr;
using Captum.Forward;
using TorchSharp;
using TorchSharp.Modules;
using Xunit;
using static TorchSharp.torch;

namespace Captum.Tests.Attr;

/// <summary>Inputs and models that once crashed or misbehaved.</summary>
public sealed class ReviewRegressionTests
{
    [Fact]
    public void Attribute_OutputIndependentOfInputs_ThrowsInsteadOfAbortingTheProcess()
    {
        using var scope = torch.NewDisposeScope();
        var forward = (ForwardFunction)(Func<Tensor, Tensor>)(t => t.detach().sum(dim: 1));

        var ex = Assert.Throws<ArgumentException>(() => new IntegratedGradients(forward).Attribute(torch.randn(2, 3)));
        Assert.Contains("does not depend on the attributed inputs", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Attribute_NonContiguousInput_EqualsContiguous()
    {
        using var scope = torch.NewDisposeScope();
        var model = TestModels.SmoothMlp(4);
        var transposed = torch.randn(4, 3).t();
        var ig = new IntegratedGradients(model);

        using var a = ig.Attribute(transposed, new IntegratedGradientsOptions { Target = 1, Steps = 8 });
        using var b = ig.Attribute(transposed.contiguous(), new IntegratedGradientsOptions { Target = 1, Steps = 8 });

        TensorAssert.AllClose(a.Attribution, b.Attribution, 0, 0);
    }

    [Fact]
    public void Attribute_LayerWithTupleOutput_AttributesToEachTensor()
    {
        using var scope = torch.NewDisposeScope();
        var model = new TwoHeadModel();
        var x = torch.randn(2, 3);

        using var result = new LayerIntegratedGradients(model, "heads").Attribute(x, new LayerIntegratedGradientsOptions { Target = 1, Steps = 32, ReturnConvergenceDelta = true });

        Assert.Equal(2, result.Layers[0].Count);
        Assert.Equal(new long[] { 2, 4 }, result.Layers[0][0].shape);
        Assert.Equal(new long[] { 2, 5 }, result.Layers[0][1].shape);
        Assert.True(result.Delta!.abs().max().item<float>() < 1e-4);
    }

    [Fact]
    public void Attribute_LayerWhoseOutputIsNotBatchFirst_ThrowsNamingTheShape()
    {
        using var scope = torch.NewDisposeScope();
        var lig = new LayerIntegratedGradients(new LstmClassifier(), "lstm");

        var ex = Assert.Throws<ArgumentException>(() => lig.Attribute(torch.randn(2, 5, 3), new LayerIntegratedGradientsOptions { Target = 1 }));
        Assert.Contains("not the batch", ex.Message, StringComparison.Ordinal);
        Assert.Equal("layer", ex.ParamName);
    }

    [Theory]
    [InlineData(ScalarType.Int32)]
    [InlineData(ScalarType.Int64)]
    public void Target_ScalarIntegerTensor_SelectsThatOutput(ScalarType dtype)
    {
        using var scope = torch.NewDisposeScope();
        var model = TestModels.SmoothMlp(5);
        var x = torch.randn(2, 4);
        var ig = new IntegratedGradients(model);

        using var fromTensor = ig.Attribute(x, new IntegratedGradientsOptions { Target = torch.tensor(2L).to_type(dtype) });
        using var fromInt = ig.Attribute(x, new IntegratedGradientsOptions { Target = 2 });

        TensorAssert.AllClose(fromTensor.Attribution, fromInt.Attribution, 0, 0);
    }

    [Fact]
    public void Target_ListsAndLongTuples_SelectWhatTheirArrayAndIntFormsSelect()
    {
        using var scope = torch.NewDisposeScope();
        var w = torch.randn(4, 12, generator: new torch.Generator(7));
        var x = torch.randn(2, 4, generator: new torch.Generator(8));
        IntegratedGradients Ig(params long[] shape) => new((ForwardFunction)(Func<Tensor, Tensor>)(t => torch.tanh(t.matmul(w)).reshape(shape)));
        AttributionResult Run(IntegratedGradients ig, Target target) => ig.Attribute(x, new IntegratedGradientsOptions { Target = target, Steps = 8 });
        var (flat, three, four) = (Ig(-1, 12), Ig(-1, 3, 4), Ig(-1, 2, 3, 2));

        (AttributionResult Given, AttributionResult Expected)[] pairs =
        [
            (Run(flat, new List<int> { 3, 11 }), Run(flat, new[] { 3, 11 })),
            (Run(flat, new List<long> { 5, 0 }), Run(flat, new[] { 5, 0 })),
            (Run(three, (2L, 1L)), Run(three, (2, 1))),
            (Run(four, (1L, 2L, 0L)), Run(four, (1, 2, 0))),
            (Run(three, new List<(int, int)> { (0, 3), (2, 1) }), Run(three, new[] { (0, 3), (2, 1) })),
            (Run(four, new[] { (0, 1, 1), (1, 2, 0) }), Run(four, Target.PerExample([[0, 1, 1], [1, 2, 0]]))),
        ];

        foreach (var (given, expected) in pairs)
        {
            TensorAssert.AllClose(expected.Attribution, given.Attribution, 0, 0);
        }

        // The targets select different outputs, so equal pairs are not every target giving the same attribution.
        Assert.False(pairs[0].Given.Attribution.allclose(pairs[1].Given.Attribution));
    }

    [Fact]
    public void Target_NegativePerExampleIndices_CountFromTheEnd()
    {
        using var scope = torch.NewDisposeScope();
        var model = TestModels.SmoothMlp(6);
        var x = torch.randn(2, 4);
        var ig = new IntegratedGradients(model);

        using var negative = ig.Attribute(x, new IntegratedGradientsOptions { Target = new[] { 0, -1 } });
        using var positive = ig.Attribute(x, new IntegratedGradientsOptions { Target = new[] { 0, 2 } });

        TensorAssert.AllClose(negative.Attribution, positive.Attribution, 0, 0);
    }

    [Fact]
    public void Attribute_ForwardReturningOneScalarForTheBatch_ThrowsNamingInputs()
    {
        using var scope = torch.NewDisposeScope();
        var forward = (ForwardFunction)(Func<Tensor, Tensor>)(t => t.sum());

        var ex = Assert.Throws<ArgumentException>(() => new IntegratedGradients(forward).Attribute(torch.randn(2, 3)));
        Assert.Equal("inputs", ex.ParamName);
    }

    [Fact]
    public void Attribute_ToIntegerLayerInput_ThrowsPointingToTheLayerOutput()
    {
        using var scope = torch.NewDisposeScope();
        var lig = new LayerIntegratedGradients(new BagOfWords(seed: 1), "embedding");

        var ex = Assert.Throws<ArgumentException>(() => lig.Attribute(torch.tensor(new long[,] { { 1, 2 } }), new LayerIntegratedGradientsOptions { Target = 0, AttributeToLayerInput = true }));
        Assert.Equal("layer", ex.ParamName);
        Assert.Contains("its input has dtype Int64, which cannot be interpolated", ex.Message, StringComparison.Ordinal);
        Assert.Contains("the embedding's output", ex.Message, StringComparison.Ordinal);
    }

    private sealed class TwoHeadModel : nn.Module<Tensor, Tensor>
    {
        private readonly Heads heads = new();
        private readonly Linear fc;

        public TwoHeadModel()
            : base(nameof(TwoHeadModel))
        {
            torch.manual_seed(8);
            fc = nn.Linear(9, 2);
            RegisterComponents();
            eval();
        }

        public override Tensor forward(Tensor x)
        {
            var (a, b) = heads.call(x);
            return fc.call(torch.cat([torch.tanh(a), torch.sigmoid(b)], 1));
        }
    }

    /// <summary>A layer whose output is a tuple of two batch-first tensors.</summary>
    private sealed class Heads : nn.Module<Tensor, (Tensor, Tensor)>
    {
        private readonly Linear first;
        private readonly Linear second;

        public Heads()
            : base(nameof(Heads))
        {
            first = nn.Linear(3, 4);
            second = nn.Linear(3, 5);
            RegisterComponents();
        }

        public override (Tensor, Tensor) forward(Tensor x) => (first.call(x), second.call(x));
    }

    private sealed class LstmClassifier : nn.Module<Tensor, Tensor>
    {
        private readonly LSTM lstm;
        private readonly Linear fc;

        public LstmClassifier()
            : base(nameof(LstmClassifier))
        {
            torch.manual_seed(7);
            lstm = nn.LSTM(3, 4, batchFirst: true);
            fc = nn.Linear(4, 2);
            RegisterComponents();
            eval();
        }

        public override Tensor forward(Tensor x)
        {
            var (output, h, c) = lstm.call(x);
            return fc.call(output[TensorIndex.Colon, -1] + h[0] + c[0]);
        }
    }
}
