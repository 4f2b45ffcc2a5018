using Captum.Attr;
using Captum.Golden;
using Captum.Golden.Methods;
using TorchSharp;
using Xunit;

namespace Captum.Tests.Attr.Perturbation;

/// <summary>The FeatureAblation and Occlusion golden cases run, and match Captum 0.8.0.</summary>
public sealed class PerturbationGoldenTests
{
    [Theory]
    [InlineData("FeatureAblation")]
    [InlineData("Occlusion")]
    public void RunAll_PerturbationCases_PresentAndPassed(string method)
    {
        using var scope = torch.NewDisposeScope();
        var files = GoldenCase.DiscoverFiles().Where(f => GoldenCase.Load(f).Method == method).ToList();
        Assert.NotEmpty(files);
        foreach (var file in files)
        {
            var outcome = GoldenRunner.RunFile(file);
            Assert.True(outcome.Status == GoldenStatus.Passed, $"{outcome.Name}: {outcome.Status} {outcome.Message}");
        }
    }

    [Theory]
    [InlineData(2)]
    [InlineData(5)]
    [InlineData(64)]
    public void Occlusion_VqaCaseWithSeveralPerturbationsPerEval_StillMatchesCaptum(int perEval)
    {
        // The question length is an additional argument with a batch dimension: it is repeated for every
        // perturbation that shares the forward pass.
        using var scope = torch.NewDisposeScope();
        var c = GoldenCase.Load("occlusion_vqa_image.json");
        var model = GoldenModels.Build(c);
        var options = new OcclusionOptions
        {
            SlidingWindowShapes = PerturbationArguments.WindowShapes(c),
            Strides = PerturbationArguments.Strides(c),
            Baselines = GoldenArguments.Baselines(c),
            Target = GoldenArguments.Target(c),
            AdditionalForwardArgs = c.AdditionalForwardArgs,
            PerturbationsPerEval = perEval,
        };

        using var result = new Occlusion(GoldenArguments.Forward(c, model)).Attribute(Inputs.Of(c.Inputs), options);

        var failures = new List<string>();
        GoldenArguments.Compare("attributions", result.Attributions, c.ExpectedAttributions, failures);
        Assert.Empty(failures);
    }
}
