using Captum.Explain;
using Captum.Forward;
using Captum.Layers;
using Captum.Plugins;
using Microsoft.Extensions.DependencyInjection;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Captum.Plugins.Minimal;

/// <summary>The plugin's entry point: names itself and registers its model provider, its command and its explanation method.</summary>
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
        services.AddSingleton<BagOfWordsModel>(); // a loaded model as a service: ScoreCommand gets it injected
        services.AddSingleton<IPluginCommand, ScoreCommand>();
        services.AddSingleton<IExplanationStrategy, TokenDropStrategy>();
    }
}

/// <summary>
/// An explanation method the plugin adds (<c>--method token-drop</c>): each token of a text input is replaced by its
/// baseline token in turn, and its attribution is how much the explained class's score drops. Other inputs get none.
/// </summary>
public sealed class TokenDropStrategy : ExplanationStrategy
{
    /// <inheritdoc />
    public override string Name => "token-drop";

    /// <inheritdoc />
    public override string Description => "Each token replaced by its baseline token in turn: how much the class's score drops.";

    /// <inheritdoc />
    protected override InputAttributions Attribute(IInterpretableModel model, PreparedInput input, long target, ExplanationOptions options, CancellationToken cancellationToken)
    {
        using var noGrad = torch.no_grad();
        float Score(IReadOnlyList<Tensor> inputs) => model.Forward.Invoke([.. inputs, .. input.AdditionalForwardArgs])[0, target].item<float>();
        var full = Score(input.Inputs);
        var attributions = new Tensor[input.Inputs.Count];
        for (var i = 0; i < attributions.Length; i++)
        {
            var tokens = input.Inputs[i];
            if (input.Displays[i] is not TextDisplay || input.Baselines[i].Tensor is not { } pads)
            {
                attributions[i] = torch.zeros(tokens.shape, ScalarType.Float32);
                continue;
            }

            var drops = new float[tokens.shape[1]];
            for (var t = 0; t < drops.Length; t++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var inputs = input.Inputs.ToArray();
                inputs[i] = tokens.clone();
                inputs[i][0, t] = pads[0, t];
                drops[t] = full - Score(inputs);
            }

            attributions[i] = torch.tensor(drops).unsqueeze(0);
        }

        return new InputAttributions(attributions, double.NaN);
    }
}

/// <summary>A command the plugin adds: <c>captum minimal-score --text "good movie" [--repeat 2]</c>.</summary>
/// <param name="model">The model, registered as a service by <see cref="MinimalPlugin"/> and injected by the host, which disposes it.</param>
public sealed class ScoreCommand(BagOfWordsModel model) : IPluginCommand
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
