using Captum.Attr;
using TorchSharp.Modules;

namespace Captum.Plugins.TextGeneration.Model;

/// <summary>
/// GPT-2 with its language-model head, as Hugging Face's <c>GPT2LMHeadModel</c> computes it and with its state-dict
/// names: learned positions, pre-LayerNorm blocks of causal self-attention and an MLP with GELU (tanh approximation),
/// Conv1D weights stored (in, out), the head tied to the token embedding.
/// </summary>
/// <remarks>
/// Modules: <c>transformer.wte</c> (token embedding, the layer LLM gradient attribution uses), <c>transformer.wpe</c>,
/// <c>transformer.h.N.{ln_1, attn.c_attn, attn.c_proj, ln_2, mlp.c_fc, mlp.c_proj}</c>, <c>transformer.ln_f</c>. The
/// head has no weight of its own (<c>lm_head.weight</c> is <c>transformer.wte.weight</c>). No dropout: the model is for
/// inference and attribution. The key-value cache (<see cref="Logits(Tensor, KeyValueCache?, out KeyValueCache)"/>) is
/// Hugging Face's <c>past_key_values</c>: per layer, keys and values [batch, heads, tokens, head width].
/// </remarks>
public sealed class Gpt2LMHeadModel : nn.Module<Tensor, Tensor>, ICachingCausalLanguageModel
{
    private readonly Gpt2Transformer transformer;

    /// <summary>Creates the model with freshly initialised weights (load real ones with a state dict).</summary>
    /// <exception cref="ArgumentException">The config is invalid; the message says why.</exception>
    public Gpt2LMHeadModel(Gpt2Config config)
        : base(nameof(Gpt2LMHeadModel))
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        Config = config;
        transformer = new Gpt2Transformer(config);
        RegisterComponents();
    }

    /// <summary>The model's shape.</summary>
    public Gpt2Config Config { get; }

    /// <inheritdoc />
    nn.Module ICausalLanguageModel.Module => this;

    /// <inheritdoc />
    public int MaxPositions => (int)Config.Positions;

    /// <inheritdoc />
    long? ICausalLanguageModel.VocabularySize => Config.VocabSize;

    /// <summary>The token embedding, whose weight is also the head's.</summary>
    public Embedding TokenEmbedding => transformer.Wte;

    /// <summary>The logits, [batch, tokens, vocabulary], of token ids [batch, tokens].</summary>
    /// <exception cref="ArgumentException">The ids are not [batch, tokens] integers, or more tokens than positions; the message names them.</exception>
    public override Tensor forward(Tensor inputIds)
    {
        RequireIds(inputIds, 0);

        // No dispose scope of its own: hooks (layer attribution) keep intermediate values past the call; they belong to the caller's scope.
        var hidden = transformer.call(inputIds);
        return nn.functional.linear(hidden, transformer.Wte.weight!);
    }

    /// <inheritdoc />
    public Tensor Logits(Tensor inputIds) => call(inputIds);

    /// <inheritdoc />
    /// <remarks>Python: <c>GPT2LMHeadModel(input_ids, past_key_values=past, use_cache=True)</c>, its <c>logits</c> and
    /// <c>past_key_values</c>. The embeddings and layer norms are called as modules (their hooks fire); the blocks are
    /// not, since a module's call takes one argument.</remarks>
    public Tensor Logits(Tensor inputIds, KeyValueCache? past, out KeyValueCache present)
    {
        RequireIds(inputIds, past?.Length ?? 0);
        if (past is not null)
        {
            if (past.Layers.Count != Config.Layers)
            {
                throw new ArgumentException($"past holds {past.Layers.Count} layers; the model has {Config.Layers}.", nameof(past));
            }

            if (past.BatchSize != 1 && past.BatchSize != inputIds.shape[0])
            {
                throw new ArgumentException($"past holds {past.BatchSize} sequences for {inputIds.shape[0]} rows of inputIds; give 1 or as many.", nameof(past));
            }
        }

        var presents = new List<(Tensor Key, Tensor Value)>();
        var hidden = transformer.Forward(inputIds, past, presents);
        present = new KeyValueCache(presents);
        return nn.functional.linear(hidden, transformer.Wte.weight!);
    }

    private void RequireIds(Tensor inputIds, long cached)
    {
        ArgumentNullException.ThrowIfNull(inputIds);
        // Token embeddings [batch, tokens, width] come in when an interpretable embedding layer is configured on the
        // token embedding (Captum's configure_interpretable_embedding_layer): that layer passes them through.
        var embedded = inputIds.dim() == 3 && inputIds.is_floating_point() && inputIds.shape[2] == Config.Width;
        if (!embedded && (inputIds.dim() != 2 || inputIds.is_floating_point()))
        {
            throw new ArgumentException($"inputIds must be [batch, tokens] integer ids (or [batch, tokens, {Config.Width}] token embeddings through an interpretable embedding layer), not {inputIds.dtype} [{string.Join(", ", inputIds.shape)}].", nameof(inputIds));
        }

        if (embedded && !InterpretableEmbeddings.IsConfigured(transformer.Wte))
        {
            throw new ArgumentException(
                $"inputIds are token embeddings {inputIds.dtype} [{string.Join(", ", inputIds.shape)}], but no interpretable embedding layer is configured on transformer.wte to take them: give integer ids, or call InterpretableEmbeddings.ConfigureInterpretableEmbeddingLayer(model, \"transformer.wte\") first.",
                nameof(inputIds));
        }

        if (cached + inputIds.shape[1] > Config.Positions)
        {
            throw new ArgumentException(
                $"inputIds has {inputIds.shape[1]} tokens{(cached > 0 ? $" after {cached} cached ones" : string.Empty)}, more than the model's {Config.Positions} positions.",
                nameof(inputIds));
        }
    }

    /// <summary>
    /// Hugging Face's state-dict names for this model's own: <c>lm_head.weight</c> (the tied head) and the
    /// <c>attn.bias</c> / <c>attn.masked_bias</c> buffers older checkpoints carry are dropped; a checkpoint of the bare
    /// <c>GPT2Model</c> (names without <c>transformer.</c>) gets the prefix.
    /// </summary>
    public static Dictionary<string, Tensor> FromHuggingFaceNames(IReadOnlyDictionary<string, Tensor> state)
    {
        ArgumentNullException.ThrowIfNull(state);
        var bare = HasBareNames(state);
        var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var (name, tensor) in state)
        {
            if (name == "lm_head.weight" || name.EndsWith(".attn.bias", StringComparison.Ordinal) || name.EndsWith(".attn.masked_bias", StringComparison.Ordinal))
            {
                continue;
            }

            result[bare ? "transformer." + name : name] = tensor;
        }

        return result;
    }

    /// <summary>
    /// The name <paramref name="name"/> (one of this model's, <c>transformer.*</c>) has in <paramref name="state"/>, a
    /// Hugging Face state dict: without the <c>transformer.</c> prefix when its names have none (a bare <c>GPT2Model</c>'s).
    /// </summary>
    public static string HuggingFaceName(string name, IReadOnlyDictionary<string, Tensor> state)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(state);
        const string Prefix = "transformer.";
        return HasBareNames(state) && name.StartsWith(Prefix, StringComparison.Ordinal) ? name[Prefix.Length..] : name;
    }

    /// <summary>Whether a Hugging Face state dict is a bare <c>GPT2Model</c>'s: no name starts with <c>transformer.</c>.</summary>
    private static bool HasBareNames(IReadOnlyDictionary<string, Tensor> state) =>
        !state.Keys.Any(k => k.StartsWith("transformer.", StringComparison.Ordinal));

    private sealed class Gpt2Transformer : nn.Module<Tensor, Tensor>
    {
        private readonly Embedding wte;
        private readonly Embedding wpe;
        private readonly ModuleList<Gpt2Block> h;
        private readonly LayerNorm ln_f;

        public Gpt2Transformer(Gpt2Config config)
            : base("transformer")
        {
            wte = nn.Embedding(config.VocabSize, config.Width);
            wpe = nn.Embedding(config.Positions, config.Width);
            h = nn.ModuleList(Enumerable.Range(0, (int)config.Layers).Select(_ => new Gpt2Block(config)).ToArray());
            ln_f = nn.LayerNorm(config.Width, config.LayerNormEpsilon);
            RegisterComponents();
        }

        public Embedding Wte => wte;

        public override Tensor forward(Tensor ids) => Forward(ids, null, null);

        /// <summary>The hidden states; with <paramref name="presents"/>, the blocks run with the cache (positions after <paramref name="past"/>'s), each adding its keys and values.</summary>
        public Tensor Forward(Tensor ids, KeyValueCache? past, List<(Tensor Key, Tensor Value)>? presents)
        {
            var offset = past?.Length ?? 0;
            var positions = torch.arange(offset, offset + ids.shape[1], ScalarType.Int64, ids.device).unsqueeze(0);
            var x = wte.call(ids) + wpe.call(positions);
            for (var i = 0; i < h.Count; i++)
            {
                x = presents is null ? h[i].call(x) : h[i].Forward(x, past?.Layers[i], presents);
            }

            return ln_f.call(x);
        }
    }

    private sealed class Gpt2Block : nn.Module<Tensor, Tensor>
    {
        private readonly LayerNorm ln_1;
        private readonly Gpt2Attention attn;
        private readonly LayerNorm ln_2;
        private readonly Gpt2Mlp mlp;

        public Gpt2Block(Gpt2Config config)
            : base("block")
        {
            ln_1 = nn.LayerNorm(config.Width, config.LayerNormEpsilon);
            attn = new Gpt2Attention(config);
            ln_2 = nn.LayerNorm(config.Width, config.LayerNormEpsilon);
            mlp = new Gpt2Mlp(config);
            RegisterComponents();
        }

        public override Tensor forward(Tensor x)
        {
            var attended = x + attn.call(ln_1.call(x));
            return attended + mlp.call(ln_2.call(attended));
        }

        public Tensor Forward(Tensor x, (Tensor Key, Tensor Value)? past, List<(Tensor Key, Tensor Value)> presents)
        {
            var attended = x + attn.Attend(ln_1.call(x), past, presents);
            return attended + mlp.call(ln_2.call(attended));
        }
    }

    private sealed class Gpt2Attention : nn.Module<Tensor, Tensor>
    {
        private readonly Conv1D c_attn;
        private readonly Conv1D c_proj;
        private readonly long heads;

        public Gpt2Attention(Gpt2Config config)
            : base("attn")
        {
            c_attn = new Conv1D(config.Width, 3 * config.Width);
            c_proj = new Conv1D(config.Width, config.Width);
            heads = config.Heads;
            RegisterComponents();
        }

        public override Tensor forward(Tensor x) => Attend(x, null, null);

        /// <summary>Causal self-attention of <paramref name="x"/> after <paramref name="past"/>'s tokens; adds this layer's keys and values (past and new) to <paramref name="presents"/>.</summary>
        public Tensor Attend(Tensor x, (Tensor Key, Tensor Value)? past, List<(Tensor Key, Tensor Value)>? presents)
        {
            var (batch, length, width) = (x.shape[0], x.shape[1], x.shape[2]);
            var headWidth = width / heads;
            var qkv = c_attn.call(x).split(width, 2);
            Tensor Heads(Tensor t) => t.reshape(batch, length, heads, headWidth).transpose(1, 2);
            var (q, k, v) = (Heads(qkv[0]), Heads(qkv[1]), Heads(qkv[2]));
            if (past is { } cached)
            {
                k = torch.cat([cached.Key.expand(batch, -1, -1, -1), k], 2);
                v = torch.cat([cached.Value.expand(batch, -1, -1, -1), v], 2);
            }

            presents?.Add((k, v));
            var total = k.shape[2];
            var scores = torch.matmul(q, k.transpose(-1, -2)) / Math.Sqrt(headWidth);

            // As Hugging Face's eager attention: masked scores become the dtype's lowest value before the softmax.
            // Query i sits at position (total - length) + i and sees every key up to it.
            var causal = torch.ones(length, total, ScalarType.Bool, x.device).tril(total - length);
            scores = torch.where(causal, scores, torch.tensor(LowestOf(scores.dtype), scores.dtype, x.device));
            var mixed = torch.matmul(nn.functional.softmax(scores, -1), v);
            return c_proj.call(mixed.transpose(1, 2).reshape(batch, length, width));
        }

        private static double LowestOf(ScalarType type) => type switch
        {
            ScalarType.Float64 => double.MinValue,
            ScalarType.Float16 => -65504.0,
            ScalarType.BFloat16 => -3.3895313892515355e38,
            _ => float.MinValue,
        };
    }

    private sealed class Gpt2Mlp : nn.Module<Tensor, Tensor>
    {
        private readonly Conv1D c_fc;
        private readonly Conv1D c_proj;

        public Gpt2Mlp(Gpt2Config config)
            : base("mlp")
        {
            var inner = config.InnerWidth ?? (4 * config.Width);
            c_fc = new Conv1D(config.Width, inner);
            c_proj = new Conv1D(inner, config.Width);
            RegisterComponents();
        }

        public override Tensor forward(Tensor x) => c_proj.call(GeluTanh(c_fc.call(x)));

        /// <summary>GELU with the tanh approximation (Hugging Face's <c>gelu_new</c>).</summary>
        private static Tensor GeluTanh(Tensor x) =>
            0.5 * x * (1.0 + torch.tanh(Math.Sqrt(2.0 / Math.PI) * (x + (0.044715 * torch.pow(x, 3.0)))));
    }

    /// <summary>Hugging Face's Conv1D: a linear layer whose weight is stored (in, out), y = x W + b.</summary>
    private sealed class Conv1D : nn.Module<Tensor, Tensor>
    {
        private readonly Parameter weight;
        private readonly Parameter bias;

        public Conv1D(long inFeatures, long outFeatures)
            : base(nameof(Conv1D))
        {
            weight = nn.Parameter(torch.randn(inFeatures, outFeatures) * 0.02);
            bias = nn.Parameter(torch.zeros(outFeatures));

            // A parameter made inside a caller's dispose scope would be freed with it (TorchSharp's own layers keep
            // theirs out of scopes; a module of ours must do the same).
            weight.DetachFromDisposeScope();
            bias.DetachFromDisposeScope();
            RegisterComponents();
        }

        public override Tensor forward(Tensor x) => torch.matmul(x, weight) + bias;
    }
}
