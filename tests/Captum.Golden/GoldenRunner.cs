using System.Globalization;
using System.Text.Json.Nodes;
using Captum.Attr;
using Captum.Forward;
using Captum.Layers;
using TorchSharp;
using static TorchSharp.torch;

namespace Captum.Golden;

/// <summary>The outcome of one golden case.</summary>
internal enum GoldenStatus
{
    Passed,
    Failed,
    Skipped,
}

/// <summary>What happened to one case, with the reason when it did not pass.</summary>
internal sealed record GoldenOutcome(string Name, GoldenStatus Status, string Message);

/// <summary>
/// Replays a golden case through CaptumSharp and compares with Captum's answers, using the
/// tolerance of shared/golden/README.md: |a - e| &lt;= 1e-4 + 1e-3 |e| for attributions, 1e-4 absolute
/// for convergence deltas.
/// </summary>
internal static class GoldenRunner
{
    /// <summary>The methods the runner can replay; cases of other methods are skipped with the method's name.</summary>
    public static readonly IReadOnlySet<string> Implemented = new HashSet<string>(StringComparer.Ordinal)
    {
        "IntegratedGradients",
        "LayerIntegratedGradients",
    };

    private static readonly HashSet<string> KnownAttributeKeys = new(StringComparer.Ordinal)
    {
        "baselines", "target", "additional_forward_args", "n_steps", "method", "internal_batch_size",
        "return_convergence_delta", "attribute_to_layer_input",
    };

    /// <summary>Runs every case file; never throws for a bad case (it fails instead).</summary>
    public static IReadOnlyList<GoldenOutcome> RunAll(IEnumerable<string> files) => files.Select(RunFile).ToList();

    /// <summary>Loads and runs one case file inside its own dispose scope.</summary>
    public static GoldenOutcome RunFile(string file)
    {
        var name = Path.GetFileNameWithoutExtension(file);
        using var scope = torch.NewDisposeScope();
        try
        {
            var c = GoldenCase.Load(file);
            if (!Implemented.Contains(c.Method))
            {
                return new GoldenOutcome(c.Name, GoldenStatus.Skipped, $"method {c.Method} is not implemented yet");
            }

            var failures = Run(c);
            return failures.Count == 0
                ? new GoldenOutcome(c.Name, GoldenStatus.Passed, string.Empty)
                : new GoldenOutcome(c.Name, GoldenStatus.Failed, string.Join("; ", failures));
        }
        catch (Exception ex)
        {
            return new GoldenOutcome(name, GoldenStatus.Failed, $"{ex.GetType().Name}: {ex.Message.Split('\n')[0]}");
        }
    }

    /// <summary>Runs one loaded case and returns the list of mismatches (empty when it passes).</summary>
    public static List<string> Run(GoldenCase c)
    {
        var unknown = c.Attribute.Select(kv => kv.Key).Where(k => !KnownAttributeKeys.Contains(k)).ToList();
        if (unknown.Count > 0)
        {
            return [$"attribute arguments this runner does not understand: {string.Join(", ", unknown)}"];
        }

        var model = GoldenModels.Build(c);
        var failures = new List<string>();
        var options = Options(c);
        var multiply = c.Constructor["multiply_by_inputs"] is JsonValue m ? m.GetValue<bool>() : true;

        switch (c.Method)
        {
            case "IntegratedGradients":
                RunIntegratedGradients(c, model, options, multiply, failures);
                break;
            case "LayerIntegratedGradients":
                RunLayerIntegratedGradients(c, model, options, multiply, failures);
                break;
            default:
                throw new InvalidOperationException($"method {c.Method} is not implemented");
        }

        return failures;
    }

    private static void RunIntegratedGradients(GoldenCase c, nn.Module model, LayerIntegratedGradientsOptions options, bool multiply, List<string> failures)
    {
        var inputs = c.Inputs;
        var baselines = options.Baselines;
        InterpretableEmbeddingBase? interpretable = null;
        try
        {
            if (c.InterpretableEmbedding is { } path)
            {
                interpretable = InterpretableEmbeddings.ConfigureInterpretableEmbeddingLayer(model, path);
                var converted = new BaselineValue[inputs.Length];
                var embedded = new Tensor[inputs.Length];
                for (var i = 0; i < inputs.Length; i++)
                {
                    var b = baselines.IsNone ? 0.0 : baselines.For(i, inputs.Length);
                    if (inputs[i].is_floating_point())
                    {
                        embedded[i] = inputs[i];
                        converted[i] = b;
                        continue;
                    }

                    embedded[i] = interpretable.IndicesToEmbeddings(inputs[i]);
                    converted[i] = b.Tensor is { } ids
                        ? interpretable.IndicesToEmbeddings(ids)
                        : throw new InvalidOperationException($"baseline {i} must be token ids for the interpretable embedding");
                }

                inputs = embedded;
                baselines = converted;
            }

            var ig = new IntegratedGradients(Forward(c, model), multiply);
            using var result = ig.Attribute(Inputs.Of(inputs), options with { Baselines = baselines });
            Compare("attributions", result.Attributions, c.ExpectedAttributions, failures);
            CompareDelta(result.Delta, c, failures);
        }
        finally
        {
            if (interpretable is not null)
            {
                InterpretableEmbeddings.RemoveInterpretableEmbeddingLayer(model, interpretable);
            }
        }

        if (interpretable is not null)
        {
            using var noGrad = torch.no_grad();
            var again = Forward(c, model).Invoke([.. c.Inputs, .. c.AdditionalForwardArgs ?? []]);
            if (!Close(again, c.Forward, 1e-4, 1e-3, out var why))
            {
                failures.Add($"after removing the interpretable embedding the model's output differs from the recorded forward: {why}");
            }
        }
    }

    private static void RunLayerIntegratedGradients(GoldenCase c, nn.Module model, LayerIntegratedGradientsOptions options, bool multiply, List<string> failures)
    {
        var layers = c.Layers ?? throw new InvalidOperationException("LayerIntegratedGradients case without layers");
        var forward = Forward(c, model);
        var lig = layers.Length == 1
            ? new LayerIntegratedGradients(forward, layers[0], multiply)
            : new LayerIntegratedGradients(forward, layers.Select(l => (LayerReference)l).ToArray(), multiply);
        using var result = lig.Attribute(Inputs.Of(c.Inputs), options);

        // A single layer's attributions are recorded under "attributions", a list of layers under "layers".
        var expected = c.ExpectedLayers
            ?? (layers.Length == 1 && c.ExpectedAttributions is { } single ? new[] { single } : null)
            ?? throw new InvalidOperationException("expected.layers (or expected.attributions for one layer) is missing");
        if (expected.Length != result.Layers.Count)
        {
            failures.Add($"{result.Layers.Count} layers attributed, {expected.Length} expected");
            return;
        }

        for (var l = 0; l < expected.Length; l++)
        {
            Compare($"layer {layers[l]}", result.Layers[l], expected[l], failures);
        }

        CompareDelta(result.Delta, c, failures);
    }

    private static ForwardFunction Forward(GoldenCase c, nn.Module model) =>
        c.WrapInputs ? new ModelInputWrapper(model) : ForwardFunction.FromModule(model);

    private static LayerIntegratedGradientsOptions Options(GoldenCase c)
    {
        var a = c.Attribute;
        var options = new LayerIntegratedGradientsOptions
        {
            Baselines = ParseBaselines(a["baselines"], c.Inputs.Length),
            Target = ParseTarget(a["target"]),
            AdditionalForwardArgs = c.AdditionalForwardArgs,
            ReturnConvergenceDelta = Bool(a, "return_convergence_delta"),
            AttributeToLayerInput = Bool(a, "attribute_to_layer_input"),
        };
        if (a["n_steps"] is JsonValue steps)
        {
            options = options with { Steps = steps.GetValue<int>() };
        }

        if (a["method"] is JsonValue method)
        {
            options = options with { Method = ParseMethod(method.GetValue<string>()) };
        }

        if (a["internal_batch_size"] is JsonValue ibs)
        {
            options = options with { InternalBatchSize = ibs.GetValue<int>() };
        }

        return options;
    }

    private static bool Bool(JsonObject o, string key) => o[key] is JsonValue v && v.GetValue<bool>();

    private static IntegrationMethod ParseMethod(string name) => name switch
    {
        "gausslegendre" => IntegrationMethod.GaussLegendre,
        "riemann_left" => IntegrationMethod.RiemannLeft,
        "riemann_right" => IntegrationMethod.RiemannRight,
        "riemann_middle" => IntegrationMethod.RiemannMiddle,
        "riemann_trapezoid" => IntegrationMethod.RiemannTrapezoid,
        _ => throw new InvalidOperationException($"unknown integration method '{name}'"),
    };

    private static Baselines ParseBaselines(JsonNode? node, int inputs)
    {
        switch (node)
        {
            case null:
                return Baselines.None;
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

    private static Target ParseTarget(JsonNode? node)
    {
        switch (node)
        {
            case null:
                return Target.None;
            case JsonValue v:
                return v.GetValue<long>();
            case JsonArray list when list.All(x => x is JsonValue):
                return list.Select(x => x!.GetValue<long>()).ToArray();
            case JsonArray list:
                return Target.PerExample(list.Select(x => ((JsonArray)x!).Select(i => i!.GetValue<long>()).ToArray()));
            default:
                throw new InvalidOperationException($"target of unexpected form: {node.ToJsonString()}");
        }
    }

    private static void Compare(string what, IReadOnlyList<Tensor> actual, IReadOnlyList<Tensor>? expected, List<string> failures)
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
            if (!Close(actual[i], expected[i], 1e-4, 1e-3, out var why))
            {
                failures.Add($"{what}[{i}]: {why}");
            }
        }
    }

    private static void CompareDelta(Tensor? delta, GoldenCase c, List<string> failures)
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
        else if (!Close(delta, c.ExpectedDelta, 1e-4, 0, out var why))
        {
            failures.Add($"delta: {why}");
        }
    }

    /// <summary>Elementwise |a - e| &lt;= atol + rtol |e|, with a reason when it does not hold.</summary>
    public static bool Close(Tensor actual, Tensor expected, double atol, double rtol, out string why)
    {
        var a = actual.detach().cpu().to_type(ScalarType.Float64);
        var e = expected.detach().cpu().to_type(ScalarType.Float64);
        if (a.numel() != e.numel() || (!a.shape.SequenceEqual(e.shape) && a.squeeze().shape.SequenceEqual(e.squeeze().shape) is false))
        {
            why = $"shape {Format(a.shape)}, expected {Format(e.shape)}";
            return false;
        }

        a = a.reshape(e.shape);
        var excess = (a - e).abs() - (atol + (rtol * e.abs()));
        var worst = excess.argmax().item<long>();
        var worstExcess = excess.flatten()[worst].item<double>();
        if (worstExcess <= 0 && !a.isnan().any().item<bool>())
        {
            why = string.Empty;
            return true;
        }

        why = string.Create(
            CultureInfo.InvariantCulture,
            $"element {worst} is {a.flatten()[worst].item<double>():G6}, expected {e.flatten()[worst].item<double>():G6} (max |diff| {(a - e).abs().max().item<double>():G3})");
        return false;
    }

    private static string Format(long[] shape) => "[" + string.Join(", ", shape) + "]";
}
