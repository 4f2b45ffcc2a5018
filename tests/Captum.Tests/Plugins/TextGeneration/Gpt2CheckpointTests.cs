using System.Text.Json;
using Captum.Attr;
using Captum.Checkpoints;
using Captum.Plugins.TextGeneration;
using Captum.Plugins.TextGeneration.Model;
using Captum.TestData;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Captum.Tests.Plugins.TextGeneration;

/// <summary>
/// A real Hugging Face GPT-2 folder (../shared/checkpoints/gpt2-tiny: GPT-2's vocabulary, tiny width) in both layouts,
/// against PyTorch's logits and greedy tokens and Captum 0.8.0's attributions in its expected.json, with prompts
/// tokenized by Microsoft.ML.Tokenizers' GPT-2 tokenizer.
/// </summary>
public sealed class Gpt2CheckpointTests
{
    private static string Folder() => SharedData.Locate(Path.Combine("checkpoints", "gpt2-tiny"), "CAPTUM_GPT2_TINY_DIR");

    private static JsonElement Expected() => JsonDocument.Parse(File.ReadAllText(Path.Combine(Folder(), "expected.json"))).RootElement;

    private static long[] Longs(JsonElement e) => e.EnumerateArray().Select(x => x.GetInt64()).ToArray();

    private static float[] Floats(JsonElement e) => e.EnumerateArray().Select(x => x.GetSingle()).ToArray();

    private static string CopyWithOnly(string file)
    {
        var copy = Directory.CreateTempSubdirectory("gpt2-tiny-").FullName;
        File.Copy(Path.Combine(Folder(), "config.json"), Path.Combine(copy, "config.json"));
        File.Copy(Path.Combine(Folder(), file), Path.Combine(copy, file));
        return copy;
    }

    [Fact]
    public void Gpt2Tokenizer_Prompt_GivesTheIdsPyTorchWasGiven()
    {
        var expected = Expected();
        var tokenizer = new Gpt2Tokenizer();

        Assert.Equal(Longs(expected.GetProperty("promptIds")), tokenizer.Encode(expected.GetProperty("prompt").GetString()!));
        Assert.Equal(Longs(expected.GetProperty("targetIds")), tokenizer.Encode(expected.GetProperty("target").GetString()!));
    }

    [Theory]
    [InlineData("model.safetensors")]
    [InlineData("pytorch_model.bin")]
    public void Load_EitherLayout_GivesPyTorchsLogitsAndGreedyTokens(string weights)
    {
        using var scope = torch.NewDisposeScope();
        var expected = Expected();
        var folder = CopyWithOnly(weights);
        try
        {
            using var model = Gpt2Checkpoint.Load(folder);
            using var noGrad = torch.no_grad();
            var prompt = torch.tensor(Longs(expected.GetProperty("promptIds"))).unsqueeze(0);
            var last = model.Logits(prompt)[0, -1];

            TensorAssert.AllClose(last.narrow(0, 0, 32), torch.tensor(Floats(expected.GetProperty("lastLogitsFirst32"))), 1e-4, 1e-4);
            Assert.Equal(expected.GetProperty("lastLogSumExp").GetDouble(), last.logsumexp(0).item<float>(), 3);
            Assert.Equal(Longs(expected.GetProperty("lastLogitsTop5")), last.topk(5).indexes.data<long>().ToArray());
            Assert.Equal(Longs(expected.GetProperty("greedy4")), LLMGeneration.Greedy(model, prompt, 4));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public void LLMAttribution_RealCheckpoint_MatchesCaptumsFeatureAblationAndLayerIntegratedGradients()
    {
        using var scope = torch.NewDisposeScope();
        var expected = Expected();
        using var model = Gpt2Checkpoint.Load(Folder());
        var tokenizer = new Gpt2Tokenizer();
        var input = new TextTokenInput(expected.GetProperty("prompt").GetString()!, tokenizer, baselines: 0);
        LLMTarget target = Longs(expected.GetProperty("targetIds"));

        using var ablation = LLMAttribution.FeatureAblation(model, tokenizer).Attribute(input, target);
        using var lig = LLMGradientAttribution.LayerIntegratedGradients(model, tokenizer, "transformer.wte")
            .Attribute(input, target, new LLMAttributionOptions<LayerIntegratedGradientsOptions> { Method = new() { Steps = 20 } });

        foreach (var (result, name) in new[] { (ablation, "featureAblation"), (lig, "layerIntegratedGradients") })
        {
            var e = expected.GetProperty(name);
            TensorAssert.AllClose(result.SequenceAttribution, torch.tensor(Floats(e.GetProperty("seqAttr"))), 1e-4, 1e-3);
            var rows = e.GetProperty("tokenAttr").EnumerateArray().Select(Floats).ToArray();
            TensorAssert.AllClose(result.TokenAttribution!, torch.tensor(rows.SelectMany(r => r).ToArray()).reshape(rows.Length, -1), 1e-4, 1e-3);
            Assert.Equal(e.GetProperty("inputTokens").EnumerateArray().Select(t => t.GetString()!), input.Tokens);
            Assert.Equal(e.GetProperty("outputTokens").EnumerateArray().Select(t => t.GetString()!.Trim()), result.OutputTokens);
        }
    }

    [Theory]
    [InlineData("tie_word_embeddings", false)]
    [InlineData("scale_attn_weights", false)]
    [InlineData("scale_attn_by_inverse_layer_idx", true)]
    [InlineData("add_cross_attention", true)]
    public void Load_ConfigOfAVariantTheModelDoesNotCompute_NamesCheckpointAndTheField(string field, bool value)
    {
        using var folder = new TempFolder();
        var config = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(Folder(), "config.json")))!;
        config[field] = value;
        File.WriteAllText(Path.Combine(folder.Path, "config.json"), config.ToJsonString());
        File.Copy(Path.Combine(Folder(), "model.safetensors"), Path.Combine(folder.Path, "model.safetensors"));

        var error = Assert.Throws<ArgumentException>(() => Gpt2Checkpoint.Load(folder.Path));

        Assert.Equal("checkpoint", error.ParamName);
        Assert.Contains($"sets {field} to {(value ? "true" : "false")}", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Load_WeightsWithAnLmHead_LoadsItOnlyWhenItIsTheTokenEmbedding(bool untied)
    {
        using var scope = torch.NewDisposeScope();
        using var folder = new TempFolder();
        using (var model = Gpt2Checkpoint.Load(Folder()))
        {
            Gpt2Checkpoint.Save(model, folder.Path);
        }

        // The folder's weights again, with an lm_head.weight: the embedding's own values, or the embedding plus 0.5.
        var path = Path.Combine(folder.Path, "model.safetensors");
        Dictionary<string, Tensor> state;
        using (var file = SafeTensors.Load(path))
        {
            state = file.Tensors.ToDictionary(kv => kv.Key, kv => kv.Value.clone(), StringComparer.Ordinal);
        }

        state["lm_head.weight"] = untied ? state["transformer.wte.weight"] + 0.5 : state["transformer.wte.weight"].clone();
        SafeTensors.Save(state, path);

        if (untied)
        {
            var error = Assert.Throws<ArgumentException>(() => Gpt2Checkpoint.Load(folder.Path));
            Assert.Equal("checkpoint", error.ParamName);
            Assert.Contains("lm_head.weight is not the token embedding", error.Message, StringComparison.Ordinal);
        }
        else
        {
            using var loaded = Gpt2Checkpoint.Load(folder.Path);
            Assert.Equal(50257, loaded.Config.VocabSize);
        }
    }

    /// <summary>
    /// A folder with gpt2-tiny's config and its model.safetensors (a bare GPT2Model's names, as on the hub) or, when
    /// <paramref name="prefixed"/>, the same weights named <c>transformer.*</c>, changed by <paramref name="edit"/>.
    /// </summary>
    private static TempFolder EditedCopy(bool prefixed, Action<Dictionary<string, Tensor>> edit)
    {
        var folder = new TempFolder();
        File.Copy(Path.Combine(Folder(), "config.json"), Path.Combine(folder.Path, "config.json"));
        using var scope = torch.NewDisposeScope();
        Dictionary<string, Tensor> state;
        using (var file = SafeTensors.Load(Path.Combine(Folder(), "model.safetensors")))
        {
            state = file.Tensors.ToDictionary(kv => (prefixed ? "transformer." : string.Empty) + kv.Key, kv => kv.Value.clone(), StringComparer.Ordinal);
        }

        edit(state);
        SafeTensors.Save(state, Path.Combine(folder.Path, "model.safetensors"));
        return folder;
    }

    [Theory]
    [InlineData(false, "h.1.ln_2.weight")]
    [InlineData(true, "transformer.h.1.ln_2.weight")]
    public void Load_WeightsWithoutAKey_NamesCheckpointAndTheKeyAsTheFileSpellsIt(bool prefixed, string key)
    {
        using var folder = EditedCopy(prefixed, state => state.Remove(key));

        var error = Assert.Throws<ArgumentException>(() => Gpt2Checkpoint.Load(folder.Path));

        Assert.Equal("checkpoint", error.ParamName);
        Assert.Contains($"Missing keys (1): {key}.", error.Message, StringComparison.Ordinal);
        Assert.Equal(prefixed ? 1 : 0, CountOf("transformer.", error.Message));
    }

    [Theory]
    [InlineData(false, "wpe.weight")]
    [InlineData(true, "transformer.wpe.weight")]
    public void Load_WeightOfAnotherShape_NamesCheckpointTheKeyAsTheFileSpellsItAndBothShapes(bool prefixed, string key)
    {
        using var folder = EditedCopy(prefixed, state => state[key] = state[key].narrow(0, 0, 63).clone());

        var error = Assert.Throws<ArgumentException>(() => Gpt2Checkpoint.Load(folder.Path));

        Assert.Equal("checkpoint", error.ParamName);
        Assert.Contains($"Shape mismatches (1): {key}: checkpoint [63, 16], module [64, 16].", error.Message, StringComparison.Ordinal);
        Assert.Equal(prefixed ? 1 : 0, CountOf("transformer.", error.Message));
    }

    [Fact]
    public void Load_BareWeightsWithAnIntegerWeight_NamesTheKeyAsTheFileSpellsIt()
    {
        using var folder = EditedCopy(prefixed: false, state => state["ln_f.bias"] = state["ln_f.bias"].to_type(ScalarType.Int32));

        var error = Assert.Throws<ArgumentException>(() => Gpt2Checkpoint.Load(folder.Path));

        Assert.Equal("checkpoint", error.ParamName);
        Assert.Contains("'s ln_f.bias is Int32;", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_BareWeightsWithANaN_NamesTheKeyAsTheFileSpellsIt()
    {
        using var folder = EditedCopy(prefixed: false, state => state["h.0.mlp.c_fc.bias"][3].fill_(float.NaN));

        var error = Assert.Throws<ArgumentException>(() => Gpt2Checkpoint.Load(folder.Path));

        Assert.Equal("checkpoint", error.ParamName);
        Assert.Contains("'s h.0.mlp.c_fc.bias holds NaN or infinite values;", error.Message, StringComparison.Ordinal);
    }

    private static int CountOf(string part, string text) => (text.Length - text.Replace(part, string.Empty, StringComparison.Ordinal).Length) / part.Length;

    [Theory]
    [InlineData("50256", 50256L)]
    [InlineData("[7]", 7L)]
    [InlineData("null", null)]
    public void ReadEndOfSequence_OneId_IsThatId(string json, long? expected)
    {
        using var folder = new TempFolder();
        File.WriteAllText(Path.Combine(folder.Path, "config.json"), $"{{\"model_type\": \"gpt2\", \"eos_token_id\": {json}}}");

        Assert.Equal(expected, Gpt2Checkpoint.ReadEndOfSequence(folder.Path));
    }

    [Fact]
    public void ReadEndOfSequence_SeveralIds_NamesCheckpoint()
    {
        using var folder = new TempFolder();
        File.WriteAllText(Path.Combine(folder.Path, "config.json"), "{\"model_type\": \"gpt2\", \"eos_token_id\": [7, 8]}");

        var error = Assert.Throws<ArgumentException>(() => Gpt2Checkpoint.ReadEndOfSequence(folder.Path));

        Assert.Equal("checkpoint", error.ParamName);
        Assert.Contains("[7, 8]", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_ConfigOfAnotherArchitecture_NamesCheckpoint()
    {
        var folder = Directory.CreateTempSubdirectory("gpt2-other-").FullName;
        try
        {
            File.WriteAllText(Path.Combine(folder, "config.json"), "{\"model_type\": \"llama\", \"vocab_size\": 10}");

            var error = Assert.Throws<ArgumentException>(() => Gpt2Checkpoint.Load(folder));

            Assert.Equal("checkpoint", error.ParamName);
            Assert.Contains("llama", error.Message, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
