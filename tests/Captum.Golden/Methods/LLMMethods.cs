using System.Text.Json;
using System.Text.Json.Nodes;
using Captum.Attr;
using Captum.Plugins.TextGeneration.Model;
using static TorchSharp.torch;

namespace Captum.Golden.Methods;

/// <summary>
/// The LLM attribution cases (captum.attr's LLMAttribution over FeatureAblation and ShapleyValues, LLMGradientAttribution
/// over LayerIntegratedGradients, in shared/golden/captum-0.8.0-modules): the case's GPT-2 with fixed weights, its
/// "words" tokenizer and its token or template input; the input and output tokens compared exactly, the sequence and
/// token attributions with the README's tolerance.
/// </summary>
internal sealed class LLMAttributionMethod : IGoldenFileMethod
{
    private const string LayerIntegratedGradients = "LLMGradientAttribution.LayerIntegratedGradients";

    public IReadOnlyCollection<string> Methods => ["LLMAttribution.FeatureAblation", "LLMAttribution.ShapleyValues", LayerIntegratedGradients];

    public IReadOnlyCollection<string> AttributeKeys => ["target", "skip_tokens", "gen_args", "use_cached_outputs", "n_steps"];

    public void Run(JsonObject root, List<string> failures)
    {
        var model = GoldenModels.Gpt2(Object(root, "model"));
        var tokenizer = WordTokenizer.FromCase(Object(root, "tokenizer"));
        var input = Input(Object(root, "input"), tokenizer);
        var call = Object(root, "attribute");
        var constructor = Object(root, "constructor");
        var method = root["method"]!.GetValue<string>();
        var expected = Object(root, "expected");

        using var result = method == LayerIntegratedGradients
            ? LLMGradientAttribution.LayerIntegratedGradients(model, tokenizer, constructor["layer"]!.GetValue<string>(), GoldenArguments.Bool(constructor, "multiply_by_inputs", true))
                .Attribute(
                    input as TextTokenInput ?? throw new InvalidOperationException("LayerIntegratedGradients takes a TextTokenInput"),
                    Target(call),
                    Options(call, new LayerIntegratedGradientsOptions { Steps = GoldenArguments.Int(call, "n_steps") ?? 50 }))
            : Perturbation(method, model, tokenizer, AttributionTarget(constructor), input, call);

        Tokens("input_tokens", result.InputTokens, expected, failures);
        Tokens("output_tokens", result.OutputTokens, expected, failures);
        GoldenArguments.Compare("seq_attr", [result.SequenceAttribution], [GoldenCase.ReadTensor(expected["seq_attr"]!)], failures);
        switch (expected["token_attr"], result.TokenAttribution)
        {
            case (JsonObject tokens, { } actual):
                GoldenArguments.Compare("token_attr", [actual], [GoldenCase.ReadTensor(tokens)], failures);
                break;
            case (JsonObject, null):
                failures.Add("token_attr: none returned, the case expects one");
                break;
            case (null, { }):
                failures.Add("token_attr: returned, the case expects none");
                break;
        }
    }

    private static LLMAttributionResult Perturbation(string method, Gpt2LMHeadModel model, ITextTokenizer tokenizer, LLMAttributionTarget target, IInterpretableInput input, JsonObject call) => method switch
    {
        "LLMAttribution.FeatureAblation" => LLMAttribution.FeatureAblation(model, tokenizer, target)
            .Attribute(input, Target(call), Options<FeatureAblationOptions>(call, null)),
        "LLMAttribution.ShapleyValues" => LLMAttribution.ShapleyValues(model, tokenizer, target)
            .Attribute(input, Target(call), Options<ShapleyValuesOptions>(call, null)),
        _ => throw new InvalidOperationException($"no replay for {method}"),
    };

    /// <summary>The options of <c>attribute</c>: skip_tokens, gen_args.max_new_tokens (greedy only), use_cached_outputs.</summary>
    private static LLMAttributionOptions<TOptions> Options<TOptions>(JsonObject call, TOptions? method)
        where TOptions : AttributionOptions
    {
        var generation = call["gen_args"] as JsonObject ?? [];
        var unknown = generation.Select(kv => kv.Key).Except(["max_new_tokens", "do_sample"]).ToList();
        if (unknown.Count > 0 || GoldenArguments.Bool(generation, "do_sample"))
        {
            throw new InvalidOperationException($"gen_args the runner does not replay: {generation.ToJsonString()} (greedy max_new_tokens only)");
        }

        var options = new LLMAttributionOptions<TOptions>
        {
            SkipTokens = call["skip_tokens"] is JsonArray skip ? skip.Select(Token).ToList() : null,
            UseCachedOutputs = GoldenArguments.Bool(call, "use_cached_outputs", true),
            Method = method,
        };

        // Set only when the call gives it: with a target, a generation option is refused, as Captum's assert refuses gen_args.
        return GoldenArguments.Int(generation, "max_new_tokens") is { } maxNew ? options with { MaxNewTokens = maxNew } : options;
    }

    private static LLMTarget? Target(JsonObject call) => call["target"] is JsonValue t ? (LLMTarget)t.GetValue<string>()! : (LLMTarget?)null;

    private static LLMAttributionTarget AttributionTarget(JsonObject constructor) => constructor["attr_target"]?.GetValue<string>() switch
    {
        null or "log_prob" => LLMAttributionTarget.LogProbability,
        "prob" => LLMAttributionTarget.Probability,
        var other => throw new InvalidOperationException($"unknown attr_target '{other}'"),
    };

    private static IInterpretableInput Input(JsonObject node, ITextTokenizer tokenizer) => node["kind"]?.GetValue<string>() switch
    {
        "TextTokenInput" => new TextTokenInput(
            node["text"]!.GetValue<string>(),
            tokenizer,
            Token(node["baselines"]),
            node["skip_tokens"] is JsonArray s ? s.Select(Token).ToList() : null),
        "TextTemplateInput" => new TextTemplateInput(node["template"]!.GetValue<string>(), Strings(node["values"]!), new TextTemplateOptions
        {
            Baselines = node["baselines"] is JsonArray b ? Strings(b) : null,
            Mask = node["mask"] is JsonArray m ? m.Select(x => x!.GetValue<int>()).ToList() : null,
        }),
        var other => throw new InvalidOperationException($"input.kind '{other}' is not TextTokenInput or TextTemplateInput"),
    };

    private static void Tokens(string what, IReadOnlyList<string> actual, JsonObject expected, List<string> failures)
    {
        var want = Strings(expected[what] ?? throw new InvalidOperationException($"expected.{what} is missing"));
        if (!actual.SequenceEqual(want, StringComparer.Ordinal))
        {
            failures.Add($"{what}: [{string.Join(", ", actual)}], expected [{string.Join(", ", want)}]");
        }
    }

    private static TokenReference Token(JsonNode? node) => node?.GetValueKind() switch
    {
        JsonValueKind.String => node.GetValue<string>(),
        JsonValueKind.Number => node.GetValue<long>(),
        _ => throw new InvalidOperationException($"a token is neither an id nor a string: {node?.ToJsonString() ?? "null"}"),
    };

    private static List<string> Strings(JsonNode node) => node.AsArray().Select(x => x!.GetValue<string>()).ToList();

    private static JsonObject Object(JsonObject root, string key) =>
        root[key] as JsonObject ?? throw new InvalidOperationException($"'{key}' is missing or not an object");
}
