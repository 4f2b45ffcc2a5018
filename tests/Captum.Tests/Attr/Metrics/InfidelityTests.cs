using Captum.Attr;
using Captum.Forward;
using Captum.Metrics;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Captum.Tests.Attr.Metrics;

public sealed class InfidelityTests
{
    /// <summary>Gaussian noise I from the generator; the perturbed input is x - I.</summary>
    private static readonly InfidelityPerturbFunction GaussianNoise = (inputs, baselines, generator) =>
    {
        var noise = inputs.Select(x => torch.randn(x.shape, generator: generator).to(x.device)).ToArray();
        return new InfidelityPerturbation(noise, inputs.Select((x, i) => x - noise[i]).ToArray());
    };

    [Fact]
    public void Compute_SumModelWithHandPickedPerturbation_IsTheSquaredError()
    {
        using var scope = torch.NewDisposeScope();
        ForwardFunction sum = (Func<Tensor, Tensor>)(x => x.sum(1));
        var x = torch.tensor(new float[,] { { 1, 2, 3 } });
        var attribution = torch.tensor(new float[,] { { 1, 2, 3 } });
        InfidelityPerturbFunction ones = (inputs, _, _) => new InfidelityPerturbation([torch.ones_like(inputs[0])], [inputs[0] - 1]);

        // sum(a * I) = 6 predicts a change of 6; the sum changes by 3: (6 - 3)^2 = 9 for every sample.
        var plain = Infidelity.Compute(sum, ones, x, attribution, new InfidelityOptions { PerturbSamples = 4 });

        // The best scale is beta = 18 / 36, which predicts the change exactly.
        var normalized = Infidelity.Compute(sum, ones, x, attribution, new InfidelityOptions { PerturbSamples = 4, Normalize = true });

        TensorAssert.AllClose(plain, torch.tensor(new float[] { 9 }), 1e-6, 0);
        TensorAssert.AllClose(normalized, torch.tensor(new float[] { 0 }), 1e-6, 0);
    }

    [Fact]
    public void Compute_ExactLocalAttributionsOfLinearModel_IsZero()
    {
        using var scope = torch.NewDisposeScope();
        var model = new LinearModel(5, 3, seed: 1);
        var x = torch.randn(4, 5);
        using var gradients = new IntegratedGradients(model, multiplyByInputs: false).Attribute(x, new IntegratedGradientsOptions { Target = 2, Steps = 3 });

        var infidelity = Infidelity.Compute(model, GaussianNoise, x, gradients.Attribution, new InfidelityOptions { Target = 2, Seed = 7 });

        Assert.Equal(new long[] { 4 }, infidelity.shape);
        Assert.True(infidelity.max().item<float>() < 1e-9, $"infidelity {infidelity.max().item<float>()}");
    }

    [Fact]
    public void Compute_ExactGlobalAttributionsWithSubsetPerturbation_IsZero()
    {
        using var scope = torch.NewDisposeScope();
        var model = new LinearModel(6, 2, seed: 2);
        var x = torch.randn(3, 6);
        var baseline = torch.randn(1, 6);
        using var ig = new IntegratedGradients(model).Attribute(x, new IntegratedGradientsOptions { Baselines = baseline, Target = new[] { 0, 1, 1 } });

        // Replace a random subset of features by the baseline: the perturbation is the subset's mask.
        var subset = Infidelity.FromPerturbedInputs((inputs, baselines, generator) =>
        {
            var mask = (torch.rand(inputs[0].shape, generator: generator) < 0.5).to(inputs[0].dtype);
            return [inputs[0] - (mask * (inputs[0] - baselines![0]))];
        });
        var infidelity = Infidelity.Compute(model, subset, x, ig.Attribution, new InfidelityOptions
        {
            Baselines = baseline,
            Target = new[] { 0, 1, 1 },
            PerturbSamples = 20,
            Seed = 3,
        });

        Assert.True(infidelity.max().item<float>() < 1e-9, $"infidelity {infidelity.max().item<float>()}");
    }

    [Fact]
    public void Compute_WrongAttributions_IsPositiveAndNormalizingRemovesTheScale()
    {
        using var scope = torch.NewDisposeScope();
        var model = TestModels.SmoothMlp(3);
        var x = torch.randn(2, 4);
        var attribution = torch.randn(2, 4);
        var options = new InfidelityOptions { Target = 1, Seed = 11, PerturbSamples = 30 };

        var plain = Infidelity.Compute(model, GaussianNoise, x, attribution, options);
        var normalized = Infidelity.Compute(model, GaussianNoise, x, attribution, options with { Normalize = true });
        var normalizedTriple = Infidelity.Compute(model, GaussianNoise, x, attribution * 3, options with { Normalize = true });

        Assert.True(plain.min().item<float>() > 0);
        Assert.True((normalized <= plain + 1e-6).all().item<bool>());
        TensorAssert.AllClose(normalizedTriple, normalized, 1e-6, 1e-4);
    }

    [Fact]
    public void Compute_SameSeed_RepeatsExactlyAndOtherSeedDiffers()
    {
        using var scope = torch.NewDisposeScope();
        var model = TestModels.SmoothMlp(4);
        var x = torch.randn(2, 4);
        var attribution = torch.randn(2, 4);
        var options = new InfidelityOptions { Target = 0, Seed = 5 };

        var first = Infidelity.Compute(model, GaussianNoise, x, attribution, options);
        torch.randn(10); // moves torch's default generator, which a seeded run does not use
        var again = Infidelity.Compute(model, GaussianNoise, x, attribution, options);
        var other = Infidelity.Compute(model, GaussianNoise, x, attribution, options with { Seed = 6 });

        TensorAssert.AllClose(again, first, 0, 0);
        Assert.False((other == first).all().item<bool>());
    }

    [Fact]
    public void Compute_MaxExamplesPerBatch_DoesNotChangeADeterministicScore()
    {
        using var scope = torch.NewDisposeScope();
        var model = TestModels.SmoothMlp(5);
        var x = torch.randn(3, 4);
        var attribution = torch.randn(3, 4);
        InfidelityPerturbFunction tenth = (inputs, _, _) => new InfidelityPerturbation([inputs[0] * 0.1], [inputs[0] * 0.9]);
        var options = new InfidelityOptions { Target = 2, PerturbSamples = 7 };
        var reports = new List<AttributionProgress>();

        var whole = Infidelity.Compute(model, tenth, x, attribution, options);
        var batched = Infidelity.Compute(model, tenth, x, attribution, options with { MaxExamplesPerBatch = 8, Progress = new SynchronousProgress(reports.Add) });

        TensorAssert.AllClose(batched, whole, 1e-7, 1e-5);
        Assert.Equal([2, 4, 6, 7], reports.Select(r => r.CompletedSteps));
    }

    [Fact]
    public void Compute_PerExampleTargets_EqualEachExampleAlone()
    {
        using var scope = torch.NewDisposeScope();
        var model = new TwoInputModel(seed: 6);
        var a = torch.randn(3, 2);
        var b = torch.randn(3, 3);
        var scale = torch.rand(3, 1) + 0.5;
        var attributions = new[] { torch.randn(3, 2), torch.randn(3, 3) };
        InfidelityPerturbFunction shrink = (inputs, _, _) => new InfidelityPerturbation(
            inputs.Select(t => t * 0.2).ToArray(), inputs.Select(t => t * 0.8).ToArray());
        var targets = new[] { 2, 0, 1 };

        var all = Infidelity.Compute(model, shrink, Inputs.Of(a, b), attributions, new InfidelityOptions { Target = targets, AdditionalForwardArgs = [scale], PerturbSamples = 3 });

        for (var i = 0; i < 3; i++)
        {
            var row = TensorIndex.Slice(i, i + 1);
            var one = Infidelity.Compute(model, shrink, Inputs.Of(a[row], b[row]), [attributions[0][row], attributions[1][row]], new InfidelityOptions
            {
                Target = targets[i],
                AdditionalForwardArgs = [scale[row]],
                PerturbSamples = 3,
            });
            TensorAssert.AllClose(one, all[row], 1e-6, 1e-5);
        }
    }

    [Fact]
    public void Compute_AttributionOfAnotherShape_ThrowsNamingAttributions()
    {
        using var scope = torch.NewDisposeScope();
        var model = new LinearModel(5, 3, seed: 1);
        var ex = Assert.Throws<ArgumentException>(() => Infidelity.Compute(model, GaussianNoise, torch.randn(2, 5), torch.randn(2, 4), new InfidelityOptions { Target = 0 }));
        Assert.Equal("attributions", ex.ParamName);
    }

    [Fact]
    public void Compute_PerturbationOfAnotherShape_ThrowsNamingPerturbFunc()
    {
        using var scope = torch.NewDisposeScope();
        var model = new LinearModel(5, 3, seed: 1);
        InfidelityPerturbFunction wrong = (inputs, _, _) => new InfidelityPerturbation([inputs[0][TensorIndex.Slice(0, 1)]], [inputs[0]]);
        var ex = Assert.Throws<ArgumentException>(() => Infidelity.Compute(model, wrong, torch.randn(2, 5), torch.randn(2, 5), new InfidelityOptions { Target = 0 }));
        Assert.Equal("perturbFunc", ex.ParamName);
    }

    [Fact]
    public void Compute_NoSamples_ThrowsNamingPerturbSamples()
    {
        using var scope = torch.NewDisposeScope();
        var model = new LinearModel(5, 3, seed: 1);
        var ex = Assert.ThrowsAny<ArgumentException>(() => Infidelity.Compute(model, GaussianNoise, torch.randn(2, 5), torch.randn(2, 5), new InfidelityOptions { Target = 0, PerturbSamples = 0 }));
        Assert.Equal("PerturbSamples", ex.ParamName);
    }
}
