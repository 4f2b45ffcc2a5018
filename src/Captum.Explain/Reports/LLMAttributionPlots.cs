using Captum.Attr;
using Captum.Visualization;

namespace Captum.Explain.Reports;

/// <summary>
/// Captum's two plots of an <see cref="LLMAttributionResult"/> (<see cref="TokenAttributionPlots"/> over the result's
/// tokens and values), here because Captum.Visualization does not reference Captum.Attr.
/// </summary>
public static class LLMAttributionPlots
{
    /// <summary>
    /// The token heat map of <see cref="LLMAttributionResult.TokenAttribution"/>: answer tokens by input features, with
    /// the step scores (probability p and entropy H) as two columns beside it when the result has them. A contrastive
    /// result labels its rows "answer / foil".
    /// </summary>
    /// <param name="result">The result; read, not disposed.</param>
    /// <param name="title">A title, or null.</param>
    /// <returns>The chart.</returns>
    /// <exception cref="InvalidOperationException">The result has no token attribution (Lime, KernelShap, or a contrast whose foil differs in length).</exception>
    /// <remarks>Python: <c>LLMAttributionResult.plot_token_attr()</c>.</remarks>
    public static SvgChart PlotTokenAttribution(this LLMAttributionResult result, string? title = null)
    {
        ArgumentNullException.ThrowIfNull(result);
        if (result.TokenAttribution is not { } tokens)
        {
            throw new InvalidOperationException("The result has no token attribution (the method gives only the whole answer's); use PlotSequenceAttribution.");
        }

        using var scope = torch.NewDisposeScope();
        var values = tokens.detach().cpu().to_type(ScalarType.Float32);
        var (rows, cols) = ((int)values.shape[0], (int)values.shape[1]);
        var flat = values.data<float>().ToArray();
        var grid = new float[rows, cols];
        Buffer.BlockCopy(flat, 0, grid, 0, flat.Length * sizeof(float));
        var labels = result.FoilTokens is { } foil && foil.Count == rows
            ? result.OutputTokens.Select((t, i) => $"{t} / {foil[i]}").ToList()
            : result.OutputTokens;
        var scores = result.StepScores is { } steps ? ScoreColumns(steps) : null;
        return TokenAttributionPlots.TokenHeatMap(result.InputTokens, labels, grid, scores, title);
    }

    /// <summary>
    /// The sequence bar chart of <see cref="LLMAttributionResult.SequenceAttribution"/>: one bar per input feature,
    /// and under it, when the result has step scores and <paramref name="stepScores"/> is true, a table of each answer
    /// token's probability p and entropy H (what the token heat map draws beside its rows, for results without one:
    /// Lime, KernelShap, a contrast whose foil differs in length).
    /// </summary>
    /// <param name="result">The result; read, not disposed.</param>
    /// <param name="title">A title, or null.</param>
    /// <param name="stepScores">Whether to draw the step scores under the bars (true by default); false when the token heat map beside it already shows them.</param>
    /// <returns>The chart.</returns>
    /// <remarks>Python: <c>LLMAttributionResult.plot_seq_attr()</c>; the step scores are beyond Captum.</remarks>
    public static SvgChart PlotSequenceAttribution(this LLMAttributionResult result, string? title = null, bool stepScores = true)
    {
        ArgumentNullException.ThrowIfNull(result);
        using var scope = torch.NewDisposeScope();
        var values = result.SequenceAttribution.detach().cpu().to_type(ScalarType.Float32).data<float>().ToArray();
        return stepScores && result.StepScores is { } steps
            ? TokenAttributionPlots.SequenceBarChart(result.InputTokens, values, title, result.OutputTokens, ScoreColumns(steps))
            : TokenAttributionPlots.SequenceBarChart(result.InputTokens, values, title);
    }

    /// <summary>The step scores as the plots' two columns: the probability p (on a scale of 0 to 1) and the entropy H.</summary>
    private static List<ScoreColumn> ScoreColumns(IReadOnlyList<LLMStepScore> steps) =>
        [new ScoreColumn("p", steps.Select(s => s.Probability).ToList(), 1.0), new ScoreColumn("H", steps.Select(s => s.Entropy).ToList())];
}
