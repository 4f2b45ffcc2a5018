using Captum.Attr;
using Captum.Forward;
using TorchSharp;
using TorchSharp.Modules;
using Xunit;
using static TorchSharp.torch;

namespace Captum.Tests.Attr.Layer;

public sealed class LayerFeatureAblationTests
{
    [Fact]
    public void Attribute_PerturbationsPerEvalGiven_ReportsIt()
    {
        using var scope = torch.NewDisposeScope();
        using var model = new RowCountingMlp(skipSumsTheBatch: false);
        var x = torch.randn(3, 4, generator: new Generator(7));

        using var result = new LayerFeatureAblation(model, "lin1").Attribute(x, new LayerFeatureAblationOptions { Target = 1, PerturbationsPerEval = 2 });

        Assert.Equal(2, result.PerturbationsPerEval);
    }

    [Fact]
    public void Attribute_SeveralPerturbationsPerPass_ModelBeforeTheLayerRunsOnTheUnperturbedRowsOnly()
    {
        using var scope = torch.NewDisposeScope();
        using var model = new RowCountingMlp(skipSumsTheBatch: false);
        var x = torch.randn(3, 4, generator: new Generator(7));
        var options = new LayerFeatureAblationOptions { Target = 1, PerturbationsPerEval = 3 };

        using var one = new LayerFeatureAblation(model, "lin1").Attribute(x, options with { PerturbationsPerEval = 1 });
        model.Rows.Clear();
        using var shared = new LayerFeatureAblation(model, "lin1").Attribute(x, options);

        TensorAssert.AllClose(shared.Attribution, one.Attribution, atol: 1e-6, rtol: 1e-5);
        // Capture and unperturbed pass (3 rows each), the check (once on 3 rows, the usual pass on 9, whose output
        // answers the first shared pass), then every later pass runs the model's start on the 3 unperturbed rows.
        Assert.Equal(new long[] { 3, 3, 3, 9, 3 }, model.Rows);
    }

    [Fact]
    public void Attribute_SeveralPerturbationsPerPassAndASkipSummingTheBatch_EveryPassRunsOnThePerturbedRows()
    {
        using var scope = torch.NewDisposeScope();
        using var model = new RowCountingMlp(skipSumsTheBatch: true);
        var x = torch.randn(3, 4, generator: new Generator(8));
        var options = new LayerFeatureAblationOptions { Target = 1, PerturbationsPerEval = 3 };

        using var shared = new LayerFeatureAblation(model, "lin1").Attribute(x, options);

        // The skip adds the sum of the batch's inputs, which the shortcut would take over 3 rows instead of 9: the
        // check finds the difference and every pass runs on the perturbed rows (3 perturbations, the check's usual
        // pass answering the first, then the last 2).
        Assert.Equal(new long[] { 3, 3, 3, 9, 6 }, model.Rows);
        Assert.Equal(new long[] { 3, 5 }, shared.Attribution.shape);
    }

    /// <summary>Two linear layers ("lin1", "lin2") that record the rows of every call; optionally a skip adding the batch's input sum.</summary>
    private sealed class RowCountingMlp : nn.Module<Tensor, Tensor>
    {
        private readonly Linear lin1;
        private readonly Linear lin2;
        private readonly bool skipSumsTheBatch;

        public RowCountingMlp(bool skipSumsTheBatch)
            : base(nameof(RowCountingMlp))
        {
            torch.manual_seed(5);
            lin1 = nn.Linear(4, 5);
            lin2 = nn.Linear(5, 2);
            this.skipSumsTheBatch = skipSumsTheBatch;
            RegisterComponents();
            eval();
        }

        public List<long> Rows { get; } = [];

        public override Tensor forward(Tensor x)
        {
            Rows.Add(x.shape[0]);
            var y = lin2.call(torch.tanh(lin1.call(x)));
            return skipSumsTheBatch ? y + x.sum() : y;
        }
    }

    [Fact]
    public void Attribute_InputIdentityLayerOfModelInputWrapper_EqualsFeatureAblationOfTheInputs()
    {
        using var scope = torch.NewDisposeScope();
        var model = new TwoInputModel(1);
        var wrapper = new ModelInputWrapper(model);
        var a = TestModels.Normal(2, 4, 2);
        var b = TestModels.Normal(3, 4, 3);
        var scale = torch.rand(4, 1) + 0.5;
        var baselineB = TestModels.Normal(4, 1, 3);
        var maskB = torch.tensor(new long[,] { { 0, 1, 0 } });
        int[] target = [2, 0, 1, 1];

        // The wrapper's identity layer for b outputs b itself: ablating it is ablating the input.
        using var layer = new LayerFeatureAblation(wrapper, "input_maps.b").Attribute(Inputs.Of(a, b), new LayerFeatureAblationOptions
        {
            LayerBaselines = baselineB,
            Target = target,
            AdditionalForwardArgs = [scale],
            LayerMask = maskB,
            PerturbationsPerEval = 2,
        });
        using var input = new FeatureAblation(model).Attribute(Inputs.Of(a, b), new FeatureAblationOptions
        {
            Baselines = new BaselineValue[] { 0.0, baselineB },
            Target = target,
            AdditionalForwardArgs = [scale],
            FeatureMask = FeatureMask.Of(torch.tensor(new long[,] { { 5, 6 } }), maskB),
        });

        Assert.Single(layer.Layers);
        TensorAssert.AllClose(layer.Attribution, input[1], 1e-6, 1e-5);
    }

    [Fact]
    public void Attribute_HiddenLayerOutput_EqualsFeatureAblationOfTheRestOfTheModel()
    {
        using var scope = torch.NewDisposeScope();
        var model = GradientTestModels.Mlp(5, "tanh", inputs: 4, hidden: 6);
        var x = TestModels.Normal(6, 3, 4);
        var layerBaseline = TestModels.Normal(7, 1, 6);

        using var result = new LayerFeatureAblation(model, "lin1").Attribute(x, new LayerFeatureAblationOptions
        {
            LayerBaselines = layerBaseline,
            Target = 1,
            PerturbationsPerEval = 4,
        });

        // By hand: the model after lin1 is lin3(tanh(lin2(tanh(h)))), explained on h = lin1(x).
        using var noGrad = torch.no_grad();
        var hidden = model.Lin1.call(x);
        ForwardFunction rest = (Func<Tensor, Tensor>)(h => model.Lin3.call(torch.tanh(model.Lin2.call(torch.tanh(h)))));
        using var expected = new FeatureAblation(rest).Attribute(hidden, new FeatureAblationOptions { Baselines = layerBaseline, Target = 1 });
        TensorAssert.AllClose(result.Attribution, expected.Attribution, 1e-6, 1e-5);
        Assert.Equal(new long[] { 3, 6 }, result.Attribution.shape);
    }

    [Fact]
    public void Attribute_LayerInputOfTwoTensorsWithMasks_EqualsFeatureAblationOfTheLayer()
    {
        using var scope = torch.NewDisposeScope();
        var model = new CombineModel(8);
        var x = TestModels.Normal(9, 3, 5);
        var maskP = torch.tensor(new long[,] { { 0, 0 } });
        var maskQ = torch.tensor(new long[,] { { 0, 1, 1 } });

        using var result = new LayerFeatureAblation(model, "combine").Attribute(x, new LayerFeatureAblationOptions
        {
            LayerBaselines = new BaselineValue[] { 0.25, 0.0 },
            Target = 2,
            LayerMask = FeatureMask.Of(maskP, maskQ),
            AttributeToLayerInput = true,
            PerturbationsPerEval = 3,
        });

        // The combine layer's inputs are p = tanh(x[:, :2]) and q = 2 x[:, 2:]; each tensor's ids are its own features.
        using var noGrad = torch.no_grad();
        var p = torch.tanh(x[.., ..2]);
        var q = x[.., 2..] * 2;
        using var expected = new FeatureAblation(model.Combine).Attribute(Inputs.Of(p, q), new FeatureAblationOptions
        {
            Baselines = new BaselineValue[] { 0.25, 0.0 },
            Target = 2,
            FeatureMask = FeatureMask.Of(maskP, maskQ),
        });
        Assert.Equal(2, result.Layers[0].Count);
        TensorAssert.AllClose(result.Layers[0][0], expected[0], 1e-6, 1e-5);
        TensorAssert.AllClose(result.Layers[0][1], expected[1], 1e-6, 1e-5);
    }

    [Fact]
    public void Attribute_OneValueForTheWholeBatch_GivesOneRowPerLayerFeature()
    {
        using var scope = torch.NewDisposeScope();
        var model = new LinearStack(10);
        var x = TestModels.Normal(11, 4, 4);
        ForwardFunction total = ForwardFunction.FromDelegate((Tensor[] args) => model.call(args[0]).sum(), model);

        using var result = new LayerFeatureAblation(total, "lin1").Attribute(x);

        // lin2 is linear: zeroing neuron k of every example lowers the total by W2[:, k] summed times the neuron's sum.
        using var noGrad = torch.no_grad();
        var expected = (model.Lin2.weight!.sum(dim: 0) * model.Lin1.call(x).sum(dim: 0)).unsqueeze(0);
        TensorAssert.AllClose(result.Attribution, expected, 1e-5, 1e-5);
    }

    [Fact]
    public void Attribute_BadLayerMaskOrBaselines_ThrowsNamingTheLayerArgument()
    {
        using var scope = torch.NewDisposeScope();
        var model = TestModels.SmoothMlp(12);
        var x = torch.randn(2, 4);
        var method = new LayerFeatureAblation(model, "lin1");

        var mask = Assert.Throws<ArgumentException>(() => method.Attribute(x, new LayerFeatureAblationOptions { Target = 0, LayerMask = torch.zeros(1, 5, dtype: ScalarType.Int64) }));
        var baselines = Assert.Throws<ArgumentException>(() => method.Attribute(x, new LayerFeatureAblationOptions { Target = 0, LayerBaselines = torch.zeros(1, 4) }));
        var never = Assert.Throws<ArgumentException>(() => new LayerFeatureAblation(new HiddenCallModel(), "lin").Attribute(torch.randn(2, 3)));

        Assert.Equal("LayerMask", mask.ParamName);
        Assert.Contains("layer_mask", mask.Message, StringComparison.Ordinal);
        Assert.Equal("LayerBaselines", baselines.ParamName);
        Assert.Equal("layer", never.ParamName);
    }

    [Fact]
    public void Attribute_ForwardThrowsDuringAblation_RemovesEveryHookAndLeavesTheModelAsItWas()
    {
        using var scope = torch.NewDisposeScope();
        var model = GradientTestModels.Mlp(13, "tanh");
        var x = TestModels.Normal(14, 2, 4);
        using var noGrad = torch.no_grad();
        var before = model.call(x);
        var calls = 0;
        ForwardFunction failing = ForwardFunction.FromDelegate(
            (Tensor[] args) => ++calls == 3 ? throw new InvalidOperationException("boom") : model.call(args[0]),
            model);

        Assert.Throws<InvalidOperationException>(() => new LayerFeatureAblation(failing, "lin2").Attribute(x, new LayerFeatureAblationOptions { Target = 0 }));

        Assert.Equal(0, GradientTestModels.HookCount(model));
        TensorAssert.AllClose(model.call(x), before, 0, 0);
    }

    [Fact]
    public void Attribute_InANoiseTunnelWithoutNoise_EqualsTheMethodItself()
    {
        using var scope = torch.NewDisposeScope();
        var model = TestModels.SmoothMlp(17);
        var x = TestModels.Normal(18, 3, 4);
        var method = new LayerFeatureAblation(model, "lin1");
        var options = new LayerFeatureAblationOptions { Target = new[] { 1, 0, 2 }, LayerBaselines = 0.5, PerturbationsPerEval = 3 };

        using var tunnel = NoiseTunnel.Create(method).Attribute(x, new NoiseTunnelOptions<LayerFeatureAblationOptions>
        {
            Samples = 4,
            SamplesBatchSize = 3,
            Stdevs = 0.0,
            MethodOptions = options,
        });
        using var direct = method.Attribute(x, options);

        Assert.False(method.HasConvergenceDelta);
        TensorAssert.AllClose(tunnel.Attribution, direct.Attribution, 1e-6, 1e-6);
    }
}

/// <summary>forward(x) = combine(tanh(x[:, :2]), 2 x[:, 2:]), where combine(p, q) = lin(cat(p, sigmoid(q))): a layer of two inputs.</summary>
internal sealed class CombineModel : nn.Module<Tensor, Tensor>
{
    private readonly Combine combine;

    public CombineModel(int seed)
        : base(nameof(CombineModel))
    {
        combine = new Combine(seed);
        RegisterComponents();
        eval();
    }

    public Combine Combine => combine;

    public override Tensor forward(Tensor x) => combine.call(torch.tanh(x[.., ..2]), x[.., 2..] * 2);
}

/// <summary>combine(p, q) = lin(cat(p, sigmoid(q))), p [n, 2], q [n, 3].</summary>
internal sealed class Combine : nn.Module<Tensor, Tensor, Tensor>
{
    private readonly Linear lin;

    public Combine(int seed)
        : base(nameof(Combine))
    {
        torch.manual_seed(seed);
        lin = nn.Linear(5, 3);
        RegisterComponents();
    }

    public override Tensor forward(Tensor p, Tensor q) => lin.call(torch.cat([p, torch.sigmoid(q)], 1));
}
