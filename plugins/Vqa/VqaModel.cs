using System.Globalization;
using Captum.Attr;
using Captum.Checkpoints;
using Captum.Explain;
using Captum.Forward;
using Captum.Layers;
using Captum.Plugins.Vqa.Model;
using Captum.Plugins.Vqa.Scenes;
using Captum.Plugins.Vqa.Tutorial;

namespace Captum.Plugins.Vqa;

/// <summary>
/// The VQA model of Captum's multimodal tutorial, loaded and ready to explain: the net with its image network,
/// wrapped with <see cref="ModelInputWrapper"/>, its vocabulary, answers and image transform. Raw inputs are an
/// image file ("image") and a question ("question"); attributions go to <c>input_maps.v</c> (the image) and
/// <c>module.text.embedding</c> (the question's words), with baselines the <see cref="ImageBaseline"/> (the
/// tutorial's zero unless set otherwise) and the pad tokens.
/// </summary>
public sealed class VqaModel : IInterpretableModel
{
    /// <summary>The raw input names.</summary>
    public const string ImageInput = "image";

    /// <summary>The raw input names.</summary>
    public const string QuestionInput = "question";

    /// <summary>The image size of the tutorial's model.</summary>
    public const int TutorialImageSize = 448;

    private readonly ModelInputWrapper wrapper;
    private IReadOnlyDictionary<string, long>? answerIndices;
    private readonly ImageTransform transform;
    private readonly Device device;

    /// <summary>Creates the model from a built net (with image network) and its vocabulary.</summary>
    /// <param name="net">The net, with an image network.</param>
    /// <param name="encoder">The question vocabulary.</param>
    /// <param name="answers">The answer of every class.</param>
    /// <param name="options">Image size, central fraction, device and image baseline.</param>
    /// <param name="name">The model's name: "vqa" unless given ("scenes-vqa" for the scenes model).</param>
    public VqaModel(VqaNet net, QuestionEncoder encoder, IReadOnlyList<string> answers, VqaModelOptions? options = null, string? name = null)
    {
        Name = name ?? "vqa";
        Net = net ?? throw new ArgumentNullException(nameof(net));
        Encoder = encoder ?? throw new ArgumentNullException(nameof(encoder));
        Labels = answers ?? throw new ArgumentNullException(nameof(answers));
        if (net.ImageNetwork is null)
        {
            throw new ArgumentException("net needs an image network: the model reads images.", nameof(net));
        }

        options ??= new VqaModelOptions();
        Options = options;
        device = options.Device ?? torch.CPU;
        transform = new ImageTransform(options.ImageSize ?? TutorialImageSize, options.CentralFraction, options.MaxImagePixels);
        net.eval();
        wrapper = new ModelInputWrapper(net);
        Forward = wrapper;
    }

    /// <summary>The net.</summary>
    public VqaNet Net { get; }

    /// <summary>The settings the model was loaded with.</summary>
    public VqaModelOptions Options { get; }

    /// <summary>The image transform (size and central fraction).</summary>
    public ImageTransform Transform => transform;

    /// <summary>The question vocabulary.</summary>
    public QuestionEncoder Encoder { get; }

    /// <inheritdoc />
    public string Name { get; }

    /// <inheritdoc />
    public IReadOnlyList<RawInputSpec> RawInputs { get; } =
    [
        new(ImageInput, RawInputKind.ImageFile, "the image file the question is about"),
        new(QuestionInput, RawInputKind.Text, "the question, in words of the vocabulary"),
    ];

    /// <inheritdoc />
    public ForwardFunction Forward { get; }

    /// <summary>The wrapped net (<c>input_maps.v</c>, <c>input_maps.q</c>, <c>input_maps.q_len</c>, <c>module</c>).</summary>
    public ModelInputWrapper Wrapper => wrapper;

    /// <inheritdoc />
    public IReadOnlyList<LayerReference> AttributionLayers { get; } = ["input_maps.v", "module.text.embedding"];

    /// <inheritdoc />
    public IReadOnlyList<string> Labels { get; }

    /// <summary>The class of every answer (the first, should an answer appear twice).</summary>
    public IReadOnlyDictionary<string, long> AnswerIndices => answerIndices ??= Classes(Labels);

    /// <summary>
    /// Loads the tutorial's files: a VQA checkpoint (a dict with "weights", the DataParallel state dict, and
    /// "vocab") and a torchvision-named bottleneck ResNet state dict (depth and width read from it).
    /// </summary>
    /// <exception cref="ArgumentException">A file is missing, or its contents do not fit; the message names the file.</exception>
    /// <exception cref="CheckpointFormatException">A file is not a readable PyTorch checkpoint.</exception>
    public static VqaModel Load(string checkpointPath, string resnetPath, VqaModelOptions? options = null)
    {
        options ??= new VqaModelOptions();
        RequireFile(checkpointPath, "checkpoint");
        RequireFile(resnetPath, "resnet");
        using var scope = torch.NewDisposeScope();
        using var checkpoint = TorchCheckpoint.Load(checkpointPath);
        var weights = Wrap(checkpointPath, () => TorchCheckpoint.StateDict(checkpoint, "weights").StripPrefix("module."));
        var vocab = Wrap(checkpointPath, () => TorchCheckpoint.Vocab(checkpoint, "vocab"));
        if (!vocab.TryGetValue("question", out var questionVocab) || !vocab.TryGetValue("answer", out var answerVocab))
        {
            throw new ArgumentException($"{checkpointPath}: the vocab needs 'question' and 'answer' tables, it has {string.Join(", ", vocab.Keys)}.", nameof(checkpointPath));
        }

        using var resnetFile = TorchCheckpoint.Load(resnetPath);
        var resnetState = Wrap(resnetPath, () => TorchCheckpoint.StateDict(resnetFile).StripPrefix("module."));
        var resnet = new ResNetLayer4(Wrap(resnetPath, () => ResNetConfig.FromStateDict(resnetState, options.ResNetVariant)));
        var config = Wrap(checkpointPath, () => VqaConfig.FromStateDict(weights));
        if (config.VFeatures != resnet.OutputChannels)
        {
            throw new ArgumentException(
                $"{resnetPath} gives {resnet.OutputChannels} feature channels, but the VQA net in {checkpointPath} expects {config.VFeatures}.",
                nameof(resnetPath));
        }

        var net = new VqaNet(config, resnet);
        var merged = new Dictionary<string, Tensor>(weights, StringComparer.Ordinal);
        foreach (var (name, tensor) in resnetState)
        {
            // layer4's output is all the tutorial uses; the classifier head of an ImageNet ResNet is not part of it.
            if (!name.StartsWith("fc.", StringComparison.Ordinal))
            {
                merged["resnet_layer4." + name] = tensor;
            }
        }

        Wrap(checkpointPath + " and " + resnetPath, () =>
        {
            TorchCheckpoint.LoadStateDict(net, merged);
            return 0;
        });
        if (options.Device is { } target)
        {
            net.to(target);
        }

        return new VqaModel(net, new QuestionEncoder(questionVocab), AnswerList(answerVocab), options with { ImageSize = options.ImageSize ?? TutorialImageSize });
    }

    /// <summary>
    /// Loads the scenes model that ships with the plugin (see <see cref="SceneCheckpoint"/>): a VQA net on a small
    /// convolutional backbone, trained on generated scenes, read from the plugin's embedded checkpoint.
    /// </summary>
    public static VqaModel LoadDefault(VqaModelOptions? options = null)
    {
        using var scope = torch.NewDisposeScope();
        using var checkpoint = SceneCheckpoint.LoadDefault();
        return SceneCheckpoint.Build(checkpoint, options);
    }

    /// <summary>
    /// Loads a checkpoint that holds its own image network: a scenes checkpoint (see <see cref="SceneCheckpoint"/>),
    /// e.g. one written by <c>captum vqa-train</c>.
    /// </summary>
    /// <exception cref="ArgumentException">The file is missing, or it is not a scenes checkpoint (the tutorial's needs its ResNet file too); the message names the file.</exception>
    /// <exception cref="CheckpointFormatException">The file is not a readable PyTorch checkpoint.</exception>
    public static VqaModel Load(string checkpointPath, VqaModelOptions? options = null)
    {
        RequireFile(checkpointPath, "checkpoint");
        using var scope = torch.NewDisposeScope();
        using var checkpoint = TorchCheckpoint.Load(checkpointPath);
        if (!SceneCheckpoint.IsSceneCheckpoint(checkpoint))
        {
            throw new ArgumentException(
                $"{checkpointPath} has no image network of its own (it is not a scenes checkpoint): give the ResNet state dict its features come from (resnet) too.",
                "resnet");
        }

        return SceneCheckpoint.Build(checkpoint, options);
    }

    /// <summary>The class index of every answer of a list of answers (the first, should an answer appear twice).</summary>
    internal static IReadOnlyDictionary<string, long> Classes(IReadOnlyList<string> answers)
    {
        var classes = new Dictionary<string, long>(StringComparer.Ordinal);
        for (var i = 0; i < answers.Count; i++)
        {
            classes.TryAdd(answers[i], i);
        }

        return classes;
    }

    /// <summary>The answer of every class index of an answer vocabulary ("unk" where it has none).</summary>
    internal static string[] AnswerList(IReadOnlyDictionary<string, long> answerVocab)
    {
        var answers = new string[answerVocab.Count == 0 ? 0 : (int)answerVocab.Values.Max() + 1];
        Array.Fill(answers, "unk");
        foreach (var (answer, index) in answerVocab)
        {
            answers[index] = answer;
        }

        return answers;
    }

    /// <summary>Loads and transforms the image file and encodes the question (see <see cref="IInterpretableModel.Prepare(IReadOnlyDictionary{string, string})"/>).</summary>
    public PreparedInput Prepare(IReadOnlyDictionary<string, string> rawInputs)
    {
        ArgumentNullException.ThrowIfNull(rawInputs);
        var imagePath = rawInputs.TryGetValue(ImageInput, out var i) ? i : throw new ArgumentException($"rawInputs lacks '{ImageInput}'.", nameof(rawInputs));
        var question = rawInputs.TryGetValue(QuestionInput, out var q) ? q : throw new ArgumentException($"rawInputs lacks '{QuestionInput}'.", nameof(rawInputs));
        RequireReadable(question); // before the image is decoded: nothing to free when the question is refused
        var (original, normalized) = transform.Load(imagePath, device);
        return Prepare(original, normalized, question);
    }

    /// <summary>
    /// Loads and transforms the image, from a file path or from a file's contents in memory (an upload, a generated
    /// scene), and encodes the question (see <see cref="IInterpretableModel.Prepare(IReadOnlyDictionary{string, RawInputValue})"/>).
    /// </summary>
    public PreparedInput Prepare(IReadOnlyDictionary<string, RawInputValue> rawInputs)
    {
        ArgumentNullException.ThrowIfNull(rawInputs);
        var image = rawInputs.TryGetValue(ImageInput, out var i) && i is not null ? i : throw new ArgumentException($"rawInputs lacks '{ImageInput}'.", nameof(rawInputs));
        var question = rawInputs.TryGetValue(QuestionInput, out var q) && q is not null ? q : throw new ArgumentException($"rawInputs lacks '{QuestionInput}'.", nameof(rawInputs));
        if (question.Text is not { } text)
        {
            throw new ArgumentException($"'{QuestionInput}' must be text, not {question}.", nameof(rawInputs));
        }

        RequireReadable(text);
        var (original, normalized) = image.Text is { } path ? transform.Load(path, device) : transform.Load(image.Content, image.ContentName!, device);
        return Prepare(original, normalized, text);
    }

    /// <summary>The longest question read, in words: the tutorial's and the scenes' have at most a dozen, and the question LSTM's time grows with every word.</summary>
    public const int MaxQuestionWords = 100;

    /// <summary>Prepares an already transformed image ([3, H, W] in [0, 1] and its normalised [1, 3, H, W]) and a question.</summary>
    /// <exception cref="ArgumentException">The question has no word, more than <see cref="MaxQuestionWords"/>, or none the model knows (unknown words read as padding, the text baseline, so its attributions would all be zero); the message names the question.</exception>
    public PreparedInput Prepare(Tensor original, Tensor normalized, string question)
    {
        ArgumentNullException.ThrowIfNull(normalized);
        var words = RequireReadable(question);
        var (tokens, length) = Encoder.Encode(question, device);
        var reference = new TokenReferenceBase(Encoder.PadIndex).GenerateReference(words.Count, device).unsqueeze(0);
        return new PreparedInput(
            [normalized, tokens.unsqueeze(0)],
            [Baseline(normalized, Options.ImageBaseline ?? ImageBaseline.Zero), reference],
            [length.unsqueeze(0)],
            [new ImageDisplay(ImageInput, original), new TextDisplay(QuestionInput, question, words)]);
    }

    /// <summary>The question's words, when the model can read it (see <see cref="Prepare(Tensor, Tensor, string)"/>).</summary>
    private IReadOnlyList<string> RequireReadable(string question)
    {
        ArgumentNullException.ThrowIfNull(question);
        var words = QuestionEncoder.Tokenize(question);
        return Unreadable(Encoder, words) is { } reason ? throw new ArgumentException($"{QuestionInput}: {reason}", QuestionInput) : words;
    }

    /// <summary>
    /// Why a model reading with <paramref name="encoder"/> cannot read a question of <paramref name="words"/>
    /// (<see cref="QuestionEncoder.Tokenize"/>'s), or null when it can: the one rule of <see cref="Prepare(Tensor, Tensor, string)"/>
    /// and of the checks a command makes of its questions before its work.
    /// </summary>
    internal static string? Unreadable(QuestionEncoder encoder, IReadOnlyList<string> words)
    {
        ArgumentNullException.ThrowIfNull(encoder);
        ArgumentNullException.ThrowIfNull(words);
        if (words.Count == 0)
        {
            return "the question is empty: it needs at least one word.";
        }

        if (words.Count > MaxQuestionWords)
        {
            return $"the question has {words.Count} words; the model reads at most {MaxQuestionWords}.";
        }

        return words.All(w => !encoder.Knows(w))
            ? $"no word of it is in the model's vocabulary of {encoder.TokenCount - 1} words, so the model cannot read it (unknown words count as padding)."
            : null;
    }

    /// <summary>The baseline of normalised images [n, 3, H, W] (see <see cref="ImageBaseline"/>); the caller owns it.</summary>
    public static Tensor Baseline(Tensor normalized, ImageBaseline kind)
    {
        ArgumentNullException.ThrowIfNull(normalized);
        if (kind == ImageBaseline.Zero)
        {
            return normalized * 0.0;
        }

        // The median commutes with the per-channel normalisation (increasing and affine), so it can be taken here.
        using var scope = torch.NewDisposeScope();
        var (n, c) = (normalized.shape[0], normalized.shape[1]);
        var pixels = normalized.reshape(n, c, -1);
        var (median, _) = pixels.kthvalue((pixels.shape[2] + 1) / 2, dim: 2, keepdim: true); // the lower middle value, as torch.median
        return median.unsqueeze(-1).expand_as(normalized).contiguous().MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Answers <paramref name="question"/> about the image file and explains the answer with Layer Integrated Gradients. The explanation's
    /// attributions and its image display join the caller's dispose scope; disposing the explanation frees the
    /// attributions.
    /// </summary>
    public Explanation Explain(string imagePath, string question, ExplanationOptions? options = null, CancellationToken cancellationToken = default) =>
        Explain(imagePath, question, ExplanationStrategies.LayerIntegratedGradients, options, cancellationToken);

    /// <summary>
    /// Answers <paramref name="question"/> about the image file and explains the answer with <paramref name="strategy"/>.
    /// The explanation's attributions and its image display join the caller's dispose scope; disposing the
    /// explanation frees the attributions.
    /// </summary>
    public Explanation Explain(string imagePath, string question, IExplanationStrategy strategy, ExplanationOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(strategy);
        using var scope = torch.NewDisposeScope();
        var prepared = Prepare(new Dictionary<string, string> { [ImageInput] = imagePath, [QuestionInput] = question });
        var explanation = strategy.Explain(this, prepared, options ?? new ExplanationOptions(), cancellationToken);
        foreach (var input in explanation.Inputs)
        {
            input.Attribution.MoveToOuterDisposeScope();
            if (input.Display is ImageDisplay image)
            {
                image.Image.MoveToOuterDisposeScope();
            }
        }

        return explanation;
    }

    /// <summary>Disposes the net.</summary>
    public void Dispose() => Net.Dispose();

    private static void RequireFile(string path, string what)
    {
        if (string.IsNullOrWhiteSpace(path))
        {
            throw new ArgumentException($"the {what} file is required.", what);
        }

        if (!File.Exists(path))
        {
            throw new ArgumentException($"{what} file not found: {path}", what);
        }
    }

    private static T Wrap<T>(string file, Func<T> read)
    {
        try
        {
            return read();
        }
        catch (Exception ex) when (ex is KeyNotFoundException or InvalidCastException or ArgumentException && ex is not CheckpointFormatException)
        {
            throw new ArgumentException($"{file}: {ex.Message}", nameof(file), ex);
        }
    }

    /// <summary>The settings <see cref="ParseSettings"/> reads (captum explain's and attribute-dataset's --setting / --model-setting names).</summary>
    internal static readonly string[] SettingNames = ["image-size", "central-fraction", "max-image-pixels", "resnet-variant", "image-baseline", "device"];

    internal static VqaModelOptions ParseSettings(IReadOnlyDictionary<string, string> settings)
    {
        if (settings.Keys.FirstOrDefault(k => !SettingNames.Contains(k, StringComparer.Ordinal)) is { } unknown)
        {
            throw new ArgumentException($"'{unknown}' is not a setting of the VQA model; its settings are {string.Join(", ", SettingNames)}.", nameof(settings));
        }

        var options = new VqaModelOptions();
        if (settings.TryGetValue("image-size", out var size))
        {
            options = options with
            {
                ImageSize = int.TryParse(size, NumberStyles.Integer, CultureInfo.InvariantCulture, out var s) && s is >= Commands.VqaRequest.MinImageSize and <= ImageTransform.MaxImageSize
                    ? s
                    : throw new ArgumentException($"image-size must be a whole number from {Commands.VqaRequest.MinImageSize} (the image network halves it five times) to {ImageTransform.MaxImageSize}, not '{size}'.", nameof(settings)),
            };
        }

        if (settings.TryGetValue("central-fraction", out var fraction))
        {
            options = options with { CentralFraction = double.TryParse(fraction, NumberStyles.Float, CultureInfo.InvariantCulture, out var f) && f > 0 && f <= 1 ? f : throw new ArgumentException($"central-fraction must be in (0, 1], not '{fraction}'.", nameof(settings)) };
        }

        if (settings.TryGetValue("max-image-pixels", out var pixels))
        {
            options = options with { MaxImagePixels = long.TryParse(pixels, NumberStyles.Integer, CultureInfo.InvariantCulture, out var p) && p is >= 1 and <= ImageFiles.HighestMaxPixels ? p : throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"max-image-pixels must be a whole number in [1, {ImageFiles.HighestMaxPixels}], not '{pixels}'."), nameof(settings)) };
        }

        if (settings.TryGetValue("resnet-variant", out var variant))
        {
            options = options with { ResNetVariant = Enum.TryParse<ResNetVariant>(variant, ignoreCase: true, out var v) ? v : throw new ArgumentException($"resnet-variant must be caffe or torchvision, not '{variant}'.", nameof(settings)) };
        }

        if (settings.TryGetValue("image-baseline", out var baseline))
        {
            options = options with { ImageBaseline = ImageBaselineNames.Parse(baseline, "image-baseline") };
        }

        if (settings.TryGetValue("device", out var deviceName))
        {
            options = options with { Device = torch.device(deviceName) };
        }

        return options;
    }
}
