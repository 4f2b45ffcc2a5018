using Captum.Runtime;
using TorchSharp;

namespace Captum.Visualization;

/// <summary>
/// One row of <see cref="TextVisualizer.VisualizeText"/>: a text's word attributions with its prediction and labels.
/// Captum: <c>captum.attr.visualization.VisualizationDataRecord</c>.
/// </summary>
/// <remarks>
/// Captum types the class fields as ints but its tutorials pass strings (answers, "Pos"/"Neg"); the port takes the
/// labels as the text to show. Python name of each member is given in its documentation.
/// </remarks>
public sealed class VisualizationDataRecord
{
    /// <summary>Creates a record.</summary>
    /// <param name="wordAttributions">One importance a token (<c>word_attributions</c>); may be longer than
    /// <paramref name="rawInputIds"/> (extra values are ignored) or empty (no words are drawn).</param>
    /// <param name="predProb">The predicted probability (<c>pred_prob</c>).</param>
    /// <param name="predClass">The predicted label (<c>pred_class</c>).</param>
    /// <param name="trueClass">The true label (<c>true_class</c>).</param>
    /// <param name="attrClass">The label the attribution was computed for (<c>attr_class</c>).</param>
    /// <param name="attrScore">The attribution score, usually the sum of the attributions (<c>attr_score</c>).</param>
    /// <param name="rawInputIds">The tokens as text (<c>raw_input_ids</c>).</param>
    /// <param name="convergenceScore">The convergence delta (<c>convergence_score</c>); kept, not shown (as in Captum).</param>
    public VisualizationDataRecord(
        IReadOnlyList<double> wordAttributions,
        double predProb,
        string predClass,
        string trueClass,
        string attrClass,
        double attrScore,
        IReadOnlyList<string> rawInputIds,
        double convergenceScore)
    {
        ArgumentNullException.ThrowIfNull(wordAttributions);
        ArgumentNullException.ThrowIfNull(predClass);
        ArgumentNullException.ThrowIfNull(trueClass);
        ArgumentNullException.ThrowIfNull(attrClass);
        ArgumentNullException.ThrowIfNull(rawInputIds);
        WordAttributions = wordAttributions.ToArray();
        PredProb = predProb;
        PredClass = predClass;
        TrueClass = trueClass;
        AttrClass = attrClass;
        AttrScore = attrScore;
        RawInputIds = rawInputIds.ToArray();
        ConvergenceScore = convergenceScore;
    }

    /// <summary>Creates a record from a tensor of word attributions (any shape; flattened in row-major order).</summary>
    /// <param name="wordAttributions">One importance a token (<c>word_attributions</c>), e.g.
    /// <c>attributions.sum(dim: 2).squeeze(0)</c>.</param>
    /// <param name="predProb">The predicted probability (<c>pred_prob</c>).</param>
    /// <param name="predClass">The predicted label (<c>pred_class</c>).</param>
    /// <param name="trueClass">The true label (<c>true_class</c>).</param>
    /// <param name="attrClass">The label the attribution was computed for (<c>attr_class</c>).</param>
    /// <param name="attrScore">The attribution score (<c>attr_score</c>).</param>
    /// <param name="rawInputIds">The tokens as text (<c>raw_input_ids</c>).</param>
    /// <param name="convergenceScore">The convergence delta (<c>convergence_score</c>).</param>
    /// <returns>The record, holding a copy of the values.</returns>
    public static VisualizationDataRecord FromTensor(
        torch.Tensor wordAttributions,
        double predProb,
        string predClass,
        string trueClass,
        string attrClass,
        double attrScore,
        IReadOnlyList<string> rawInputIds,
        double convergenceScore) =>
        new(TensorToDoubles(wordAttributions), predProb, predClass, trueClass, attrClass, attrScore, rawInputIds, convergenceScore);

    /// <summary>One importance a token (<c>word_attributions</c>).</summary>
    public IReadOnlyList<double> WordAttributions { get; }

    /// <summary>The predicted probability (<c>pred_prob</c>); NaN when unknown, which the table shows as the predicted class alone.</summary>
    public double PredProb { get; }

    /// <summary>The predicted label (<c>pred_class</c>).</summary>
    public string PredClass { get; }

    /// <summary>The true label (<c>true_class</c>).</summary>
    public string TrueClass { get; }

    /// <summary>The label the attribution was computed for (<c>attr_class</c>).</summary>
    public string AttrClass { get; }

    /// <summary>The attribution score (<c>attr_score</c>).</summary>
    public double AttrScore { get; }

    /// <summary>The tokens as text (<c>raw_input_ids</c>).</summary>
    public IReadOnlyList<string> RawInputIds { get; }

    /// <summary>The convergence delta (<c>convergence_score</c>).</summary>
    public double ConvergenceScore { get; }

    private static double[] TensorToDoubles(torch.Tensor t)
    {
        ArgumentNullException.ThrowIfNull(t);
        TorchRuntime.EnsureAvailable();
        using var scope = torch.NewDisposeScope();
        var flat = t.detach().to(torch.ScalarType.Float64, torch.CPU).contiguous().reshape(-1);
        return flat.data<double>().ToArray();
    }
}
