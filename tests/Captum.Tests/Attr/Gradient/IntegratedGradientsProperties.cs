using Captum.Attr;
using FsCheck.Xunit;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Captum.Tests.Attr.Gradient;

/// <summary>The laws of Integrated Gradients, on random models, inputs, baselines and settings.</summary>
public sealed class IntegratedGradientsProperties
{
    private static readonly IntegrationMethod[] Methods = Enum.GetValues<IntegrationMethod>();

    /// <summary>
    /// The completeness error bound of each rule on a smooth function: O(1/n) for the one-sided rules and
    /// Captum's trapezoid (whose weights sum to (n - 1) / n), O(1/n^2) for the midpoint rule, and
    /// exponential for Gauss-Legendre; the constants hold with a margin of 3 or more over the worst error
    /// measured on 40 random tanh MLPs, and 1e-4 covers float32 rounding. Romberg (2^k + 1 points) is held to
    /// Gauss-Legendre's bound.
    /// </summary>
    private static double Tolerance(IntegrationMethod method, int steps) => 1e-4 + method switch
    {
        IntegrationMethod.GaussLegendre => 2 * Math.Exp(-0.5 * steps),
        IntegrationMethod.RiemannMiddle => 1.5 / ((double)steps * steps),
        IntegrationMethod.RiemannTrapezoid => 8.0 / steps,
        IntegrationMethod.Romberg => 2 * Math.Exp(-0.5 * steps),
        _ => 4.0 / steps,
    };

    [Property(MaxTest = 40)]
    public void Completeness_SmoothMlp_DeltaWithinToleranceThatShrinksWithSteps(int seed, byte stepChoice, byte methodChoice)
    {
        using var scope = torch.NewDisposeScope();
        var method = Methods[methodChoice % Methods.Length];
        var steps = method == IntegrationMethod.Romberg ? (1 << (1 + (stepChoice % 6))) + 1 : 2 + (stepChoice % 63);
        var model = TestModels.SmoothMlp(seed);
        var x = TestModels.Normal(seed, 3, 4) * 2;
        var baseline = TestModels.Normal(seed + 1, 3, 4) * 2;
        var target = Math.Abs(seed % 3);

        using var result = new IntegratedGradients(model).Attribute(x, new IntegratedGradientsOptions
        {
            Baselines = baseline,
            Target = target,
            Steps = steps,
            Method = method,
            ReturnConvergenceDelta = true,
        });

        // The delta is the completeness gap: sum of attributions minus F(x) - F(baseline).
        using var noGrad = torch.no_grad();
        var gap = result.Attribution.sum(dim: 1) - (model.call(x)[TensorIndex.Colon, target] - model.call(baseline)[TensorIndex.Colon, target]);
        TensorAssert.AllClose(result.Delta!, gap, 1e-5, 1e-4);
        var worst = result.Delta!.abs().max().item<float>();
        Assert.True(worst <= Tolerance(method, steps), $"{method}, {steps} steps: |delta| {worst} > {Tolerance(method, steps)}");
    }

    [Property(MaxTest = 40)]
    public void Attribute_LinearModel_ExactForAnySteps(int seed, byte stepChoice, byte methodChoice)
    {
        using var scope = torch.NewDisposeScope();
        IntegrationMethod[] exact = [IntegrationMethod.GaussLegendre, IntegrationMethod.RiemannLeft, IntegrationMethod.RiemannRight, IntegrationMethod.RiemannMiddle];
        var method = exact[methodChoice % exact.Length];
        var steps = (method == IntegrationMethod.GaussLegendre ? 1 : 2) + (stepChoice % 100);
        var model = new LinearModel(5, 2, seed);
        var x = torch.randn(4, 5);
        var baseline = torch.randn(4, 5);

        using var result = new IntegratedGradients(model).Attribute(x, new IntegratedGradientsOptions { Baselines = baseline, Target = 1, Steps = steps, Method = method });

        TensorAssert.AllClose(result.Attribution, model.Lin.weight![1] * (x - baseline), 1e-5, 1e-4);
    }

    [Property(MaxTest = 30)]
    public void Attribute_AnyInternalBatchSize_EqualsOneBatch(int seed, byte batchChoice, byte stepChoice)
    {
        using var scope = torch.NewDisposeScope();
        var model = TestModels.SmoothMlp(seed);
        var x = torch.randn(3, 4);
        var steps = 2 + (stepChoice % 30);
        var internalBatch = 1 + (batchChoice % (3 * steps + 5));
        var ig = new IntegratedGradients(model);
        var options = new IntegratedGradientsOptions { Target = 2, Steps = steps, Method = IntegrationMethod.RiemannTrapezoid, ReturnConvergenceDelta = true };

        using var whole = ig.Attribute(x, options);
        using var chunked = ig.Attribute(x, options with { InternalBatchSize = internalBatch });

        TensorAssert.AllClose(chunked.Attribution, whole.Attribution, 1e-6, 1e-5);
        TensorAssert.AllClose(chunked.Delta!, whole.Delta!, 1e-6, 1e-5);
    }

    [Property(MaxTest = 25)]
    public void Attribute_BatchSplitIntoExamples_EqualsWholeBatch(int seed)
    {
        using var scope = torch.NewDisposeScope();
        var model = new TwoInputModel(seed);
        var a = torch.randn(3, 2);
        var b = torch.randn(3, 3);
        var scale = torch.rand(3, 1) + 0.5;
        var targets = new[] { 0, 2, 1 };
        var ig = new IntegratedGradients(model);

        using var whole = ig.Attribute(Inputs.Of(a, b), new IntegratedGradientsOptions { Target = targets, AdditionalForwardArgs = [scale], Steps = 20, ReturnConvergenceDelta = true });

        for (var i = 0; i < 3; i++)
        {
            var row = TensorIndex.Slice(i, i + 1);
            using var single = ig.Attribute(Inputs.Of(a[row], b[row]), new IntegratedGradientsOptions { Target = targets[i], AdditionalForwardArgs = [scale[row]], Steps = 20, ReturnConvergenceDelta = true });
            TensorAssert.AllClose(single[0], whole[0][row], 1e-6, 1e-5);
            TensorAssert.AllClose(single[1], whole[1][row], 1e-6, 1e-5);
            TensorAssert.AllClose(single.Delta!, whole.Delta![row], 1e-6, 1e-5);
        }
    }

    [Property(MaxTest = 25)]
    public void LayerIntegratedGradients_OnWrapperInputLayer_EqualsIntegratedGradients(int seed)
    {
        using var scope = torch.NewDisposeScope();
        var model = new TwoInputModel(seed);
        var wrapper = new ModelInputWrapper(model);
        var a = torch.randn(2, 2);
        var b = torch.randn(2, 3);
        var scale = torch.rand(2, 1);
        var baseline = torch.randn(1, 3);

        using var viaLayer = new LayerIntegratedGradients(wrapper, "input_maps.b").Attribute(Inputs.Of(a, b), new LayerIntegratedGradientsOptions
        {
            Baselines = new BaselineValue[] { a, baseline },
            Target = 0,
            AdditionalForwardArgs = [scale],
        });
        using var plain = new IntegratedGradients(model).Attribute(Inputs.Of(a, b), new IntegratedGradientsOptions
        {
            Baselines = new BaselineValue[] { a, baseline },
            Target = 0,
            AdditionalForwardArgs = [scale],
        });

        TensorAssert.AllClose(viaLayer.Attribution, plain[1], 1e-6, 1e-5);
        TensorAssert.AllClose(plain[0], torch.zeros_like(a), 0, 0);
    }

    [Property(MaxTest = 25)]
    public void ModelInputWrapper_AnyInputs_Transparent(int seed)
    {
        using var scope = torch.NewDisposeScope();
        torch.manual_seed(seed);
        var model = new TwoInputModel(seed);
        var a = torch.randn(4, 2) * 3;
        var b = torch.randn(4, 3) * 3;
        var scale = torch.randn(4, 1);
        using var noGrad = torch.no_grad();

        TensorAssert.AllClose(new ModelInputWrapper(model).Invoke(a, b, scale), model.call(a, b, scale), 0, 0);
    }

    [Property(MaxTest = 25)]
    public void InterpretableEmbedding_ConfigureThenRemove_RestoresOutputsExactly(int seed)
    {
        using var scope = torch.NewDisposeScope();
        var model = new BagOfWords(seed);
        torch.manual_seed(seed);
        var tokens = torch.randint(0, 12, [3, 6], ScalarType.Int64);
        using var noGrad = torch.no_grad();
        var before = model.call(tokens);

        var interpretable = InterpretableEmbeddings.ConfigureInterpretableEmbeddingLayer(model, "embedding");
        var viaEmbeddings = model.call(interpretable.IndicesToEmbeddings(tokens));
        InterpretableEmbeddings.RemoveInterpretableEmbeddingLayer(model, interpretable);

        TensorAssert.AllClose(viaEmbeddings, before, 0, 0);
        TensorAssert.AllClose(model.call(tokens), before, 0, 0);
    }
}
