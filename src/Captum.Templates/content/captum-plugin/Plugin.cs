using Captum.Explain;
using Captum.Forward;
using Captum.Layers;
using Captum.Plugins;
using Microsoft.Extensions.DependencyInjection;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace CaptumPluginTemplate;

/// <summary>The plugin's entry point: the captum host creates it and asks it to register its services.</summary>
public sealed class Plugin : ICaptumPlugin
{
    /// <inheritdoc />
    public string Name => "my-plugin";

    /// <inheritdoc />
    public string Description => "A word-sentiment toy model and a command that explains its answer.";

    /// <inheritdoc />
    public void ConfigureServices(IServiceCollection services)
    {
        // The model provider: what `captum` and other hosts load by name (host.GetModelProvider("my-plugin-words")).
        services.AddSingleton<IInterpretableModelProvider, WordsModelProvider>();
        // A loaded model as a service, so that commands get it by constructor injection. The host disposes it.
        services.AddSingleton<WordsModel>();
        services.AddSingleton<IPluginCommand, ExplainCommand>();
    }
}

/// <summary>Offers the model; it needs no files (a real provider lists its checkpoint in <see cref="Files"/>).</summary>
public sealed class WordsModelProvider : IInterpretableModelProvider
{
    /// <inheritdoc />
    public string Name => "my-plugin-words";

    /// <inheritdoc />
    public string Description => "Scores a sentence as negative or positive from its words.";

    /// <inheritdoc />
    public IReadOnlyList<ModelFile> Files => [];

    /// <inheritdoc />
    public IInterpretableModel Load(IReadOnlyDictionary<string, string> files, IReadOnlyDictionary<string, string> settings) => new WordsModel();
}

/// <summary>Words to embeddings, averaged, to two classes: "good" and "great" push towards positive, "bad" towards negative.</summary>
public sealed class WordsModel : IInterpretableModel
{
    private static readonly string[] Vocabulary = ["<pad>", "good", "great", "bad", "movie", "plot"];
    private readonly Net net = new();

    /// <inheritdoc />
    public string Name => "my-plugin-words";

    /// <inheritdoc />
    public IReadOnlyList<RawInputSpec> RawInputs { get; } = [new("text", RawInputKind.Text, "a sentence")];

    /// <inheritdoc />
    public ForwardFunction Forward => net;

    /// <inheritdoc />
    public IReadOnlyList<LayerReference> AttributionLayers { get; } = ["embedding"];

    /// <inheritdoc />
    public IReadOnlyList<string> Labels { get; } = ["negative", "positive"];

    /// <inheritdoc />
    public PreparedInput Prepare(IReadOnlyDictionary<string, string> rawInputs)
    {
        if (!rawInputs.TryGetValue("text", out var text) || string.IsNullOrWhiteSpace(text))
        {
            throw new ArgumentException("text: give a sentence of at least one word.", nameof(rawInputs));
        }

        var words = text.ToLowerInvariant().Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var ids = words.Select(w => (long)Math.Max(0, Array.IndexOf(Vocabulary, w))).ToArray();
        return new PreparedInput(
            [torch.tensor(ids).unsqueeze(0)],
            [torch.zeros(1, ids.Length, ScalarType.Int64)],
            [],
            [new TextDisplay("text", text, words)]);
    }

    /// <inheritdoc />
    public void Dispose() => net.Dispose();

    private sealed class Net : nn.Module<Tensor, Tensor>
    {
        private readonly Embedding embedding;
        private readonly Linear fc;

        public Net()
            : base("Words")
        {
            embedding = nn.Embedding(Vocabulary.Length, 2, padding_idx: 0);
            fc = nn.Linear(2, 2);
            using (torch.no_grad())
            {
                embedding.weight!.copy_(torch.tensor(new float[,] { { 0, 0 }, { 1, 0 }, { 2, 0 }, { 0, 1 }, { 0.1f, 0.1f }, { 0, 0 } }));
                fc.weight!.copy_(torch.tensor(new float[,] { { -1, 1 }, { 1, -1 } }));
                fc.bias!.zero_();
            }

            RegisterComponents();
            eval();
        }

        // Layers are invoked with call(...): TorchSharp runs the hooks attribution needs only there.
        public override Tensor forward(Tensor tokens) => fc.call(embedding.call(tokens).mean([1]));
    }
}

/// <summary>
/// <c>captum my-plugin-explain --text "good movie" [--steps 30]</c>: the model's answer and how much each word
/// contributed to it (Layer Integrated Gradients on the embedding).
/// </summary>
/// <param name="model">The loaded model, injected by the host (registered in <see cref="Plugin.ConfigureServices"/>).</param>
public sealed class ExplainCommand(WordsModel model) : IPluginCommand
{
    /// <inheritdoc />
    public string Name => "my-plugin-explain";

    /// <inheritdoc />
    public string Description => "Print the model's answer for a sentence and each word's contribution to it.";

    /// <inheritdoc />
    public IReadOnlyList<PluginCommandOption> Options { get; } =
    [
        new("text", "The sentence.", PluginOptionKind.Text, Required: true),
        new("steps", "Integration steps.", PluginOptionKind.Integer, DefaultValue: "30"),
    ];

    /// <inheritdoc />
    public int Run(PluginCommandContext context)
    {
        var steps = context.GetInteger("steps");
        if (steps is < 1 or > 10_000)
        {
            throw new ArgumentException($"--steps must be between 1 and 10000, not {steps}.");
        }

        using var scope = torch.NewDisposeScope();
        var prepared = model.Prepare(new Dictionary<string, string> { ["text"] = context.GetText("text")! });
        using var explanation = ModelExplainer.Explain(model, prepared, new ExplanationOptions { Steps = (int)steps }, context.CancellationToken);
        context.Output.WriteLine($"{explanation.Label} ({explanation.Probability:0.000})");
        var text = explanation.Inputs[0];
        var tokens = ((TextDisplay)text.Display).Tokens;
        for (var i = 0; i < tokens.Count; i++)
        {
            context.Output.WriteLine($"{tokens[i],-12} {text.TokenAttributions![i],8:0.000}");
        }

        return 0;
    }
}
