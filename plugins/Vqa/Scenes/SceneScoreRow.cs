using System.Diagnostics;
using System.Text.Json.Serialization;
using Captum.Batch;

namespace Captum.Plugins.Vqa.Scenes;

/// <summary>
/// One scene's row of a sharded vqa-eval run (Parquet columns named as the JSON properties): the scores of each of
/// its questions for the trained and the randomised model, in question order.
/// </summary>
/// <remarks>
/// A row per scene rather than per question: the scene is the unit of work (its image is prepared once for all its
/// questions) and of resumption, and the engine's parts hold one row per unit, which is what lets it check a part
/// holds exactly the units its manifest says. DuckDB or pandas flatten the lists when a row per question is wanted.
/// </remarks>
public sealed class SceneScoreRow : IShardRow
{
    /// <summary>The scene's index in the scene stream.</summary>
    [JsonPropertyName("index")]
    public int Index { get; set; }

    /// <summary>The trained model's score of every question.</summary>
    [JsonPropertyName("trained")]
    public List<QuestionScoreRow> Trained { get; set; } = [];

    /// <summary>The randomised model's score of every question.</summary>
    [JsonPropertyName("random")]
    public List<QuestionScoreRow> Random { get; set; } = [];

    /// <summary>Wall-clock milliseconds spent on the scene (the one column that differs between runs).</summary>
    [JsonPropertyName("timeMs")]
    public double TimeMs { get; set; }

    /// <summary>A scene either scores or stops the run: no row has an error.</summary>
    bool IShardRow.HasError => false;

    /// <summary>The row of a scene's scores.</summary>
    public static SceneScoreRow From(SceneScores scores, double timeMs)
    {
        ArgumentNullException.ThrowIfNull(scores);
        return new SceneScoreRow
        {
            Index = scores.Index,
            Trained = [.. scores.Trained.Select(QuestionScoreRow.From)],
            Random = [.. scores.Random.Select(QuestionScoreRow.From)],
            TimeMs = timeMs,
        };
    }

    /// <summary>The scene's scores back.</summary>
    /// <exception cref="InvalidDataException">A question's kind is unknown.</exception>
    public SceneScores ToScores() => new(Index, [.. Trained.Select(q => q.ToScore())], [.. Random.Select(q => q.ToScore())]);
}
