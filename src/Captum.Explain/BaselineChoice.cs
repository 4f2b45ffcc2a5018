using Captum.Plugins;

namespace Captum.Explain;

/// <summary>
/// A baseline chosen by name for one explanation, applied to a prepared input before the methods run: the model's own
/// (<see cref="IInterpretableModel.Prepare(IReadOnlyDictionary{string, string})"/>'s), zero, or a blurred image.
/// Captum Insights takes baseline transforms per feature and uses only the first; here the user picks per request,
/// as attributions depend on the baseline (a black image says "what makes this differ from black").
/// </summary>
/// <remarks>
/// Token inputs (integer tensors) always keep the model's baseline tokens: a token has no zero or blur. The new
/// tensors join the dispose scope current at <see cref="Apply"/>, as the prepared input's own do.
/// </remarks>
/// <param name="Name">The name a request gives (<c>model</c>, <c>zero</c>, <c>blur</c>).</param>
/// <param name="Description">One sentence on it.</param>
public sealed record BaselineChoice(string Name, string Description)
{
    /// <summary>The model's own baselines, unchanged (e.g. the VQA model's zero image and padding tokens).</summary>
    public static BaselineChoice Model { get; } = new("model", "The model's own baselines (its image baseline and padding tokens).");

    /// <summary>Zero for every floating-point input (for a normalised image: the normalisation's mean colour).</summary>
    public static BaselineChoice Zero { get; } = new("zero", "Zero for every floating-point input (a normalised image's zero is its mean colour); tokens keep the model's.");

    /// <summary>
    /// Each image input (shown as an image, [1, C, H, W]) blurred by a Gaussian of standard deviation a sixteenth of
    /// its longer side, mirrored at the borders: the attribution then says what the fine detail adds. Other inputs
    /// keep the model's baselines.
    /// </summary>
    public static BaselineChoice Blur { get; } = new("blur", "Each image blurred (Gaussian, sigma a sixteenth of its longer side): what the fine detail adds; other inputs keep the model's.");

    /// <summary>Every choice, the default (<see cref="Model"/>) first.</summary>
    public static IReadOnlyList<BaselineChoice> All { get; } = [Model, Zero, Blur];

    /// <summary>Every choice with its description ("model: ...; zero: ...; blur: ..."), for an option's help.</summary>
    public static string Described { get; } = string.Join("; ", All.Select(b => $"{b.Name}: {b.Description.TrimEnd('.')}")) + ".";

    /// <summary>The choice named <paramref name="name"/> (ordinal), or null.</summary>
    public static BaselineChoice? Find(string? name) => All.FirstOrDefault(c => string.Equals(c.Name, name, StringComparison.Ordinal));

    /// <summary>The choice named <paramref name="name"/>.</summary>
    /// <param name="name">The name given.</param>
    /// <param name="argument">What gave it, for the message and the exception's parameter name (e.g. <c>--baseline</c>).</param>
    /// <exception cref="ArgumentException">No choice has that name; the message starts with <paramref name="argument"/>.</exception>
    public static BaselineChoice Parse(string? name, string argument) => Find(name) ?? throw new ArgumentException(Unknown(argument, name), argument);

    /// <summary>"<paramref name="argument"/> must be one of model, zero, blur, not '<paramref name="name"/>'."</summary>
    public static string Unknown(string argument, string? name) => $"{argument} must be one of {string.Join(", ", All.Select(b => b.Name))}, not '{name}'.";

    /// <summary>The prepared input with this choice's baselines; the same input for <see cref="Model"/>.</summary>
    public PreparedInput Apply(PreparedInput input)
    {
        ArgumentNullException.ThrowIfNull(input);
        Captum.Runtime.TorchRuntime.EnsureAvailable();
        if (input.Baselines.Count != input.Inputs.Count || input.Displays.Count != input.Inputs.Count)
        {
            throw new ArgumentException($"input has {input.Inputs.Count} inputs, {input.Baselines.Count} baselines and {input.Displays.Count} displays; each input needs one of each.", nameof(input));
        }

        if (this == Model)
        {
            return input;
        }

        var baselines = new BaselineValue[input.Inputs.Count];
        for (var i = 0; i < baselines.Length; i++)
        {
            var x = input.Inputs[i];
            baselines[i] = !x.is_floating_point() ? input.Baselines[i]
                : this == Zero ? torch.zeros_like(x)
                : this == Blur && input.Displays[i] is ImageDisplay && x.dim() == 4 ? Blurred(x)
                : input.Baselines[i];
        }

        return input with { Baselines = baselines };
    }

    /// <summary>
    /// <paramref name="images"/> ([n, C, H, W]) blurred by a separable Gaussian of standard deviation a sixteenth of
    /// the longer side (at least half a pixel), its radius three deviations but less than either side, reflected at
    /// the borders so that a constant image stays constant.
    /// </summary>
    internal static Tensor Blurred(Tensor images)
    {
        var (channels, height, width) = (images.shape[1], images.shape[2], images.shape[3]);
        var sigma = Math.Max(0.5, Math.Max(height, width) / 16.0);
        var radius = (int)Math.Min(Math.Ceiling(3 * sigma), Math.Min(height, width) - 1);
        if (radius < 1)
        {
            return images.detach().clone();
        }

        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var offsets = torch.arange(-radius, radius + 1, dtype: images.dtype, device: images.device);
        var kernel = torch.exp(-(offsets * offsets) / (2 * sigma * sigma));
        kernel /= kernel.sum();
        var padded = nn.functional.pad(images.detach(), [radius, radius, radius, radius], PaddingModes.Reflect);
        var rows = nn.functional.conv2d(padded, kernel.reshape(1, 1, 1, -1).expand(channels, 1, 1, -1).contiguous(), groups: channels);
        return nn.functional.conv2d(rows, kernel.reshape(1, 1, -1, 1).expand(channels, 1, -1, 1).contiguous(), groups: channels).MoveToOuterDisposeScope();
    }
}
