using System.Text.Json.Nodes;
using Captum.Attr;
using TorchSharp;
using static TorchSharp.torch;

namespace Captum.Golden.Methods;

/// <summary>FeatureAblation, with or without a feature mask.</summary>
internal sealed class FeatureAblationMethod : IGoldenMethod
{
    public IReadOnlyCollection<string> Methods => ["FeatureAblation"];

    public IReadOnlyCollection<string> AttributeKeys => ["feature_mask", "perturbations_per_eval", "enable_cross_tensor_attribution"];

    public void Run(GoldenCase c, nn.Module model, List<string> failures)
    {
        var options = new FeatureAblationOptions
        {
            Baselines = GoldenArguments.Baselines(c),
            Target = GoldenArguments.Target(c),
            AdditionalForwardArgs = c.AdditionalForwardArgs,
            FeatureMask = PerturbationArguments.FeatureMask(c),
            PerturbationsPerEval = GoldenArguments.Int(c.Attribute, "perturbations_per_eval") ?? 1,
            EnableCrossTensorAttribution = GoldenArguments.Bool(c.Attribute, "enable_cross_tensor_attribution"),
        };
        using var result = new FeatureAblation(GoldenArguments.Forward(c, model)).Attribute(Inputs.Of(c.Inputs), options);
        GoldenArguments.Compare("attributions", result.Attributions, c.ExpectedAttributions, failures);
    }
}

/// <summary>Occlusion with the case's window shapes and strides.</summary>
internal sealed class OcclusionMethod : IGoldenMethod
{
    public IReadOnlyCollection<string> Methods => ["Occlusion"];

    public IReadOnlyCollection<string> AttributeKeys => ["sliding_window_shapes", "strides", "perturbations_per_eval"];

    public void Run(GoldenCase c, nn.Module model, List<string> failures)
    {
        var options = new OcclusionOptions
        {
            SlidingWindowShapes = PerturbationArguments.WindowShapes(c),
            Strides = PerturbationArguments.Strides(c),
            Baselines = GoldenArguments.Baselines(c),
            Target = GoldenArguments.Target(c),
            AdditionalForwardArgs = c.AdditionalForwardArgs,
            PerturbationsPerEval = GoldenArguments.Int(c.Attribute, "perturbations_per_eval") ?? 1,
        };
        using var result = new Occlusion(GoldenArguments.Forward(c, model)).Attribute(Inputs.Of(c.Inputs), options);
        GoldenArguments.Compare("attributions", result.Attributions, c.ExpectedAttributions, failures);
    }
}

/// <summary>The perturbation arguments a case records, in Captum's forms.</summary>
internal static class PerturbationArguments
{
    /// <summary>null, a tensor (one input), or a list of tensors (one per input).</summary>
    public static FeatureMask FeatureMask(GoldenCase c) => c.Attribute["feature_mask"] switch
    {
        null => Captum.Attr.FeatureMask.None,
        JsonObject o => GoldenCase.ReadTensor(o),
        JsonArray list => list.Select(t => GoldenCase.ReadTensor(t ?? throw new InvalidOperationException("feature_mask holds null"))).ToArray(),
        var other => throw new InvalidOperationException($"feature_mask of unexpected form: {other.ToJsonString()}"),
    };

    /// <summary>A list of sizes (one input) or a list of such lists (one per input).</summary>
    public static WindowShapes WindowShapes(GoldenCase c) => c.Attribute["sliding_window_shapes"] switch
    {
        JsonArray list when list.All(x => x is JsonArray) => list.Select(Longs).ToArray(),
        JsonArray list => Longs(list),
        var other => throw new InvalidOperationException($"sliding_window_shapes of unexpected form: {other?.ToJsonString() ?? "null"}"),
    };

    /// <summary>null (1), an int, a list of ints, or a list of lists.</summary>
    public static WindowStrides Strides(GoldenCase c) => c.Attribute["strides"] switch
    {
        null => WindowStrides.Default,
        JsonValue v => v.GetValue<long>(),
        JsonArray list when list.All(x => x is JsonArray) => list.Select(Longs).ToArray(),
        JsonArray list when list.Any(x => x is JsonArray) =>
            throw new InvalidOperationException("strides mixing numbers and lists are not supported by the runner"),
        JsonArray list => Longs(list),
        var other => throw new InvalidOperationException($"strides of unexpected form: {other.ToJsonString()}"),
    };

    private static long[] Longs(JsonNode? node) =>
        ((JsonArray)(node ?? throw new InvalidOperationException("null where a list of sizes was expected"))).Select(x => x!.GetValue<long>()).ToArray();
}
