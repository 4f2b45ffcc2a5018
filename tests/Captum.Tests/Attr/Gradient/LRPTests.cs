using Captum.Attr;
using Captum.Forward;
using Captum.Layers;
using TorchSharp;
using TorchSharp.Modules;
using Xunit;
using static Captum.Tests.LrpTestModels;
using static TorchSharp.torch;

namespace Captum.Tests.Attr.Gradient;

public sealed class LRPTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void Attribute_ZeroBiasReluNet_ConservesRelevanceAndDeltaIsZero(int hiddenLayers)
    {
        using var scope = torch.NewDisposeScope();
        var model = ReluNet(101, bias: false, hiddenLayers: hiddenLayers);
        var x = TestModels.Normal(102, 4, 4);
        var target = new[] { 0, 2, 1, 0 };

        using var result = new LRP(model).Attribute(x, new LRPOptions { Target = target, ReturnConvergenceDelta = true });

        using var noGrad = torch.no_grad();
        var output = model.call(x).gather(1, torch.tensor(new long[] { 0, 2, 1, 0 }).unsqueeze(1)).squeeze(1);
        TensorAssert.AllClose(result.Attribution.sum(1), output, 1e-5, 1e-4);
        TensorAssert.AllClose(result.Delta!, torch.zeros(4), 1e-5, 0);
    }

    /// <summary>
    /// With epsilon -> 0, R/z at a ReLU's input is 1[z > 0] times the gradient at its output, so epsilon-LRP on a ReLU
    /// network of linear layers is the gradient times the input (Ancona et al., 2018), with or without biases.
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Attribute_ReluNetDefaultEpsilon_EqualsInputXGradient(bool bias)
    {
        using var scope = torch.NewDisposeScope();
        var model = ReluNet(103, bias, hiddenLayers: 2);
        var x = TestModels.Normal(104, 5, 4);

        using var lrp = new LRP(model).Attribute(x, new LRPOptions { Target = 2 });
        using var ixg = new InputXGradient(model).Attribute(x, new InputXGradientOptions { Target = 2 });

        TensorAssert.AllClose(lrp.Attribution, ixg.Attribution, 1e-6, 1e-4);
    }

    [Theory]
    [InlineData(1e-9)]
    [InlineData(0.5)]
    public void Attribute_TwoLayerNetWithBiases_EqualsEpsilonRuleByHand(double epsilon)
    {
        using var scope = torch.NewDisposeScope();
        var model = ReluNet(111, bias: true);
        var x = TestModels.Normal(112, 4, 4);
        var lin1 = LayerPath.Resolve(model, "lin1");
        var lin2 = LayerPath.Resolve(model, "lin2");
        var rules = epsilon == 1e-9 ? null : new Dictionary<LayerReference, PropagationRule> { ["lin1"] = new EpsilonRule(epsilon), [lin2] = new EpsilonRule(epsilon) };

        using var result = new LRP(model, rules).Attribute(x, new LRPOptions { Target = 2, ReturnConvergenceDelta = true });

        // z = W a + b, R_i = a_i * sum_j W_ji R_j / (z_j + epsilon * sign(z_j)); the ReLU passes relevance through.
        var (a, y) = ReluForward(model, x);
        var r1 = LinearRule(a[1], W(lin2), B(lin2), OutputRelevance(y, 2), epsilon);
        var r0 = LinearRule(a[0], W(lin1), B(lin1), r1, epsilon);
        TensorAssert.AllClose(result.Attribution, r0, 1e-6, 1e-4);

        // Captum's delta: the output minus the relevances (the biases and epsilon absorb some).
        var expectedDelta = y[TensorIndex.Colon, 2] - r0.sum(1);
        TensorAssert.AllClose(result.Delta!, expectedDelta, 1e-5, 1e-4);
        Assert.True(expectedDelta.abs().max().item<double>() > 1e-2, "the biases absorb relevance, so the delta's sign is tested");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Attribute_GammaRule_EqualsZRuleWithIncreasedPositiveWeights(bool setBiasToZero)
    {
        using var scope = torch.NewDisposeScope();
        var model = ReluNet(121, bias: true);
        var x = TestModels.Normal(122, 4, 4);
        var lin1 = LayerPath.Resolve(model, "lin1");
        var lin2 = LayerPath.Resolve(model, "lin2");
        var rules = new Dictionary<LayerReference, PropagationRule> { [lin1] = new GammaRule(0.5, setBiasToZero), ["lin2"] = new GammaRule() };

        using var result = new LRP(model, rules).Attribute(x, new LRPOptions { Target = 0, ReturnConvergenceDelta = true });

        // Activations and output with the model's own weights; relevance through W + gamma * max(W, 0).
        var (a, y) = ReluForward(model, x);
        var w1 = W(lin1) + (0.5 * W(lin1).clamp(min: 0));
        var w2 = W(lin2) + (0.25 * W(lin2).clamp(min: 0));
        var r1 = LinearRule(a[1], w2, B(lin2), OutputRelevance(y, 0));
        var r0 = LinearRule(a[0], w1, setBiasToZero ? null : B(lin1), r1);
        TensorAssert.AllClose(result.Attribution, r0, 1e-6, 1e-4);
        TensorAssert.AllClose(result.Delta!, y[TensorIndex.Colon, 0] - r0.sum(1), 1e-5, 1e-4);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Attribute_Alpha1Beta0Rule_EqualsZRuleWithPositiveWeightsOnly(bool setBiasToZero)
    {
        using var scope = torch.NewDisposeScope();
        var model = ReluNet(131, bias: true, hiddenLayers: 2);
        var x = TestModels.Normal(132, 4, 4);
        var lin1 = LayerPath.Resolve(model, "lin1");
        var lin2 = LayerPath.Resolve(model, "lin2");
        var lin3 = LayerPath.Resolve(model, "lin3");
        var rules = new Dictionary<LayerReference, PropagationRule> { ["lin1"] = new Alpha1Beta0Rule(setBiasToZero), ["lin3"] = new Alpha1Beta0Rule() };

        using var result = new LRP(model, rules).Attribute(x, new LRPOptions { Target = 1 });

        var (a, y) = ReluForward(model, x);
        var r2 = LinearRule(a[2], W(lin3).clamp(min: 0), B(lin3), OutputRelevance(y, 1));
        var r1 = LinearRule(a[1], W(lin2), B(lin2), r2);
        var r0 = LinearRule(a[0], W(lin1).clamp(min: 0), setBiasToZero ? null : B(lin1), r1);
        TensorAssert.AllClose(result.Attribution, r0, 1e-6, 1e-4);
    }

    [Fact]
    public void Attribute_IdentityRule_PassesTheOutputRelevanceUnchanged()
    {
        using var scope = torch.NewDisposeScope();
        var model = ReluNet(135, bias: true, inputs: 5, hidden: 5);
        var x = TestModels.Normal(136, 3, 5);
        var lin2 = LayerPath.Resolve(model, "lin2");

        using var result = new LRP(model, new Dictionary<LayerReference, PropagationRule> { ["lin1"] = new IdentityRule() }).Attribute(x, new LRPOptions { Target = 0 });

        var (a, y) = ReluForward(model, x);
        var r1 = LinearRule(a[1], W(lin2), B(lin2), OutputRelevance(y, 0));
        TensorAssert.AllClose(result.Attribution, r1, 1e-6, 1e-4);
    }

    [Fact]
    public void Attribute_IdentityRuleOnLayerChangingTheSize_ThrowsNamingIt()
    {
        using var scope = torch.NewDisposeScope();
        var model = ReluNet(137, bias: true);
        var lrp = new LRP(model, new Dictionary<LayerReference, PropagationRule> { ["lin1"] = new IdentityRule() });

        var ex = Assert.Throws<ArgumentException>(() => lrp.Attribute(TestModels.Normal(138, 2, 4), new LRPOptions { Target = 0 }));

        Assert.Contains("'lin1' (Linear)", ex.Message, StringComparison.Ordinal);
        Assert.Contains("IdentityRule", ex.Message, StringComparison.Ordinal);
        Assert.Equal(0, GradientTestModels.HookCount(model));
    }

    /// <summary>
    /// BatchNorm2d (eval) is the linear map s * x + t per channel and gets the epsilon rule, as do AdaptiveAvgPool2d
    /// (the mean over positions) and Linear; Flatten passes relevance through.
    /// </summary>
    [Fact]
    public void Attribute_BatchNormAndAdaptivePool_EqualEpsilonRuleByHand()
    {
        using var scope = torch.NewDisposeScope();
        var bn = nn.BatchNorm2d(3);
        var fc = nn.Linear(3, 2);
        var model = Seeded(nn.Sequential(("bn", bn), ("pool", nn.AdaptiveAvgPool2d(1)), ("flatten", nn.Flatten()), ("fc", fc)), 141);
        using (torch.no_grad())
        {
            bn.running_mean!.copy_(torch.tensor(new float[] { 0.5f, -0.3f, 0.1f }));
            bn.running_var!.copy_(torch.tensor(new float[] { 1.5f, 0.7f, 2.0f }));
        }

        var x = TestModels.Normal(142, 2, 3, 4, 4);

        using var result = new LRP(model).Attribute(x, new LRPOptions { Target = 1 });

        var x64 = x.to_type(ScalarType.Float64);
        var scale = W(bn) / (bn.running_var!.to_type(ScalarType.Float64) + 1e-5).sqrt();
        var shift = B(bn)! - (bn.running_mean!.to_type(ScalarType.Float64) * scale);
        var s = scale.reshape(1, 3, 1, 1);
        var normalized = (x64 * s) + shift.reshape(1, 3, 1, 1);
        var pooled = normalized.mean([2, 3]);
        var rPooled = LinearRule(pooled, W(fc), B(fc), OutputRelevance(Z(pooled, W(fc), B(fc)), 1));
        var rNormalized = normalized * (rPooled / Stabilized(pooled, 1e-9)).reshape(2, 3, 1, 1) / 16;
        var expected = x64 * s * rNormalized / Stabilized(normalized, 1e-9);
        TensorAssert.AllClose(result.Attribution, expected, 1e-6, 1e-4);
    }

    [Fact]
    public void Attribute_ConvPoolNetWithoutBiases_ConservesRelevanceAndEqualsInputXGradient()
    {
        using var scope = torch.NewDisposeScope();
        var model = Seeded(
            nn.Sequential(
                ("conv1", nn.Conv2d(1, 3, 3, padding: 1, bias: false)),
                ("relu1", nn.ReLU()),
                ("pool1", nn.MaxPool2d(2)),
                ("conv2", nn.Conv2d(3, 4, 3, padding: 1, bias: false)),
                ("relu2", nn.ReLU()),
                ("pool2", nn.AvgPool2d(2)),
                ("flatten", nn.Flatten()),
                ("fc", nn.Linear(16, 3, hasBias: false))),
            151);
        var x = TestModels.Normal(152, 3, 1, 8, 8);

        using var lrp = new LRP(model).Attribute(x, new LRPOptions { Target = 1, ReturnConvergenceDelta = true });
        using var ixg = new InputXGradient(model).Attribute(x, new InputXGradientOptions { Target = 1 });

        TensorAssert.AllClose(lrp.Delta!, torch.zeros(3), 1e-5, 0);
        TensorAssert.AllClose(lrp.Attribution, ixg.Attribution, 1e-6, 1e-4);
    }

    [Fact]
    public void Attribute_TwoInputsAndAdditionalArgument_ConserveRelevanceTogether()
    {
        using var scope = torch.NewDisposeScope();
        var model = new TwoInputReluModel(161);
        var a = TestModels.Normal(162, 3, 2);
        var b = TestModels.Normal(163, 3, 3);
        var mask = torch.tensor(new float[] { 1, 0, 1, 1, 0 }).expand(3, 5);

        using var result = new LRP(model).Attribute(Inputs.Of(a, b), new LRPOptions
        {
            Target = 2,
            AdditionalForwardArgs = [mask],
            ReturnConvergenceDelta = true,
        });

        Assert.Equal(a.shape, result[0].shape);
        Assert.Equal(b.shape, result[1].shape);
        TensorAssert.AllClose(result[0][TensorIndex.Colon, 1], torch.zeros(3), 0, 0, "masked out");
        using var noGrad = torch.no_grad();
        TensorAssert.AllClose(result[0].sum(1) + result[1].sum(1), model.call(a, b, mask)[TensorIndex.Colon, 2], 1e-5, 1e-4);
        TensorAssert.AllClose(result.Delta!, torch.zeros(3), 1e-5, 0);
    }

    [Fact]
    public void Attribute_BareLinearModel_IsItsOwnLayer()
    {
        using var scope = torch.NewDisposeScope();
        var model = Seeded(nn.Linear(4, 3), 165);
        var x = TestModels.Normal(166, 3, 4);

        using var result = new LRP(model).Attribute(x, new LRPOptions { Target = 1, ReturnConvergenceDelta = true });

        // One epsilon-rule layer: x_i * W_1i * y / (y + epsilon), and the bias is what is not conserved.
        TensorAssert.AllClose(result.Attribution, x * model.weight![1], 1e-6, 1e-4);
        TensorAssert.AllClose(result.Delta!, model.bias![1].expand(3), 1e-5, 1e-4);
    }

    [Fact]
    public void NoiseTunnel_WrappingLrpWithoutNoise_EqualsLrp()
    {
        using var scope = torch.NewDisposeScope();
        var model = ReluNet(167, bias: true);
        var x = TestModels.Normal(168, 3, 4);
        var lrp = new LRP(model, new Dictionary<LayerReference, PropagationRule> { ["lin1"] = new GammaRule() });

        using var plain = lrp.Attribute(x, new LRPOptions { Target = new[] { 2, 0, 1 } });
        using var smooth = NoiseTunnel.Create(lrp).Attribute(x, new NoiseTunnelOptions<LRPOptions>
        {
            Samples = 3,
            Stdevs = 0.0,
            MethodOptions = new LRPOptions { Target = new[] { 2, 0, 1 } },
        });

        TensorAssert.AllClose(smooth.Attribution, plain.Attribution, 1e-6, 1e-5);
    }

    [Fact]
    public void Attribute_OneOutputForTheWholeBatch_IsBroadcastLikeCaptum()
    {
        using var scope = torch.NewDisposeScope();
        var net = ReluNet(169, bias: true, inputs: 2, hidden: 2, outputs: 2, hiddenLayers: 0);
        var forward = ForwardFunction.FromDelegate((Tensor[] args) => net.call(args[0])[0].unsqueeze(0), net);
        var x = TestModels.Normal(170, 2, 2);

        using var result = new LRP(forward).Attribute(x, new LRPOptions { Target = 0, ReturnConvergenceDelta = true });

        // Only the first example reaches the output: it gets x_0i * W_0i, the second nothing.
        Assert.Equal(x.shape, result.Attribution.shape);
        TensorAssert.AllClose(result.Attribution[0], x[0] * net.named_parameters().First().parameter[0], 1e-6, 1e-4);
        TensorAssert.AllClose(result.Attribution[1], torch.zeros(2), 0, 0);
        Assert.Equal(new long[] { 2 }, result.Delta!.shape);
    }

    [Fact]
    public void Attribute_CancelledToken_ThrowsBeforeAnyPass()
    {
        using var scope = torch.NewDisposeScope();
        var model = ReluNet(171, bias: true);
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();

        Assert.Throws<OperationCanceledException>(() => new LRP(model, new Dictionary<LayerReference, PropagationRule> { ["lin1"] = new GammaRule() })
            .Attribute(TestModels.Normal(172, 2, 4), new LRPOptions { Target = 0 }, cancelled.Token));
        Assert.Equal(0, GradientTestModels.HookCount(model));
    }

    [Fact]
    public void Constructor_UnsupportedModule_ThrowsNamingPathAndType()
    {
        using var scope = torch.NewDisposeScope();
        var model = Seeded(nn.Sequential(("lin", nn.Linear(4, 3)), ("act", nn.Sigmoid()), ("out", nn.Linear(3, 2))), 171);

        var ex = Assert.Throws<ArgumentException>(() => new LRP(model));

        Assert.Equal("model", ex.ParamName);
        Assert.Contains("'act' (Sigmoid)", ex.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => new LayerLRP(model, "lin"));

        // A rule given for it is used: the sigmoid becomes a z-rule layer.
        using var result = new LRP(model, new Dictionary<LayerReference, PropagationRule> { ["act"] = new EpsilonRule() })
            .Attribute(TestModels.Normal(172, 2, 4), new LRPOptions { Target = 0 });
        Assert.Equal(new long[] { 2, 4 }, result.Attribution.shape);
    }

    [Fact]
    public void Attribute_UnsupportedModuleAddedAfterConstruction_ThrowsNamingIt()
    {
        using var scope = torch.NewDisposeScope();
        var model = ReluNet(173, bias: true);
        var lrp = new LRP(model);
        model.append("extra", nn.GELU());

        var ex = Assert.Throws<ArgumentException>(() => lrp.Attribute(TestModels.Normal(174, 2, 4), new LRPOptions { Target = 0 }));

        Assert.Contains("'extra' (GELU)", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Attribute_LinearCalledTwice_ThrowsAndRestoresTheModel(bool changeWeights)
    {
        using var scope = torch.NewDisposeScope();
        var model = new ReusedLinearModel(175);
        var before = GradientTestModels.Snapshot(model);
        var rules = changeWeights ? new Dictionary<LayerReference, PropagationRule> { ["lin"] = new GammaRule() } : null;

        var ex = Assert.Throws<ArgumentException>(() => new LRP(model, rules).Attribute(TestModels.Normal(176, 2, 4), new LRPOptions { Target = 0 }));

        Assert.Contains("'lin' (Linear) is called more than once", ex.Message, StringComparison.Ordinal);
        AssertUnchanged(before, model);
        Assert.Equal(0, GradientTestModels.HookCount(model));
    }

    [Fact]
    public void Attribute_ReluModuleCalledTwice_PassesRelevanceThroughBothCalls()
    {
        using var scope = torch.NewDisposeScope();
        var model = new ReusedReluModel(177);
        var x = TestModels.Normal(178, 3, 4);

        using var lrp = new LRP(model).Attribute(x, new LRPOptions { Target = 1 });
        using var ixg = new InputXGradient(model).Attribute(x, new InputXGradientOptions { Target = 1 });

        // relu(x) first: epsilon-LRP is x * gradient there too (the ReLU at the input passes the relevance of relu(x)).
        TensorAssert.AllClose(lrp.Attribution, ixg.Attribution, 1e-6, 1e-4);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Attribute_WeightChangingRules_RestoreEveryParameterAfterSuccessAndFailure(bool fail)
    {
        using var scope = torch.NewDisposeScope();
        var model = ReluNet(181, bias: true);
        var lin1 = (Linear)LayerPath.Resolve(model, "lin1");
        var before = GradientTestModels.Snapshot(model);
        Tensor? weightDuringPropagation = null;
        Tensor? biasDuringPropagation = null;
        var calls = 0;
        var forward = ForwardFunction.FromDelegate(
            (Tensor[] args) =>
            {
                if (++calls == 2)
                {
                    weightDuringPropagation = lin1.weight!.detach().clone().DetachFromDisposeScope();
                    biasDuringPropagation = lin1.bias!.detach().clone().DetachFromDisposeScope();
                    if (fail)
                    {
                        throw new InvalidOperationException("the second forward pass failed");
                    }
                }

                return model.call(args[0]);
            },
            model);
        var lrp = new LRP(forward, new Dictionary<LayerReference, PropagationRule> { [lin1] = new GammaRule(0.5, setBiasToZero: true), ["lin2"] = new Alpha1Beta0Rule() });
        var x = TestModels.Normal(182, 2, 4);

        if (fail)
        {
            var ex = Assert.Throws<InvalidOperationException>(() => lrp.Attribute(x, new LRPOptions { Target = 1 }));
            Assert.Equal("the second forward pass failed", ex.Message);
        }
        else
        {
            using var result = lrp.Attribute(x, new LRPOptions { Target = 1 });
        }

        // The propagating pass saw the changed parameters; afterwards every parameter is back, bit for bit.
        Assert.Equal(2, calls);
        TensorAssert.AllClose(weightDuringPropagation!, before["lin1.weight"] + (0.5 * before["lin1.weight"].clamp(min: 0)), 0, 0);
        TensorAssert.AllClose(biasDuringPropagation!, torch.zeros(6), 0, 0);
        AssertUnchanged(before, model);
        Assert.Equal(0, GradientTestModels.HookCount(model));
    }

    [Fact]
    public void Attribute_CallersInputs_NotModifiedAndFlagsUntouched()
    {
        using var scope = torch.NewDisposeScope();
        var model = ReluNet(185, bias: true);
        var x = TestModels.Normal(186, 3, 4);
        var tracked = TestModels.Normal(187, 3, 4).requires_grad_(true);
        var copies = new[] { x.clone(), tracked.detach().clone() };
        var lrp = new LRP(model, new Dictionary<LayerReference, PropagationRule> { ["lin1"] = new GammaRule() });

        using var a = lrp.Attribute(x, new LRPOptions { Target = 0 });
        using var b = lrp.Attribute(tracked, new LRPOptions { Target = 0 });

        Assert.False(x.requires_grad);
        Assert.True(tracked.requires_grad);
        Assert.Null(tracked.grad);
        TensorAssert.AllClose(x, copies[0], 0, 0);
        TensorAssert.AllClose(tracked, copies[1], 0, 0);
        Assert.False(a.Attribution.requires_grad);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Attribute_InPlaceRelu_EqualsOutOfPlace(bool changeWeights)
    {
        using var scope = torch.NewDisposeScope();
        var x = TestModels.Normal(188, 4, 4);
        var rules = changeWeights ? new Dictionary<LayerReference, PropagationRule> { ["lin1"] = new GammaRule(), ["lin2"] = new Alpha1Beta0Rule() } : null;
        var options = new LRPOptions { Target = 2, ReturnConvergenceDelta = true };

        using var plain = new LRP(ReluNet(189, bias: true, hiddenLayers: 2), rules).Attribute(x, options);
        using var inPlace = new LRP(ReluNet(189, bias: true, hiddenLayers: 2, inPlace: true), rules).Attribute(x, options);

        TensorAssert.AllClose(inPlace.Attribution, plain.Attribution, 0, 0);
        TensorAssert.AllClose(inPlace.Delta!, plain.Delta!, 0, 0);
    }

    [Fact]
    public void Constructor_RuleKeys_MustNameDistinctLeafModulesOfTheModel()
    {
        using var scope = torch.NewDisposeScope();
        var inner = nn.Sequential(("lin", nn.Linear(4, 4)), ("relu", nn.ReLU()));
        var model = Seeded(nn.Sequential(("block", inner), ("out", nn.Linear(4, 2))), 191);
        LRP With(LayerReference key, LayerReference? second = null)
        {
            var rules = new Dictionary<LayerReference, PropagationRule> { [key] = new EpsilonRule() };
            if (second is { } s)
            {
                rules[s] = new GammaRule();
            }

            return new LRP(model, rules);
        }

        Assert.Contains("no module at path 'nope'", Assert.Throws<ArgumentException>(() => With("nope")).Message, StringComparison.Ordinal);
        Assert.Contains("'block' (Sequential) contains other modules", Assert.Throws<ArgumentException>(() => With("block")).Message, StringComparison.Ordinal);
        Assert.Contains("is not part of the model", Assert.Throws<ArgumentException>(() => With(nn.Linear(4, 2))).Message, StringComparison.Ordinal);
        Assert.Contains("more than once", Assert.Throws<ArgumentException>(() => With("block.lin", LayerPath.Resolve(model, "block.lin"))).Message, StringComparison.Ordinal);
        Assert.Equal("rules", Assert.Throws<ArgumentException>(() => With("block")).ParamName);

        // By path or by instance, nested: the same rule, the same relevances.
        var x = TestModels.Normal(192, 2, 4);
        using var byPath = With("block.lin").Attribute(x, new LRPOptions { Target = 1 });
        using var byInstance = With(LayerPath.Resolve(model, "block.lin")).Attribute(x, new LRPOptions { Target = 1 });
        using var gamma = With("out", "block.lin").Attribute(x, new LRPOptions { Target = 1 });
        TensorAssert.AllClose(byInstance.Attribution, byPath.Attribution, 0, 0);
        Assert.False(torch.allclose(gamma.Attribution, byPath.Attribution), "the gamma rule on block.lin changes the relevances");
    }

    [Fact]
    public void Constructor_DelegateWithoutModule_Throws()
    {
        var forward = (ForwardFunction)(Func<Tensor, Tensor>)(x => x * 2);

        var ex = Assert.Throws<ArgumentException>(() => new LRP(forward));

        Assert.Equal("model", ex.ParamName);
    }

    [Fact]
    public void Rules_InvalidParameters_Throw()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new EpsilonRule(-1e-3));
        Assert.Throws<ArgumentOutOfRangeException>(() => new EpsilonRule(double.NaN));
        Assert.Throws<ArgumentOutOfRangeException>(() => new GammaRule(-0.5));
        Assert.Equal(1e-9, new EpsilonRule().Epsilon);
        Assert.Equal(0.25, new GammaRule().Gamma);
        Assert.False(new GammaRule().SetBiasToZero);
        Assert.False(new Alpha1Beta0Rule().SetBiasToZero);
    }

    /// <summary>The expectations of Captum 0.8.0's own LRP unit tests (tests/attr/test_lrp.py), on the same tiny models.</summary>
    [Fact]
    public void Attribute_CaptumsUnitTestModels_GiveCaptumsValues()
    {
        using var scope = torch.NewDisposeScope();
        Sequential Simple(float firstWeight = 2f)
        {
            var linear = nn.Linear(3, 3, hasBias: false);
            var linear2 = nn.Linear(3, 1, hasBias: false);
            using (torch.no_grad())
            {
                linear.weight!.fill_(2f);
                linear.weight![0, 0] = torch.tensor(firstWeight);
                linear2.weight!.fill_(3f);
            }

            var model = nn.Sequential(("linear", linear), ("relu", nn.ReLU()), ("linear2", linear2), ("dropout", nn.Dropout(0.01)));
            model.eval();
            return model;
        }

        Tensor Relevance(nn.Module<Tensor, Tensor> model, Tensor input, Dictionary<LayerReference, PropagationRule>? rules = null, Target target = default)
        {
            var result = new LRP(model, rules).Attribute(input, new LRPOptions { Target = target });
            return result.Attribution;
        }

        var x = torch.tensor(new float[,] { { 1, 2, 3 } });
        TensorAssert.AllClose(Relevance(Simple(), x), torch.tensor(new float[,] { { 18, 36, 54 } }), 1e-4, 0);
        TensorAssert.AllClose(Relevance(Simple(), torch.cat([x, 3 * x]), target: 0), torch.tensor(new float[,] { { 18, 36, 54 }, { 54, 108, 162 } }), 1e-4, 0);
        TensorAssert.AllClose(
            Relevance(Simple(-2), x, new() { ["linear"] = new GammaRule(gamma: 1), ["linear2"] = new GammaRule() }),
            torch.tensor(new float[,] { { 28f / 3, 104f / 3, 52 } }),
            1e-4,
            0);
        TensorAssert.AllClose(
            Relevance(Simple(-2), x, new() { ["linear"] = new Alpha1Beta0Rule(), ["linear2"] = new Alpha1Beta0Rule() }),
            torch.tensor(new float[,] { { 12, 33.6f, 50.4f } }),
            1e-4,
            0);
        TensorAssert.AllClose(
            Relevance(Simple(-2), x, new() { ["linear"] = new IdentityRule(), ["linear2"] = new EpsilonRule() }),
            torch.tensor(new float[,] { { 24, 36, 36 } }),
            1e-4,
            0);

        var tanhLinear = nn.Linear(3, 3, hasBias: false);
        var tanhLinear2 = nn.Linear(3, 1, hasBias: false);
        using (torch.no_grad())
        {
            tanhLinear.weight!.fill_(0.1f);
            tanhLinear2.weight!.fill_(0.1f);
        }

        var tanhModel = nn.Sequential(("linear", tanhLinear), ("tanh", nn.Tanh()), ("linear2", tanhLinear2));
        TensorAssert.AllClose(Relevance(tanhModel, x), torch.tensor(new float[,] { { 0.0269f, 0.0537f, 0.0806f } }), 1e-4, 0);

        var pooled = torch.tensor(new float[] { 1, 2, 5, 6 }).reshape(1, 1, 2, 2);
        TensorAssert.AllClose(Relevance(nn.Sequential(("maxpool", nn.MaxPool2d(2))), pooled), torch.tensor(new float[] { 0, 0, 0, 6 }).reshape(1, 1, 2, 2), 1e-4, 0);

        var poolLinear = nn.Linear(2, 2, hasBias: false);
        using (torch.no_grad())
        {
            poolLinear.weight!.fill_(2f);
        }

        var maxPool1d = nn.Sequential(("linear", poolLinear), ("maxpool", nn.MaxPool1d(2)));
        var sequence = torch.tensor(new float[] { 1, 2, 5, 6 }).reshape(1, 2, 2);
        TensorAssert.AllClose(Relevance(maxPool1d, sequence, target: 1), torch.tensor(new float[] { 0, 0, 10, 12 }).reshape(1, 2, 2), 1e-4, 0);

        // BasicModel_ConvNet_One_Conv, its view(-1, 8) as a Flatten module: relevance conserved exactly.
        var conv = nn.Conv2d(1, 2, 3);
        var fc = nn.Linear(8, 4);
        using (torch.no_grad())
        {
            conv.weight!.fill_(1f);
            conv.bias!.copy_(torch.tensor(new float[] { -50, -75 }));
            fc.weight!.copy_(torch.tensor(new float[] { 1, 1, 1, 1, 1, -1, -1, -1 }).expand(4, 8));
            fc.bias!.zero_();
        }

        var convNet = nn.Sequential(("conv1", conv), ("relu1", nn.ReLU()), ("flatten", nn.Flatten()), ("fc1", fc), ("relu2", nn.ReLU()));
        using var convResult = new LRP(convNet).Attribute(torch.arange(16f).reshape(1, 1, 4, 4), new LRPOptions { Target = 0, ReturnConvergenceDelta = true });
        TensorAssert.AllClose(convResult.Attribution, torch.tensor(new float[] { 0, 1, 2, 3, 0, 5, 6, 7, 0, 9, 10, 11, 0, 0, 0, 0 }).reshape(1, 1, 4, 4), 1e-4, 0);
        TensorAssert.AllClose(convResult.Delta!, torch.zeros(1), 0, 0);
    }

    [Fact]
    public void Attribute_RepeatedCalls_LeaveNoLiveTensors()
    {
        using var scope = torch.NewDisposeScope();
        var model = ReluNet(195, bias: true, hiddenLayers: 2);
        var x = TestModels.Normal(196, 4, 4);
        var lrp = new LRP(model, new Dictionary<LayerReference, PropagationRule> { ["lin1"] = new GammaRule() });
        var layerLrp = new LayerLRP(model, "relu1");

        void Call()
        {
            using var a = lrp.Attribute(x, new LRPOptions { Target = 1, ReturnConvergenceDelta = true });
            using var b = layerLrp.Attribute(x, new LayerLRPOptions { Target = 1, ReturnConvergenceDelta = true, AttributeToLayerInput = true });
        }

        Call();
        var before = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        for (var i = 0; i < 20; i++)
        {
            Call();
        }

        Assert.Equal(before, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
    }

    private static void AssertUnchanged(Dictionary<string, Tensor> before, nn.Module model)
    {
        foreach (var (name, value) in model.state_dict())
        {
            TensorAssert.AllClose(value, before[name], 0, 0, name);
        }
    }
}
