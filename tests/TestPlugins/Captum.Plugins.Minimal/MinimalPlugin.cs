using Captum.Forward;
using Captum.Layers;
using Captum.Plugins;
using Microsoft.Extensions.DependencyInjection;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Captum.Plugins.Minimal;

/// <summary>The plugin's entry point: names itself and registers its model provider.</summary>
public sealed class MinimalPlugin : ICaptumPlugin
{
    /// <inheritdoc />
    public string Name => "minimal";

    /// <inheritdoc />
    public string Description => "A bag-of-words sentiment toy: the smallest plugin.";

    /// <inheritdoc />
    public void ConfigureServices(IServiceCollection services)
    {
        services.AddSingleton<IInterpretableModelProvider, BagOfWordsProvider>();
        services.AddSingleton<IPluginCommand, ScoreCommand>();
    }
}

/// <summary>A command the plugin adds: <c>captum minimal-score --text "good movie" [--repeat 2]</c>.</summary>
public sealed class ScoreCommand : IPluginCommand
{
    /// <inheritdoc />
    public string Name => "minimal-score";

    /// <inheritdoc />
    public string Description => "Print the bag-of-words model's answer for a sentence.";

    /// <inheritdoc />
    public IReadOnlyList<PluginCommandOption> Options { get; } =
    [
        new("text", "The sentence.", PluginOptionKind.Text, Required: true),
        new("repeat", "How many times to print it.", PluginOptionKind.Integer, DefaultValue: "1"),
    ];

    /// <inheritdoc />
    public int Run(PluginCommandContext context)
    {
        using var scope = torch.NewDisposeScope();
        using var model = new BagOfWordsModel();
        var prepared = model.Prepare(new Dictionary<string, string> { ["text"] = context.GetText("text")! });
        var answer = model.Labels[(int)model.Forward.Invoke([.. prepared.Inputs]).argmax(1).item<long>()];
        for (var i = 0; i < context.GetInteger("repeat"); i++)
        {
            context.Output.WriteLine(answer);
        }

        return 0;
    }
}

/// <summary>Offers the toy model; it needs no files.</summary>
public sealed class BagOfWordsProvider : IInterpretableModelProvider
{
    /// <inheritdoc />
    public string Name => "bag-of-words";

    /// <inheritdoc />
    public string Description => "Scores a sentence as negative or positive from its words.";

    /// <inheritdoc />
    public IReadOnlyList<ModelFile> Files => [];

    /// <inheritdoc />
    public IInterpretableModel Load(IReadOnlyDictionary<string, string> files, IReadOnlyDictionary<string, string> settings) => new BagOfWordsModel();
}

/// <summary>Words to embeddings, averaged, to two classes; "good" pushes towards positive, "bad" towards negative.</summary>
public sealed class BagOfWordsModel : IInterpretableModel
{
    private static readonly string[] Vocabulary = ["<pad>", "good", "bad", "movie", "plot"];
    private readonly Net net = new();

    /// <inheritdoc />
    public string Name => "bag-of-words";

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
        var words = rawInputs["text"].ToLowerInvariant().Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var ids = words.Select(w => (long)Math.Max(0, Array.IndexOf(Vocabulary, w))).ToArray();
        return new PreparedInput(
            [torch.tensor(ids).unsqueeze(0)],
            [torch.zeros(1, ids.Length, ScalarType.Int64)],
            [],
            [new TextDisplay("text", rawInputs["text"], words)]);
    }

    /// <inheritdoc />
    public void Dispose() => net.Dispose();

    private sealed class Net : nn.Module<Tensor, Tensor>
    {
        private readonly Embedding embedding;
        private readonly Linear fc;

        public Net()
            : base("BagOfWords")
        {
            embedding = nn.Embedding(Vocabulary.Length, 2, padding_idx: 0);
            fc = nn.Linear(2, 2);
            using (torch.no_grad())
            {
                embedding.weight!.copy_(torch.tensor(new float[,] { { 0, 0 }, { 1, 0 }, { 0, 1 }, { 0.1f, 0.1f }, { 0, 0 } }));
                fc.weight!.copy_(torch.tensor(new float[,] { { -1, 1 }, { 1, -1 } }));
                fc.bias!.zero_();
            }

            RegisterComponents();
            eval();
        }

        public override Tensor forward(Tensor tokens) => fc.call(embedding.call(tokens).mean([1]));
    }
}
