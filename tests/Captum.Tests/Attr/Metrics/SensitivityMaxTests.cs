using Captum.Attr;
using Captum.Tests.Attr;
using Captum.Metrics;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Captum.Tests.Attr.Metrics;

public sealed class SensitivityMaxTests
{
    private static readonly ExplanationFunction Identity = (inputs, _, _) => inputs.Tensors.Select(t => t.clone()).ToArray();

    [Fact]
    public void Compute_GradientsOfLinearModel_IsZero()
    {
        using var scope = torch.NewDisposeScope();
        var model = new LinearModel(5, 3, seed: 1);
        var gradients = Explanations.Of(new IntegratedGradients(model, multiplyByInputs: false), new IntegratedGradientsOptions { Steps = 4 });

        var sensitivity = SensitivityMax.Compute(gradients, torch.randn(3, 5), new SensitivityMaxOptions { Target = new[] { 0, 2, 1 }, Seed = 1 });

        Assert.Equal(new long[] { 3 }, sensitivity.shape);
        TensorAssert.AllClose(sensitivity, torch.zeros(3), 1e-6, 0);
    }

    [Fact]
    public void Compute_IdentityExplanation_IsTheLargestNoiseNormOverTheInputNorm()
    {
        using var scope = torch.NewDisposeScope();
        var x = torch.randn(2, 6);
        const int Samples = 5;
        const double Radius = 0.1;

        var sensitivity = SensitivityMax.Compute(Identity, x, new SensitivityMaxOptions { PerturbSamples = Samples, PerturbRadius = Radius, Seed = 42 });

        // The same draws: one batch of every example repeated Samples times, example-major.
        using var generator = new Generator(42, torch.CPU);
        var expanded = x.repeat_interleave(Samples, dim: 0);
        var noise = SensitivityMax.UniformNoise([expanded], Radius, generator)[0] - expanded;
        var expected = (noise.norm(1, false, 2) / x.norm(1, false, 2).repeat_interleave(Samples, dim: 0)).reshape(2, Samples).max(1).values;
        TensorAssert.AllClose(sensitivity, expected, 1e-6, 1e-5);
        Assert.True((noise.abs() <= Radius).all().item<bool>());
    }

    [Fact]
    public void Compute_InfinityNorm_IsBoundedByTheRadius()
    {
        using var scope = torch.NewDisposeScope();
        var x = torch.randn(3, 4);

        var sensitivity = SensitivityMax.Compute(Identity, x, new SensitivityMaxOptions { NormOrder = double.PositiveInfinity, PerturbRadius = 0.05, Seed = 3 });

        var bound = 0.05 / x.abs().max(1).values;
        Assert.True((sensitivity <= bound + 1e-6).all().item<bool>());
        Assert.True((sensitivity > 0).all().item<bool>());
    }

    [Fact]
    public void Compute_ZeroExplanation_IsZero()
    {
        using var scope = torch.NewDisposeScope();
        ExplanationFunction zeros = (inputs, _, _) => [torch.zeros_like(inputs.Tensors[0])];

        var sensitivity = SensitivityMax.Compute(zeros, torch.randn(2, 3));

        TensorAssert.AllClose(sensitivity, torch.zeros(2), 0, 0);
    }

    [Fact]
    public void Compute_LayerIntegratedGradients_RepeatsExactlyWithASeed()
    {
        using var scope = torch.NewDisposeScope();
        var model = TestModels.SmoothMlp(2);
        var explanation = Explanations.Of(new LayerIntegratedGradients(model, model.Lin1), new LayerIntegratedGradientsOptions { Steps = 10 });
        var x = torch.randn(2, 4);
        var options = new SensitivityMaxOptions { Target = 1, Seed = 9, PerturbSamples = 4 };

        var first = SensitivityMax.Compute(explanation, x, options);
        var again = SensitivityMax.Compute(explanation, x, options);

        Assert.Equal(new long[] { 2 }, first.shape);
        Assert.True((first > 0).all().item<bool>() && first.isfinite().all().item<bool>());
        TensorAssert.AllClose(again, first, 0, 0);
    }

    [Fact]
    public void Compute_PerExampleArguments_AreExpandedForEveryPerturbedBatch()
    {
        using var scope = torch.NewDisposeScope();
        var x = torch.randn(3, 4);
        var baseline = torch.randn(3, 4);
        var scale = torch.rand(3, 1);
        var calls = new List<(long Rows, int? Targets, long BaselineRows, long ScaleRows)>();
        ExplanationFunction record = (inputs, arguments, _) =>
        {
            calls.Add((inputs.Tensors[0].shape[0], arguments.Target.Count, arguments.Baselines.For(0, 1).Tensor!.shape[0], ((Tensor)arguments.AdditionalForwardArgs![0]!).shape[0]));
            return [inputs.Tensors[0] * 2];
        };

        SensitivityMax.Compute(record, x, new SensitivityMaxOptions
        {
            Target = new[] { 0, 1, 2 },
            Baselines = baseline,
            AdditionalForwardArgs = [scale],
            PerturbSamples = 5,
            MaxExamplesPerBatch = 7,
        });

        // The inputs once, then batches of 2, 2 and 1 samples of each of the 3 examples.
        Assert.Equal([(3L, (int?)3, 3L, 3L), (6L, 6, 6L, 6L), (6L, 6, 6L, 6L), (3L, 3, 3L, 3L)], calls);
    }

    [Fact]
    public void Compute_ExplanationOfAnotherBatchSize_ThrowsNamingExplanationFunc()
    {
        using var scope = torch.NewDisposeScope();
        ExplanationFunction wrong = (inputs, _, _) => [inputs.Tensors[0][TensorIndex.Slice(0, 1)]];

        var ex = Assert.Throws<ArgumentException>(() => SensitivityMax.Compute(wrong, torch.randn(2, 3)));
        Assert.Equal("explanationFunc", ex.ParamName);
    }
}

/// <summary>Without a seed the metrics draw from torch's default generator; these tests reseed it, so they run alone.</summary>
[Collection(SerialCollection.Name)]
public sealed class MetricsDefaultGeneratorTests
{
    [Fact]
    public void Compute_NoSeed_RepeatsAfterTorchManualSeed()
    {
        using var scope = torch.NewDisposeScope();
        ExplanationFunction identity = (inputs, _, _) => [inputs.Tensors[0].clone()];
        var x = torch.randn(2, 3);

        torch.manual_seed(123);
        var first = SensitivityMax.Compute(identity, x);
        torch.manual_seed(123);
        var again = SensitivityMax.Compute(identity, x);

        TensorAssert.AllClose(again, first, 0, 0);
    }
}
