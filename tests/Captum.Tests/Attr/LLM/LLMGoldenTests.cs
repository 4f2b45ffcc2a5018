using System.Text.Json.Nodes;
using Captum.Attr;
using Captum.Golden;
using Captum.Plugins.TextGeneration.Model;
using Captum.TestData;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Captum.Tests.Attr.LLM;

/// <summary>
/// Captum 0.8.0's LLMAttribution and LLMGradientAttribution answers (../shared/golden/captum-0.8.0-modules, methods
/// "LLMAttribution.X" and "LLMGradientAttribution.X", on a GPT-2 with Hugging Face's names and the "words"
/// tokenizer), replayed. The files are discovered, not listed.
/// </summary>
public sealed class LLMGoldenTests
{
    public static TheoryData<string> Cases() => new(CaseFiles());

    private static List<string> CaseFiles() =>
        Directory.GetFiles(Folder(), "*.json")
            .Order(StringComparer.Ordinal)
            .Where(f => JsonNode.Parse(File.ReadAllText(f))?["method"]?.GetValue<string>()?.StartsWith("LLM", StringComparison.Ordinal) == true)
            .Select(f => Path.GetFileName(f)!)
            .ToList();

    [Fact]
    public void Cases_IncludeEveryKindOfInputAndMethod()
    {
        var methods = CaseFiles().Select(f => JsonNode.Parse(File.ReadAllText(Path.Combine(Folder(), f)))!["method"]!.GetValue<string>()).ToList();

        Assert.Contains("LLMAttribution.FeatureAblation", methods);
        Assert.Contains("LLMAttribution.ShapleyValues", methods);
        Assert.Contains("LLMGradientAttribution.LayerIntegratedGradients", methods);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void LLMAttribution_GoldenCase_MatchesCaptum(string file)
    {
        using var scope = torch.NewDisposeScope();
        var root = JsonNode.Parse(File.ReadAllText(Path.Combine(Folder(), file)))!.AsObject();
        var model = Model(root["model"]!.AsObject());
        var tokenizerNode = root["tokenizer"]!.AsObject();
        var tokenizer = new WordTokenizer(tokenizerNode["vocab"]!.AsArray().Select(v => v!.GetValue<string>()).ToList(), tokenizerNode["bos"]!.GetValue<string>(), tokenizerNode["unk"]!.GetValue<string>());
        var input = root["input"]!.AsObject();
        var call = root["attribute"]!.AsObject();
        var expected = root["expected"]!.AsObject();
        LLMTarget? target = call["target"] is JsonValue t ? (LLMTarget)t.GetValue<string>()! : (LLMTarget?)null;
        var skip = call["skip_tokens"] is JsonArray s ? s.Select(Token).ToList() : null;
        var maxNew = call["gen_args"]?["max_new_tokens"]?.GetValue<int>() ?? 25;
        var method = root["method"]!.GetValue<string>();

        LLMAttributionResult result;
        if (method == "LLMGradientAttribution.LayerIntegratedGradients")
        {
            var constructor = root["constructor"]!.AsObject();
            var lig = LLMGradientAttribution.LayerIntegratedGradients(model, tokenizer, constructor["layer"]!.GetValue<string>(), constructor["multiply_by_inputs"]!.GetValue<bool>());
            result = lig.Attribute(
                (TextTokenInput)Input(input, tokenizer),
                target,
                new LLMAttributionOptions<LayerIntegratedGradientsOptions> { SkipTokens = skip, MaxNewTokens = maxNew, Method = new LayerIntegratedGradientsOptions { Steps = call["n_steps"]!.GetValue<int>() } });
        }
        else
        {
            var attrTarget = root["constructor"]!["attr_target"]!.GetValue<string>() == "prob" ? LLMAttributionTarget.Probability : LLMAttributionTarget.LogProbability;
            var interpretable = Input(input, tokenizer);
            result = method switch
            {
                "LLMAttribution.FeatureAblation" => LLMAttribution.FeatureAblation(model, tokenizer, attrTarget)
                    .Attribute(interpretable, target, new LLMAttributionOptions<FeatureAblationOptions> { SkipTokens = skip, MaxNewTokens = maxNew }),
                "LLMAttribution.ShapleyValues" => LLMAttribution.ShapleyValues(model, tokenizer, attrTarget)
                    .Attribute(interpretable, target, new LLMAttributionOptions<ShapleyValuesOptions> { SkipTokens = skip, MaxNewTokens = maxNew }),
                _ => throw new InvalidOperationException($"no replay for {method}"),
            };
        }

        using (result)
        {
            Assert.Equal(Strings(expected["input_tokens"]!), result.InputTokens);
            Assert.Equal(Strings(expected["output_tokens"]!), result.OutputTokens);
            TensorAssert.AllClose(result.SequenceAttribution, GoldenCase.ReadTensor(expected["seq_attr"]!), 1e-4, 1e-3);
            if (expected["token_attr"] is JsonObject tokens)
            {
                Assert.NotNull(result.TokenAttribution);
                TensorAssert.AllClose(result.TokenAttribution!, GoldenCase.ReadTensor(tokens), 1e-4, 1e-3);
            }
            else
            {
                Assert.Null(result.TokenAttribution);
            }
        }
    }

    /// <summary>The GPT-2 of a case: its config and parameters under Hugging Face's names.</summary>
    internal static Gpt2LMHeadModel Model(JsonObject node)
    {
        var c = node["config"]!.AsObject();
        var model = new Gpt2LMHeadModel(new Gpt2Config(
            c["vocab_size"]!.GetValue<long>(), c["n_positions"]!.GetValue<long>(), c["n_embd"]!.GetValue<long>(),
            c["n_head"]!.GetValue<long>(), c["n_layer"]!.GetValue<long>(), c["layer_norm_epsilon"]!.GetValue<double>()));
        var state = node["parameters"]!.AsObject().ToDictionary(p => p.Key, p => GoldenCase.ReadTensor(p.Value!));
        Captum.Checkpoints.TorchCheckpoint.LoadStateDict(model, Gpt2LMHeadModel.FromHuggingFaceNames(state));
        model.eval();
        return model;
    }

    private static IInterpretableInput Input(JsonObject node, ITextTokenizer tokenizer)
    {
        if (node["kind"]!.GetValue<string>() == "TextTokenInput")
        {
            return new TextTokenInput(
                node["text"]!.GetValue<string>(),
                tokenizer,
                Token(node["baselines"]),
                node["skip_tokens"] is JsonArray s ? s.Select(Token).ToList() : null);
        }

        var options = new TextTemplateOptions
        {
            Baselines = node["baselines"] is JsonArray b ? Strings(b) : null,
            Mask = node["mask"] is JsonArray m ? m.Select(x => x!.GetValue<int>()).ToList() : null,
        };
        return new TextTemplateInput(node["template"]!.GetValue<string>(), Strings(node["values"]!), options);
    }

    private static TokenReference Token(JsonNode? node) =>
        node!.GetValueKind() == System.Text.Json.JsonValueKind.String ? node.GetValue<string>() : node.GetValue<long>();

    private static List<string> Strings(JsonNode node) => node.AsArray().Select(x => x!.GetValue<string>()).ToList();

    private static string Folder() => SharedData.Locate(Path.Combine("golden", "captum-0.8.0-modules"), "CAPTUM_GOLDEN_MODULES_DIR");
}
