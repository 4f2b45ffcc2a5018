using Captum.Forward;
using Captum.Layers;
using static TorchSharp.torch;

namespace Captum.Plugins;

/// <summary>
/// A loaded model ready to be explained: its forward function, how raw inputs become tensors, its
/// baselines, the layers to attribute to, and how outputs become labels.
/// </summary>
public interface IInterpretableModel : IDisposable
{
    /// <summary>The model's name.</summary>
    string Name { get; }

    /// <summary>The raw inputs <see cref="Prepare(IReadOnlyDictionary{string, string})"/> takes.</summary>
    IReadOnlyList<RawInputSpec> RawInputs { get; }

    /// <summary>
    /// The function to explain, over <see cref="PreparedInput.Inputs"/> followed by
    /// <see cref="PreparedInput.AdditionalForwardArgs"/>; its module is the root for <see cref="AttributionLayers"/>.
    /// </summary>
    ForwardFunction Forward { get; }

    /// <summary>
    /// The layers to attribute to, one per entry of <see cref="PreparedInput.Inputs"/> (paths relative to
    /// <see cref="Forward"/>'s module), e.g. the image input and the question embedding.
    /// </summary>
    IReadOnlyList<LayerReference> AttributionLayers { get; }

    /// <summary>The output labels, indexed by class (e.g. the answers).</summary>
    IReadOnlyList<string> Labels { get; }

    /// <summary>
    /// The scores shown for the model's outputs, [1, classes] from [1, classes]; the predicted class is the highest.
    /// The default is the softmax of the outputs, read as logits: a model that returns probabilities (or wants
    /// another score) overrides it. Captum Insights: <c>score_func</c> (whose default shows the outputs as they are).
    /// </summary>
    Tensor Scores(Tensor outputs) => softmax(outputs, 1);

    /// <summary>
    /// Turns raw inputs (names from <see cref="RawInputs"/>) into tensors on the model's device, with their
    /// baselines. The caller owns the tensors of the result.
    /// </summary>
    /// <exception cref="ArgumentException">A raw input is missing or invalid; the message names it.</exception>
    PreparedInput Prepare(IReadOnlyDictionary<string, string> rawInputs);

    /// <summary>
    /// Turns raw inputs given as text or as file contents in memory (an uploaded image, a generated dataset's
    /// image) into tensors, as <see cref="Prepare(IReadOnlyDictionary{string, string})"/> does. The default takes
    /// text values only and passes them on; a model whose file inputs can come from memory overrides it.
    /// </summary>
    /// <exception cref="ArgumentException">A raw input is missing or invalid; the message names it.</exception>
    /// <exception cref="NotSupportedException">A value is file contents and the model reads its files from paths only.</exception>
    PreparedInput Prepare(IReadOnlyDictionary<string, RawInputValue> rawInputs)
    {
        ArgumentNullException.ThrowIfNull(rawInputs);
        var texts = new Dictionary<string, string>(rawInputs.Count, StringComparer.Ordinal);
        foreach (var (name, value) in rawInputs)
        {
            ArgumentNullException.ThrowIfNull(value, nameof(rawInputs));
            texts[name] = value.Text ?? throw new NotSupportedException($"{Name} reads '{name}' from a file path only; it was given {value}.");
        }

        return Prepare(texts);
    }
}

/// <summary>Tensors for one example, ready for an attribution call, and what is needed to display them.</summary>
/// <param name="Inputs">The attributed inputs, batch of one.</param>
/// <param name="Baselines">One baseline per input (token ids for token inputs).</param>
/// <param name="AdditionalForwardArgs">Further forward arguments (e.g. the question length).</param>
/// <param name="Displays">For each input, how to show it and its attribution.</param>
public sealed record PreparedInput(
    IReadOnlyList<Tensor> Inputs,
    IReadOnlyList<BaselineValue> Baselines,
    IReadOnlyList<object?> AdditionalForwardArgs,
    IReadOnlyList<InputDisplay> Displays);

/// <summary>How an input is shown next to its attribution.</summary>
/// <param name="Name">The raw input's name.</param>
public abstract record InputDisplay(string Name);

/// <summary>An image input: the displayable image, [3, H, W] with values in [0, 1], the caller's to dispose.</summary>
public sealed record ImageDisplay(string Name, Tensor Image) : InputDisplay(Name);

/// <summary>A text input: the tokens, in order, one per position of the attributed sequence.</summary>
public sealed record TextDisplay(string Name, string Text, IReadOnlyList<string> Tokens) : InputDisplay(Name);
