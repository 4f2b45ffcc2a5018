using System.Text.Json;
using System.Text.Json.Nodes;
using Captum.Checkpoints;

namespace Captum.Plugins.TextGeneration.Model;

/// <summary>Loads a Hugging Face GPT-2 folder without Python: <c>config.json</c> with <c>model.safetensors</c> or <c>pytorch_model.bin</c>.</summary>
public static class Gpt2Checkpoint
{
    /// <summary>
    /// Builds the model a folder holds: its shape from <c>config.json</c>, its weights from <c>model.safetensors</c>
    /// (preferred) or <c>pytorch_model.bin</c>, with or without the <c>transformer.</c> prefix, the attention-mask
    /// buffers old checkpoints carry ignored. The model is in evaluation mode.
    /// </summary>
    /// <remarks>
    /// Only what this model computes is loaded: a config or weights that would make Hugging Face compute otherwise (an
    /// untied <c>lm_head</c>, attention scaled otherwise, cross-attention, another activation) are refused, not loaded
    /// silently wrong; see <see cref="ReadConfig"/>.
    /// </remarks>
    /// <param name="folder">The folder.</param>
    /// <exception cref="ArgumentException">The folder, its config or its weights do not make a GPT-2 this model computes: a missing or unreadable file, another architecture or variant, a missing, unexpected, misshaped or integer-typed key, an <c>lm_head.weight</c> other than the token embedding; the message names checkpoint.</exception>
    public static Gpt2LMHeadModel Load(string folder)
    {
        ArgumentException.ThrowIfNullOrEmpty(folder);
        if (!Directory.Exists(folder))
        {
            throw new ArgumentException($"checkpoint: folder not found: {folder}", "checkpoint");
        }

        var config = ReadConfig(Path.Combine(folder, "config.json"));
        using var scope = torch.NewDisposeScope();
        var state = ReadWeights(folder);
        RequireTiedHead(state, folder);
        var weights = Gpt2LMHeadModel.FromHuggingFaceNames(state);

        // Errors name a weight as the file spells it (a bare GPT2Model's without the model's transformer. prefix).
        string InFile(string name) => Gpt2LMHeadModel.HuggingFaceName(name, state);
        if (weights.FirstOrDefault(kv => !torch.is_floating_point(kv.Value)) is { Key: { } key, Value: { } integer })
        {
            throw new ArgumentException($"checkpoint: {folder}'s {InFile(key)} is {integer.dtype}; GPT-2's weights must be floating-point (Float32, Float16, BFloat16 or Float64).", "checkpoint");
        }

        var model = new Gpt2LMHeadModel(config);
        try
        {
            TorchCheckpoint.LoadStateDict(model, weights);
        }
        catch (StateDictMismatchException ex)
        {
            // A missing, unexpected or misshaped weight.
            model.Dispose();
            var inFile = new StateDictMismatchException(
                ex.MissingKeys.Select(InFile).ToList(),
                ex.UnexpectedKeys.Select(InFile).ToList(),
                ex.ShapeMismatches.Select(m => m with { Key = InFile(m.Key) }).ToList());
            throw new ArgumentException($"checkpoint: {folder}'s weights do not fit its config: {ErrorMessages.OneLine(inFile)}", "checkpoint", ex);
        }
        catch (NonFiniteStateException ex)
        {
            // A weight that is NaN or infinite: the keys LoadStateDict refused.
            model.Dispose();
            var refused = ex.RefusedKeys.Select(InFile).ToList();
            throw new ArgumentException(
                $"checkpoint: {folder}'s {string.Join(", ", refused)} hold{(refused.Count == 1 ? "s" : string.Empty)} NaN or infinite values; the checkpoint is damaged or its training diverged.",
                "checkpoint",
                ex);
        }
        catch (ArgumentException ex)
        {
            model.Dispose();
            throw new ArgumentException($"checkpoint: {folder}'s weights do not fit its config: {ErrorMessages.OneLine(ex)}", "checkpoint", ex);
        }

        model.eval();
        return model;
    }

    /// <summary>The state dict of <c>model.safetensors</c> (preferred) or <c>pytorch_model.bin</c>.</summary>
    /// <exception cref="ArgumentException">Neither is there, or it cannot be read, or is not a state dict; the message names checkpoint and the file.</exception>
    private static IReadOnlyDictionary<string, Tensor> ReadWeights(string folder)
    {
        var safetensors = Path.Combine(folder, "model.safetensors");
        var bin = Path.Combine(folder, "pytorch_model.bin");
        if (File.Exists(safetensors))
        {
            try
            {
                return SafeTensors.Load(safetensors).Tensors;
            }
            catch (CheckpointFormatException ex)
            {
                throw new ArgumentException($"checkpoint: {safetensors} is not a readable safetensors file ({ex.Reason}).", "checkpoint", ex);
            }
        }

        if (!File.Exists(bin))
        {
            throw new ArgumentException($"checkpoint: {folder} has neither model.safetensors nor pytorch_model.bin.", "checkpoint");
        }

        try
        {
            return TorchCheckpoint.StateDict(TorchCheckpoint.Load(bin));
        }
        catch (CheckpointFormatException ex)
        {
            throw new ArgumentException($"checkpoint: {bin} is not a readable PyTorch checkpoint ({ex.Reason}).", "checkpoint", ex);
        }
        catch (ArgumentException ex)
        {
            throw new ArgumentException($"checkpoint: {bin} is not a GPT-2's state dict: {ErrorMessages.OneLine(ex)}", "checkpoint", ex);
        }
    }

    /// <summary>
    /// Reads a Hugging Face GPT-2 <c>config.json</c>: <c>vocab_size</c>, <c>n_positions</c>, <c>n_embd</c>,
    /// <c>n_head</c>, <c>n_layer</c>, <c>n_inner</c> and <c>layer_norm_epsilon</c>. Fields that only matter in
    /// training (dropout, initialisation) or to other heads are ignored; fields that change the computation from
    /// GPT-2's, which this model does not implement, are refused: <c>tie_word_embeddings</c> false,
    /// <c>scale_attn_weights</c> false, <c>scale_attn_by_inverse_layer_idx</c> or <c>add_cross_attention</c> true, an
    /// <c>activation_function</c> other than <c>gelu_new</c>.
    /// </summary>
    /// <exception cref="ArgumentException">It is missing, not JSON, not a GPT-2's, or a variant this model does not compute; the message names checkpoint and the field.</exception>
    public static Gpt2Config ReadConfig(string path)
    {
        if (!File.Exists(path))
        {
            throw new ArgumentException($"checkpoint: {path} not found; a Hugging Face model folder has a config.json.", "checkpoint");
        }

        try
        {
            using var document = JsonDocument.Parse(File.ReadAllText(path));
            var root = document.RootElement;
            var type = root.TryGetProperty("model_type", out var t) ? t.GetString() : null;
            if (type != "gpt2")
            {
                throw new ArgumentException($"checkpoint: {path} describes a {type ?? "model without model_type"}, not a GPT-2.", "checkpoint");
            }

            if (root.TryGetProperty("activation_function", out var activation) && activation.GetString() is not ("gelu_new" or null))
            {
                throw new ArgumentException($"checkpoint: {path} uses the activation {activation.GetString()}; only gelu_new (GPT-2's) is supported.", "checkpoint");
            }

            RequireFlag(root, path, "tie_word_embeddings", supported: true, "the output head has weights of its own (an untied lm_head), and this model ties it to the token embedding");
            RequireFlag(root, path, "scale_attn_weights", supported: true, "attention scores are not scaled by 1/sqrt(head width), as this model scales them");
            RequireFlag(root, path, "scale_attn_by_inverse_layer_idx", supported: false, "attention scores are also scaled by 1/(layer + 1), which this model does not do");
            RequireFlag(root, path, "add_cross_attention", supported: false, "the blocks attend to an encoder too (cross-attention), which this model does not have");

            long Size(string name) => root.TryGetProperty(name, out var size)
                ? size.ValueKind == JsonValueKind.Number && size.TryGetInt64(out var value)
                    ? value
                    : throw new ArgumentException($"checkpoint: {path}'s {name} must be a whole number, not {size.GetRawText()}.", "checkpoint")
                : throw new ArgumentException($"checkpoint: {path} has no {name}; a GPT-2 config gives vocab_size, n_positions, n_embd, n_head and n_layer.", "checkpoint");
            var inner = root.TryGetProperty("n_inner", out var n) && n.ValueKind != JsonValueKind.Null ? Size("n_inner") : (long?)null;
            var epsilon = root.TryGetProperty("layer_norm_epsilon", out var e) ? e.GetDouble() : 1e-5;
            var config = new Gpt2Config(Size("vocab_size"), Size("n_positions"), Size("n_embd"), Size("n_head"), Size("n_layer"), epsilon, inner);
            try
            {
                config.Validate();
            }
            catch (ArgumentException ex)
            {
                throw new ArgumentException($"checkpoint: {path}: {ErrorMessages.Bare(ex)}", "checkpoint", ex);
            }

            return config;
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException or FormatException)
        {
            throw new ArgumentException($"checkpoint: {path} is not a GPT-2 config ({ex.Message})", "checkpoint", ex);
        }
    }

    /// <summary>The end-of-sequence token of a folder's <c>config.json</c> (<c>eos_token_id</c>), or null when it has none.</summary>
    /// <param name="folder">The checkpoint folder.</param>
    /// <exception cref="ArgumentException">config.json is missing or not JSON, or eos_token_id is not one whole number; the message names checkpoint.</exception>
    public static long? ReadEndOfSequence(string folder)
    {
        ArgumentException.ThrowIfNullOrEmpty(folder);
        var path = Path.Combine(folder, "config.json");
        if (!File.Exists(path))
        {
            throw new ArgumentException($"checkpoint: {path} not found; a Hugging Face model folder has a config.json.", "checkpoint");
        }

        try
        {
            using var document = JsonDocument.Parse(File.ReadAllText(path));
            if (!document.RootElement.TryGetProperty("eos_token_id", out var eos) || eos.ValueKind == JsonValueKind.Null)
            {
                return null;
            }

            // Hugging Face also allows a list (generation stops at any of them); one is what generation here takes.
            var single = eos.ValueKind == JsonValueKind.Array && eos.GetArrayLength() == 1 ? eos[0] : eos;
            return single.ValueKind == JsonValueKind.Number && single.TryGetInt64(out var id)
                ? id
                : throw new ArgumentException($"checkpoint: {path}'s eos_token_id must be one token id, not {eos.GetRawText()}.", "checkpoint");
        }
        catch (JsonException ex)
        {
            throw new ArgumentException($"checkpoint: {path} is not JSON ({ex.Message})", "checkpoint", ex);
        }
    }

    /// <summary>Refuses a config whose boolean <paramref name="field"/>, when present, is not <paramref name="supported"/>.</summary>
    private static void RequireFlag(JsonElement root, string path, string field, bool supported, string consequence)
    {
        if (root.TryGetProperty(field, out var value) && value.ValueKind is JsonValueKind.True or JsonValueKind.False && value.GetBoolean() != supported)
        {
            throw new ArgumentException($"checkpoint: {path} sets {field} to {(supported ? "false" : "true")}: {consequence}; such a model is not supported.", "checkpoint");
        }
    }

    /// <summary>Refuses weights whose <c>lm_head.weight</c> differs from the token embedding (an untied head the config does not declare).</summary>
    private static void RequireTiedHead(IReadOnlyDictionary<string, Tensor> state, string folder)
    {
        if (!state.TryGetValue("lm_head.weight", out var head))
        {
            return;
        }

        var name = Gpt2LMHeadModel.HuggingFaceName("transformer.wte.weight", state);
        var embedding = state.GetValueOrDefault(name);
        if (embedding is null || !head.shape.SequenceEqual(embedding.shape) || !head.to_type(embedding.dtype).eq(embedding).all().item<bool>())
        {
            throw new ArgumentException($"checkpoint: {folder}'s lm_head.weight is not the token embedding ({name}): an untied output head, which this model (its head tied to the embedding) does not support.", "checkpoint");
        }
    }

    /// <summary>
    /// Writes <paramref name="model"/> as a Hugging Face GPT-2 folder that <see cref="Load"/> (and Hugging Face's
    /// <c>GPT2LMHeadModel.from_pretrained</c>) reads: <c>config.json</c> and <c>model.safetensors</c> (the model's own
    /// names, <c>transformer.*</c>; the tied head is not stored twice). Other files in the folder are left alone.
    /// </summary>
    /// <param name="model">The model.</param>
    /// <param name="folder">The folder, created when missing.</param>
    /// <param name="tokenIds">Special token ids written into the config (e.g. <c>eos_token_id</c>), or null.</param>
    /// <param name="metadata">Text metadata stored in the safetensors header besides <c>format</c> = <c>pt</c> (which Hugging Face requires), or null.</param>
    public static void Save(Gpt2LMHeadModel model, string folder, IReadOnlyDictionary<string, long>? tokenIds = null, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentException.ThrowIfNullOrEmpty(folder);
        Directory.CreateDirectory(folder);
        var c = model.Config;
        var config = new JsonObject
        {
            ["architectures"] = new JsonArray("GPT2LMHeadModel"),
            ["model_type"] = "gpt2",
            ["activation_function"] = "gelu_new",
            ["vocab_size"] = c.VocabSize,
            ["n_positions"] = c.Positions,
            ["n_ctx"] = c.Positions,
            ["n_embd"] = c.Width,
            ["n_head"] = c.Heads,
            ["n_layer"] = c.Layers,
            ["n_inner"] = c.InnerWidth,
            ["layer_norm_epsilon"] = c.LayerNormEpsilon,
            ["tie_word_embeddings"] = true,
        };
        foreach (var (name, id) in tokenIds ?? new Dictionary<string, long>())
        {
            config[name] = id;
        }

        File.WriteAllText(Path.Combine(folder, "config.json"), config.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
        using var scope = torch.NewDisposeScope();
        var state = model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.detach(), StringComparer.Ordinal);
        var header = new Dictionary<string, string>(metadata ?? new Dictionary<string, string>(), StringComparer.Ordinal) { ["format"] = "pt" };
        SafeTensors.Save(state, Path.Combine(folder, "model.safetensors"), header);
    }
}
