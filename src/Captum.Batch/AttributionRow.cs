using System.Text.Json.Serialization;

namespace Captum.Batch;

/// <summary>
/// One example's row of an attribution run's Parquet output (columns named as the JSON properties, camelCase).
/// A row whose example failed (a missing image, an unknown word, an exception of the model, a NaN or infinite value;
/// see <see cref="DatasetAttribution.Attribute"/>) has <see cref="Error"/> set and no prediction, probability, delta
/// or inputs: no non-finite number is written.
/// </summary>
public sealed class AttributionRow : IShardRow
{
    /// <summary>Whether <see cref="Error"/> is set (no column: an explicit implementation).</summary>
    bool IShardRow.HasError => Error is not null;

    /// <summary>The example's index in the dataset.</summary>
    [JsonPropertyName("index")]
    public int Index { get; set; }

    /// <summary>The example's stable id (the dataset's; <c>#index</c> when the dataset could not produce the example).</summary>
    [JsonPropertyName("exampleId")]
    public string ExampleId { get; set; } = "";

    /// <summary>The example's expected label, when the dataset knows it.</summary>
    [JsonPropertyName("expectedLabel")]
    public string? ExpectedLabel { get; set; }

    /// <summary>The predicted label.</summary>
    [JsonPropertyName("prediction")]
    public string? Prediction { get; set; }

    /// <summary>The predicted class.</summary>
    [JsonPropertyName("predictionIndex")]
    public long? PredictionIndex { get; set; }

    /// <summary>The softmax probability of the explained class (the prediction's unless the target is the expected label).</summary>
    [JsonPropertyName("probability")]
    public double? Probability { get; set; }

    /// <summary>The explained label.</summary>
    [JsonPropertyName("target")]
    public string? Target { get; set; }

    /// <summary>The explained class.</summary>
    [JsonPropertyName("targetIndex")]
    public long? TargetIndex { get; set; }

    /// <summary>The convergence delta of a path method; null for methods without one.</summary>
    [JsonPropertyName("delta")]
    public double? Delta { get; set; }

    /// <summary>The integration steps used (the run's <c>--steps</c>).</summary>
    [JsonPropertyName("steps")]
    public int Steps { get; set; }

    /// <summary>Wall-clock milliseconds spent on the example (the one column that differs between runs).</summary>
    [JsonPropertyName("timeMs")]
    public double TimeMs { get; set; }

    /// <summary>Why the example has no attribution; null when it has one.</summary>
    [JsonPropertyName("error")]
    public string? Error { get; set; }

    /// <summary>The attribution summary of every input (see <see cref="Captum.Explain.ExplanationSummaries"/>).</summary>
    [JsonPropertyName("inputs")]
    public List<InputSummaryRow> Inputs { get; set; } = [];

    /// <summary>The dataset's annotations of the example, as "name=value".</summary>
    [JsonPropertyName("annotations")]
    public List<string> Annotations { get; set; } = [];
}

/// <summary>One input's attribution summary in an <see cref="AttributionRow"/> (see <see cref="Captum.Explain.InputSummary"/>).</summary>
public sealed class InputSummaryRow
{
    /// <inheritdoc cref="Captum.Explain.InputSummary.Input"/>
    [JsonPropertyName("input")]
    public string Input { get; set; } = "";

    /// <inheritdoc cref="Captum.Explain.InputSummary.Kind"/>
    [JsonPropertyName("kind")]
    public string Kind { get; set; } = "";

    /// <inheritdoc cref="Captum.Explain.InputSummary.Labels"/>
    [JsonPropertyName("labels")]
    public List<string> Labels { get; set; } = [];

    /// <inheritdoc cref="Captum.Explain.InputSummary.Scores"/>
    [JsonPropertyName("scores")]
    public List<float> Scores { get; set; } = [];

    /// <inheritdoc cref="Captum.Explain.InputSummary.Rows"/>
    [JsonPropertyName("rows")]
    public int Rows { get; set; }

    /// <inheritdoc cref="Captum.Explain.InputSummary.Columns"/>
    [JsonPropertyName("columns")]
    public int Columns { get; set; }

    /// <inheritdoc cref="Captum.Explain.InputSummary.Contribution"/>
    [JsonPropertyName("contribution")]
    public double Contribution { get; set; }
}
