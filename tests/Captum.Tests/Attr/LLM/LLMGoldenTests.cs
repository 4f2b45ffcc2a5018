using System.Text.Json.Nodes;
using Captum.Golden;
using Xunit;

namespace Captum.Tests.Attr.LLM;

/// <summary>
/// Captum 0.8.0's LLMAttribution and LLMGradientAttribution answers (../shared/golden/captum-0.8.0-modules, methods
/// "LLMAttribution.X" and "LLMGradientAttribution.X", on a GPT-2 with Hugging Face's names and the "words" tokenizer)
/// are replayed by the golden runner (Captum.Golden's LLMAttributionMethod), in
/// <see cref="Captum.Tests.Golden.GoldenAttributionTests"/> as by scripts/golden.sh; here, that the folder holds every
/// kind of case and the runner passes each.
/// </summary>
public sealed class LLMGoldenTests
{
    [Fact]
    public void Cases_IncludeEveryKindOfInputAndMethod()
    {
        var cases = GoldenCase.DiscoverFiles(GoldenCase.ModulesDirectory())
            .Select(f => JsonNode.Parse(File.ReadAllText(f))!.AsObject())
            .Where(c => c["method"]!.GetValue<string>().StartsWith("LLM", StringComparison.Ordinal))
            .ToList();
        var methods = cases.Select(c => c["method"]!.GetValue<string>()).ToList();

        Assert.Contains("LLMAttribution.FeatureAblation", methods);
        Assert.Contains("LLMAttribution.ShapleyValues", methods);
        Assert.Contains("LLMGradientAttribution.LayerIntegratedGradients", methods);
        Assert.Contains(cases, c => c["input"]!["kind"]!.GetValue<string>() == "TextTemplateInput");
        Assert.Contains(cases, c => c["attribute"]!["target"] is null);
        Assert.All(methods, m => Assert.Contains(m, GoldenRunner.Implemented));
    }
}
