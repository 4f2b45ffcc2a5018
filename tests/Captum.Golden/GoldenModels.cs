using System.Text.Json.Nodes;
using Captum.Checkpoints;
using Captum.Plugins.TextGeneration.Model;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Captum.Golden;

/// <summary>
/// The model zoo of the golden cases: TorchSharp modules with the same module tree (and so the same
/// state-dict names and layer paths) as the PyTorch models that produced the cases.
/// </summary>
internal static class GoldenModels
{
    /// <summary>
    /// Builds the case's model (unwrapped, even when <see cref="GoldenCase.WrapInputs"/> is set), loads the
    /// case's parameters by state-dict name and puts it in eval mode.
    /// </summary>
    /// <exception cref="NotSupportedException">Unknown model kind.</exception>
    /// <exception cref="InvalidDataException">The config is incomplete, or the parameters do not fit the module.</exception>
    public static nn.Module Build(GoldenCase c)
    {
        ArgumentNullException.ThrowIfNull(c);
        var config = c.ModelConfig;
        nn.Module model = c.ModelKind switch
        {
            "mlp" => new GoldenMlp(Longs(config, "sizes", c), Text(config, "activation", c)),
            "two_input" => new GoldenTwoInput(Long(config, "d1", c), Long(config, "d2", c), Long(config, "hidden", c), Long(config, "out", c)),
            "text" => new GoldenTextClassifier(Long(config, "vocab", c), Long(config, "embedding_dim", c), Long(config, "hidden", c), Long(config, "classes", c)),
            "vqa" => new GoldenVqa(
                Long(config, "tokens", c),
                Long(config, "embedding_features", c),
                Long(config, "lstm_features", c),
                Long(config, "backbone_channels", c),
                Long(config, "v_features", c),
                Long(config, "mid_features", c),
                Long(config, "glimpses", c),
                Long(config, "answers", c)),
            _ => throw new NotSupportedException($"Golden case {c.Name}: model kind '{c.ModelKind}' is not in the model zoo."),
        };

        LoadParameters(model, c.Parameters, c.Name);
        model.eval();
        return model;
    }

    /// <summary>
    /// The GPT-2 of an LLM case (model kind <c>gpt2</c>): Hugging Face's GPT2LMHeadModel built from <c>model.config</c>,
    /// its <c>model.parameters</c> loaded under Hugging Face's names, in eval mode.
    /// </summary>
    /// <exception cref="InvalidDataException">The config is incomplete, or a parameter is missing, unexpected or misshaped.</exception>
    public static Gpt2LMHeadModel Gpt2(JsonObject model)
    {
        ArgumentNullException.ThrowIfNull(model);
        var config = model["config"] as JsonObject ?? throw new InvalidDataException("model.config is missing");
        long Size(string key) => config[key] is JsonValue v && v.TryGetValue<long>(out var n)
            ? n
            : throw new InvalidDataException($"model.config.{key} is missing or not an integer");
        var epsilon = config["layer_norm_epsilon"] is JsonValue e ? e.GetValue<double>() : throw new InvalidDataException("model.config.layer_norm_epsilon is missing");
        var gpt2 = new Gpt2LMHeadModel(new Gpt2Config(Size("vocab_size"), Size("n_positions"), Size("n_embd"), Size("n_head"), Size("n_layer"), epsilon));
        var parameters = model["parameters"] as JsonObject ?? throw new InvalidDataException("model.parameters is missing");
        var state = parameters.ToDictionary(p => p.Key, p => GoldenCase.ReadTensor(p.Value ?? throw new InvalidDataException($"model.parameters.{p.Key} is null")));
        TorchCheckpoint.LoadStateDict(gpt2, Gpt2LMHeadModel.FromHuggingFaceNames(state));
        gpt2.eval();
        return gpt2;
    }

    /// <summary>
    /// Copies <paramref name="parameters"/> into the module's state-dict entries of the same name, in place and
    /// without recording gradients. Every state-dict entry must be given and every given name must exist, with equal shapes.
    /// </summary>
    /// <exception cref="InvalidDataException">Names are missing or unexpected, or shapes differ (all are listed).</exception>
    public static void LoadParameters(nn.Module module, IReadOnlyDictionary<string, Tensor> parameters, string? what = null)
    {
        ArgumentNullException.ThrowIfNull(module);
        ArgumentNullException.ThrowIfNull(parameters);
        var state = module.state_dict();
        var missing = state.Keys.Where(k => !parameters.ContainsKey(k)).OrderBy(k => k, StringComparer.Ordinal).ToList();
        var unexpected = parameters.Keys.Where(k => !state.ContainsKey(k)).OrderBy(k => k, StringComparer.Ordinal).ToList();
        var mismatched = state
            .Where(kv => parameters.TryGetValue(kv.Key, out var p) && !kv.Value.shape.SequenceEqual(p.shape))
            .Select(kv => $"{kv.Key}: module [{string.Join(", ", kv.Value.shape)}], given [{string.Join(", ", parameters[kv.Key].shape)}]")
            .ToList();
        if (missing.Count + unexpected.Count + mismatched.Count > 0)
        {
            var problems = new List<string>();
            if (missing.Count > 0)
            {
                problems.Add($"missing (in the module, not given): {string.Join(", ", missing)}");
            }

            if (unexpected.Count > 0)
            {
                problems.Add($"unexpected (given, not in the module): {string.Join(", ", unexpected)}");
            }

            if (mismatched.Count > 0)
            {
                problems.Add($"shape mismatches: {string.Join("; ", mismatched)}");
            }

            throw new InvalidDataException(
                $"Cannot load the parameters{(what is null ? string.Empty : $" of {what}")} into {module.GetType().Name}: {string.Join(". ", problems)}. " +
                $"The module has: {string.Join(", ", state.Keys)}.");
        }

        using (torch.no_grad())
        {
            foreach (var (name, target) in state)
            {
                var source = parameters[name];
                target.copy_(source.to(target.dtype, target.device));
            }
        }
    }

    /// <summary>Calls a golden model through <c>call</c> (so hooks fire) with 1 to 3 tensor arguments.</summary>
    /// <exception cref="ArgumentException">The module does not take that many tensor arguments.</exception>
    public static Tensor Run(nn.Module module, IReadOnlyList<Tensor> args)
    {
        ArgumentNullException.ThrowIfNull(module);
        ArgumentNullException.ThrowIfNull(args);
        return (module, args.Count) switch
        {
            (nn.Module<Tensor, Tensor> m, 1) => m.call(args[0]),
            (nn.Module<Tensor, Tensor, Tensor> m, 2) => m.call(args[0], args[1]),
            (nn.Module<Tensor, Tensor, Tensor, Tensor> m, 3) => m.call(args[0], args[1], args[2]),
            _ => throw new ArgumentException(
                $"{module.GetType().Name} cannot be called with {args.Count} tensor argument(s).", nameof(args)),
        };
    }

    private static long Long(JsonObject config, string key, GoldenCase c) =>
        config[key] is JsonValue v && v.TryGetValue<long>(out var n)
            ? n
            : throw new InvalidDataException($"Golden case {c.Name}: model.config.{key} is missing or not an integer.");

    private static long[] Longs(JsonObject config, string key, GoldenCase c) =>
        config[key] is JsonArray a && a.Count >= 2
            ? a.Select(x => x is JsonValue v && v.TryGetValue<long>(out var n) ? n : throw new InvalidDataException($"Golden case {c.Name}: model.config.{key} holds a non-integer.")).ToArray()
            : throw new InvalidDataException($"Golden case {c.Name}: model.config.{key} is missing or has fewer than two sizes.");

    private static string Text(JsonObject config, string key, GoldenCase c) =>
        config[key] is JsonValue v && v.TryGetValue<string>(out var s)
            ? s
            : throw new InvalidDataException($"Golden case {c.Name}: model.config.{key} is missing or not a string.");
}

/// <summary>
/// <c>mlp</c>: <c>net</c> = Sequential(Linear, activation, Linear, ..., Linear), children named "0", "1", ...
/// </summary>
internal sealed class GoldenMlp : nn.Module<Tensor, Tensor>
{
    private readonly Sequential net;

    /// <param name="sizes">Layer widths: Linear(sizes[i], sizes[i + 1]) for each i.</param>
    /// <param name="activation">tanh, sigmoid, relu or softplus, between the linear layers.</param>
    public GoldenMlp(IReadOnlyList<long> sizes, string activation)
        : base("GoldenMlp")
    {
        ArgumentNullException.ThrowIfNull(sizes);
        if (sizes.Count < 2)
        {
            throw new ArgumentException("An MLP needs at least two sizes.", nameof(sizes));
        }

        var layers = new List<(string, nn.Module<Tensor, Tensor>)>();
        for (var i = 0; i + 1 < sizes.Count; i++)
        {
            if (i > 0)
            {
                layers.Add((layers.Count.ToString(System.Globalization.CultureInfo.InvariantCulture), Activation(activation)));
            }

            layers.Add((layers.Count.ToString(System.Globalization.CultureInfo.InvariantCulture), nn.Linear(sizes[i], sizes[i + 1])));
        }

        net = nn.Sequential(layers);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x) => net.call(x);

    private static nn.Module<Tensor, Tensor> Activation(string name) => name switch
    {
        "tanh" => nn.Tanh(),
        "sigmoid" => nn.Sigmoid(),
        "relu" => nn.ReLU(),
        "softplus" => nn.Softplus(),
        _ => throw new NotSupportedException($"MLP activation '{name}' is not supported (tanh, sigmoid, relu, softplus)."),
    };
}

/// <summary><c>two_input</c>: forward(x1, x2, scale) = lin3(cat([tanh(lin1(x1)), sigmoid(lin2(x2))], 1)) * scale.</summary>
internal sealed class GoldenTwoInput : nn.Module<Tensor, Tensor, Tensor, Tensor>
{
    private readonly Linear lin1;
    private readonly Linear lin2;
    private readonly Linear lin3;

    public GoldenTwoInput(long d1, long d2, long hidden, long @out)
        : base("GoldenTwoInput")
    {
        lin1 = nn.Linear(d1, hidden);
        lin2 = nn.Linear(d2, hidden);
        lin3 = nn.Linear(2 * hidden, @out);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x1, Tensor x2, Tensor scale)
    {
        var h = torch.cat([torch.tanh(lin1.call(x1)), torch.sigmoid(lin2.call(x2))], 1);
        return lin3.call(h) * scale;
    }
}

/// <summary><c>text</c>: embedding (padding index 0) -> one-layer batch-first LSTM -> last hidden state h[-1] -> fc.</summary>
internal sealed class GoldenTextClassifier : nn.Module<Tensor, Tensor>
{
    private readonly Embedding embedding;
    private readonly LSTM lstm;
    private readonly Linear fc;

    public GoldenTextClassifier(long vocab, long embeddingDim, long hidden, long classes)
        : base("GoldenTextClassifier")
    {
        embedding = nn.Embedding(vocab, embeddingDim, padding_idx: 0);
        lstm = nn.LSTM(embeddingDim, hidden, numLayers: 1, batchFirst: true);
        fc = nn.Linear(hidden, classes);
        RegisterComponents();
    }

    /// <param name="x">Token ids, int64, (n, seq).</param>
    public override Tensor forward(Tensor x)
    {
        var embedded = embedding.call(x);
        var (_, h, _) = lstm.call(embedded);
        return fc.call(h.select(0, h.shape[0] - 1));
    }
}

/// <summary>
/// <c>vqa</c>: the "Show, Ask, Attend, and Answer" net with a small image backbone, forward(v, q, q_len).
/// Submodules: backbone (conv1, conv2), text (embedding, lstm), attention (v_conv, q_lin, x_conv),
/// classifier (lin1, lin2). Dropout (inactive in eval mode, no parameters) is omitted.
/// </summary>
internal sealed class GoldenVqa : nn.Module<Tensor, Tensor, Tensor, Tensor>
{
    private readonly VqaBackbone backbone;
    private readonly VqaTextProcessor text;
    private readonly VqaAttention attention;
    private readonly VqaClassifier classifier;

    public GoldenVqa(
        long tokens,
        long embeddingFeatures,
        long lstmFeatures,
        long backboneChannels,
        long vFeatures,
        long midFeatures,
        long glimpses,
        long answers)
        : base("GoldenVqa")
    {
        backbone = new VqaBackbone(backboneChannels, vFeatures);
        text = new VqaTextProcessor(tokens, embeddingFeatures, lstmFeatures);
        attention = new VqaAttention(vFeatures, lstmFeatures, midFeatures, glimpses);
        classifier = new VqaClassifier(glimpses * vFeatures + lstmFeatures, midFeatures, answers);
        RegisterComponents();
    }

    /// <param name="v">Images, (n, 3, H, W).</param>
    /// <param name="q">Question token ids, int64, (n, seq), padded with 0.</param>
    /// <param name="q_len">Question lengths, (n); any integer dtype, any device.</param>
    public override Tensor forward(Tensor v, Tensor q, Tensor q_len)
    {
        var features = backbone.call(v);
        var question = text.call(q, q_len);
        var norm = torch.linalg.vector_norm(features, 2, [1L], keepdim: true);
        features = features / (norm + 1e-8);
        var a = attention.call(features, question);
        var attended = ApplyAttention(features, a);
        return classifier.call(torch.cat([attended, question], 1));
    }

    /// <summary>Softmax of each glimpse over the spatial positions; per glimpse, the weighted sums of v's channels.</summary>
    private static Tensor ApplyAttention(Tensor v, Tensor attention)
    {
        var n = v.shape[0];
        var c = v.shape[1];
        var glimpses = attention.shape[1];
        var values = v.reshape(n, 1, c, -1);                                                   // (n, 1, c, s)
        var weights = torch.softmax(attention.reshape(n, glimpses, -1), -1).unsqueeze(2);     // (n, g, 1, s)
        return (weights * values).sum(-1).reshape(n, -1);                                      // (n, g * c)
    }
}

/// <summary>VQA <c>backbone</c>: relu(conv2(relu(conv1(image)))), both 3x3 with stride 2 and padding 1.</summary>
internal sealed class VqaBackbone : nn.Module<Tensor, Tensor>
{
    private readonly Conv2d conv1;
    private readonly Conv2d conv2;

    public VqaBackbone(long channels, long vFeatures)
        : base("VqaBackbone")
    {
        conv1 = nn.Conv2d(3, channels, 3, stride: 2, padding: 1);
        conv2 = nn.Conv2d(channels, vFeatures, 3, stride: 2, padding: 1);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x) => torch.nn.functional.relu(conv2.call(torch.nn.functional.relu(conv1.call(x))));
}

/// <summary>VQA <c>text</c>: embedding (padding 0) -> tanh -> packed LSTM -> final cell state, squeezed to (n, lstm_features).</summary>
internal sealed class VqaTextProcessor : nn.Module<Tensor, Tensor, Tensor>
{
    private readonly Embedding embedding;
    private readonly LSTM lstm;

    public VqaTextProcessor(long tokens, long embeddingFeatures, long lstmFeatures)
        : base("VqaTextProcessor")
    {
        embedding = nn.Embedding(tokens, embeddingFeatures, padding_idx: 0);
        lstm = nn.LSTM(embeddingFeatures, lstmFeatures, numLayers: 1);
        RegisterComponents();
    }

    /// <param name="q">Token ids, (n, seq).</param>
    /// <param name="q_len">Lengths, (n); need not be sorted.</param>
    public override Tensor forward(Tensor q, Tensor q_len)
    {
        var embedded = torch.tanh(embedding.call(q));

        // libtorch requires the lengths as a 1-D int64 CPU tensor, wherever the data lives.
        var lengths = q_len.to(ScalarType.Int64, torch.CPU).reshape(-1);
        using var packed = torch.nn.utils.rnn.pack_padded_sequence(embedded, lengths, batch_first: true, enforce_sorted: false);
        var (output, _, c) = lstm.call(packed);
        output.Dispose();
        return c.squeeze(0);
    }
}

/// <summary>VQA <c>attention</c>: x_conv(relu(v_conv(v) + q_lin(q) tiled over v's grid)), one map per glimpse.</summary>
internal sealed class VqaAttention : nn.Module<Tensor, Tensor, Tensor>
{
    private readonly Conv2d v_conv;
    private readonly Linear q_lin;
    private readonly Conv2d x_conv;

    public VqaAttention(long vFeatures, long qFeatures, long midFeatures, long glimpses)
        : base("VqaAttention")
    {
        v_conv = nn.Conv2d(vFeatures, midFeatures, 1, bias: false);
        q_lin = nn.Linear(qFeatures, midFeatures);
        x_conv = nn.Conv2d(midFeatures, glimpses, 1);
        RegisterComponents();
    }

    /// <param name="v">Image features, (n, v_features, h, w).</param>
    /// <param name="q">Question features, (n, lstm_features).</param>
    public override Tensor forward(Tensor v, Tensor q)
    {
        var vm = v_conv.call(v);
        var qm = q_lin.call(q);
        var tiled = qm.reshape(qm.shape[0], qm.shape[1], 1, 1).expand_as(vm);
        return x_conv.call(torch.nn.functional.relu(vm + tiled));
    }
}

/// <summary>VQA <c>classifier</c>: lin2(relu(lin1(x))).</summary>
internal sealed class VqaClassifier : nn.Module<Tensor, Tensor>
{
    private readonly Linear lin1;
    private readonly Linear lin2;

    public VqaClassifier(long inFeatures, long midFeatures, long answers)
        : base("VqaClassifier")
    {
        lin1 = nn.Linear(inFeatures, midFeatures);
        lin2 = nn.Linear(midFeatures, answers);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x) => lin2.call(torch.nn.functional.relu(lin1.call(x)));
}
