using Captum.Plugins;

namespace Captum.Explain;

/// <summary>
/// A small, fixed-size summary of one input's attribution, as <c>captum attribute-dataset</c> stores it per example:
/// per-token scores for a text input, a heat map on a small grid for an image input.
/// </summary>
/// <param name="Input">The raw input's name (the display's).</param>
/// <param name="Kind">"text", "image", or what a plugin's own summary calls it.</param>
/// <param name="Labels">What each score is of: the tokens of a text input; empty for a heat map.</param>
/// <param name="Scores">The scores: one per token, or the heat map row-major (<paramref name="Rows"/> x <paramref name="Columns"/>).</param>
/// <param name="Rows">The heat map's rows; 1 for a list of scores.</param>
/// <param name="Columns">The heat map's columns; the number of scores for a list.</param>
/// <param name="Contribution">The sum of the input's whole attribution.</param>
public sealed record InputSummary(string Input, string Kind, IReadOnlyList<string> Labels, IReadOnlyList<float> Scores, int Rows, int Columns, double Contribution);

/// <summary>
/// The hook a plugin implements to define its own per-example summary: an <see cref="IInterpretableModel"/> that
/// also implements this interface is summarised by <see cref="Summarize"/> instead of
/// <see cref="ExplanationSummaries.Default"/>.
/// </summary>
public interface IExplanationSummarizer
{
    /// <summary>The summary of every input of <paramref name="explanation"/>; keep it small (it is stored once per example).</summary>
    /// <param name="explanation">The explanation (its tensors are the caller's).</param>
    /// <param name="grid">The heat map side the user asked for (<c>--grid</c>).</param>
    IReadOnlyList<InputSummary> Summarize(Explanation explanation, int grid);
}

/// <summary>The generic summaries of explanations: per-token scores for text inputs, downsampled heat maps for images.</summary>
public static class ExplanationSummaries
{
    /// <summary>The default heat map side: 8 x 8 cells.</summary>
    public const int DefaultGrid = 8;

    /// <summary>
    /// The summary of <paramref name="explanation"/>: the model's own (<see cref="IExplanationSummarizer"/>) when it
    /// has one, otherwise <see cref="Default"/>.
    /// </summary>
    public static IReadOnlyList<InputSummary> Of(IInterpretableModel model, Explanation explanation, int grid = DefaultGrid)
    {
        ArgumentNullException.ThrowIfNull(model);
        return model is IExplanationSummarizer own ? own.Summarize(explanation, grid) : Default(explanation, grid);
    }

    /// <summary>
    /// The generic summary: for a <see cref="TextDisplay"/> the token attributions with their tokens; for an
    /// <see cref="ImageDisplay"/> the attribution summed over channels ([C, H, W] or [H, W]) and averaged over
    /// at most <paramref name="grid"/> x <paramref name="grid"/> cells (adaptive average pooling); for any other
    /// input only the contribution.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="grid"/> is below 1.</exception>
    public static IReadOnlyList<InputSummary> Default(Explanation explanation, int grid = DefaultGrid)
    {
        ArgumentNullException.ThrowIfNull(explanation);
        ArgumentOutOfRangeException.ThrowIfLessThan(grid, 1);
        var summaries = new List<InputSummary>(explanation.Inputs.Count);
        foreach (var input in explanation.Inputs)
        {
            summaries.Add(input.Display switch
            {
                TextDisplay text => new InputSummary(
                    text.Name,
                    "text",
                    text.Tokens,
                    input.TokenAttributions ?? [],
                    1,
                    input.TokenAttributions?.Count ?? 0,
                    input.Contribution),
                ImageDisplay image when input.Attribution.dim() is 2 or 3 => HeatMap(image.Name, input.Attribution, grid, input.Contribution),
                _ => new InputSummary(input.Display.Name, "other", [], [], 0, 0, input.Contribution),
            });
        }

        return summaries;
    }

    private static InputSummary HeatMap(string name, Tensor attribution, int grid, double contribution)
    {
        using var scope = torch.NewDisposeScope();
        var map = attribution.dim() == 3 ? attribution.sum(dim: 0) : attribution;
        var (height, width) = ((int)Math.Min(grid, map.shape[0]), (int)Math.Min(grid, map.shape[1]));
        var pooled = torch.nn.functional.adaptive_avg_pool2d(map.detach().to_type(ScalarType.Float32).unsqueeze(0).unsqueeze(0), [height, width]);
        return new InputSummary(name, "image", [], pooled.reshape(-1).cpu().data<float>().ToArray(), height, width, contribution);
    }
}
