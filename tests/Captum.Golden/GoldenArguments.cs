using System.Text.Json.Nodes;
using Captum.Attr;
using Captum.Forward;
using TorchSharp;
using static TorchSharp.torch;

namespace Captum.Golden;

/// <summary>Turns a case's recorded arguments into CaptumSharp's, and compares results with the README's tolerance.</summary>
internal static class GoldenArguments
{
    /// <summary>The model as a forward function, wrapped with ModelInputWrapper when the case says so.</summary>
    public static ForwardFunction Forward(GoldenCase c, nn.Module model) =>
        c.WrapInputs ? new ModelInputWrapper(model) : ForwardFunction.FromModule(model);

    /// <summary>The constructor's multiply_by_inputs (default true).</summary>
    public static bool MultiplyByInputs(GoldenCase c) => c.Constructor["multiply_by_inputs"] is JsonValue m ? m.GetValue<bool>() : true;

    public static bool Bool(JsonObject o, string key, bool fallback = false) => o[key] is JsonValue v ? v.GetValue<bool>() : fallback;

    public static int? Int(JsonObject o, string key) => o[key] is JsonValue v ? v.GetValue<int>() : null;

    public static double? Double(JsonObject o, string key) => o[key] is JsonValue v ? v.GetValue<double>() : null;

    public static IntegrationMethod Method(string name) => name switch
    {
        "gausslegendre" => IntegrationMethod.GaussLegendre,
        "riemann_left" => IntegrationMethod.RiemannLeft,
        "riemann_right" => IntegrationMethod.RiemannRight,
        "riemann_middle" => IntegrationMethod.RiemannMiddle,
        "riemann_trapezoid" => IntegrationMethod.RiemannTrapezoid,
        _ => throw new InvalidOperationException($"unknown integration method '{name}'"),
    };

    /// <summary>null, {"scalar": x}, a tensor, or a list of those (one per input).</summary>
    public static Baselines Baselines(GoldenCase c)
    {
        var node = c.Attribute["baselines"];
        var inputs = c.Inputs.Length;
        switch (node)
        {
            case null:
                return Captum.Baselines.None;
            case JsonObject o when o["scalar"] is JsonValue s:
                return s.GetValue<double>();
            case JsonObject o:
                return GoldenCase.ReadTensor(o);
            case JsonArray list:
                if (list.Count != inputs)
                {
                    throw new InvalidOperationException($"{list.Count} baselines for {inputs} inputs");
                }

                return list.Select(item => item is JsonObject io && io["scalar"] is JsonValue sv
                    ? (BaselineValue)sv.GetValue<double>()
                    : (BaselineValue)GoldenCase.ReadTensor(item!)).ToArray();
            default:
                throw new InvalidOperationException($"baselines of unexpected form: {node.ToJsonString()}");
        }
    }

    /// <summary>null, an int, a list of ints (one per example), or a list of index lists.</summary>
    public static Target Target(GoldenCase c)
    {
        var node = c.Attribute["target"];
        switch (node)
        {
            case null:
                return Captum.Target.None;
            case JsonValue v:
                return v.GetValue<long>();
            case JsonArray list when list.All(x => x is JsonValue):
                return list.Select(x => x!.GetValue<long>()).ToArray();
            case JsonArray list:
                return Captum.Target.PerExample(list.Select(x => ((JsonArray)x!).Select(i => i!.GetValue<long>()).ToArray()));
            default:
                throw new InvalidOperationException($"target of unexpected form: {node.ToJsonString()}");
        }
    }

    /// <summary>Compares attribution tensors with the README's tolerance.</summary>
    public static void Compare(string what, IReadOnlyList<Tensor> actual, IReadOnlyList<Tensor>? expected, List<string> failures)
    {
        if (expected is null)
        {
            failures.Add($"{what}: the case has no expected values");
            return;
        }

        if (actual.Count != expected.Count)
        {
            failures.Add($"{what}: {actual.Count} tensors, {expected.Count} expected");
            return;
        }

        for (var i = 0; i < actual.Count; i++)
        {
            if (!GoldenRunner.Close(actual[i], expected[i], 1e-4, 1e-3, out var why))
            {
                failures.Add($"{what}[{i}]: {why}");
            }
        }
    }

    /// <summary>Compares the delta (absolute 1e-4) when the case recorded one, and checks none was returned otherwise.</summary>
    public static void CompareDelta(Tensor? delta, GoldenCase c, List<string> failures)
    {
        if (c.ExpectedDelta is null)
        {
            if (delta is not null)
            {
                failures.Add("a delta was returned but the case did not ask for one");
            }

            return;
        }

        if (delta is null)
        {
            failures.Add("the case expects a convergence delta but none was returned");
        }
        else if (!GoldenRunner.Close(delta, c.ExpectedDelta, 1e-4, 0, out var why))
        {
            failures.Add($"delta: {why}");
        }
    }

    /// <summary>The expected tensors of a layer method: "layers" per layer, or "attributions" for a single layer.</summary>
    public static Tensor[][] ExpectedLayers(GoldenCase c, int layerCount) =>
        c.ExpectedLayers
        ?? (layerCount == 1 && c.ExpectedAttributions is { } single ? new[] { single } : null)
        ?? throw new InvalidOperationException("expected.layers (or expected.attributions for one layer) is missing");
}
