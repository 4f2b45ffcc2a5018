using System.Diagnostics;
using System.Text.Json.Serialization;
using Captum.Batch;

namespace Captum.Plugins.Vqa.Scenes;

/// <summary>A <see cref="QuestionScore"/> as a Parquet struct (the fields of the record, camelCase; the kind by name).</summary>
public sealed class QuestionScoreRow
{
    /// <summary>The question's kind, lower case (<see cref="QuestionKind"/>).</summary>
    [JsonPropertyName("kind")]
    public string Kind { get; set; } = "";

    /// <inheritdoc cref="QuestionScore.Correct"/>
    [JsonPropertyName("correct")]
    public bool Correct { get; set; }

    /// <inheritdoc cref="QuestionScore.HasObjects"/>
    [JsonPropertyName("hasObjects")]
    public bool HasObjects { get; set; }

    /// <inheritdoc cref="QuestionScore.Pointed"/>
    [JsonPropertyName("pointed")]
    public bool Pointed { get; set; }

    /// <inheritdoc cref="QuestionScore.Mass"/>
    [JsonPropertyName("mass")]
    public double Mass { get; set; }

    /// <inheritdoc cref="QuestionScore.Area"/>
    [JsonPropertyName("area")]
    public double Area { get; set; }

    /// <inheritdoc cref="QuestionScore.ObjectShare"/>
    [JsonPropertyName("objectShare")]
    public double ObjectShare { get; set; }

    /// <inheritdoc cref="QuestionScore.WordHit"/>
    [JsonPropertyName("wordHit")]
    public bool WordHit { get; set; }

    /// <inheritdoc cref="QuestionScore.TopWord"/>
    [JsonPropertyName("topWord")]
    public string TopWord { get; set; } = "";

    /// <inheritdoc cref="QuestionScore.WordChance"/>
    [JsonPropertyName("wordChance")]
    public double WordChance { get; set; }

    /// <inheritdoc cref="QuestionScore.Delta"/>
    [JsonPropertyName("delta")]
    public double Delta { get; set; }

    /// <summary>The row of a score.</summary>
    public static QuestionScoreRow From(QuestionScore score)
    {
        ArgumentNullException.ThrowIfNull(score);
        return new QuestionScoreRow
        {
            Kind = score.Kind.ToString().ToLowerInvariant(),
            Correct = score.Correct,
            HasObjects = score.HasObjects,
            Pointed = score.Pointed,
            Mass = score.Mass,
            Area = score.Area,
            ObjectShare = score.ObjectShare,
            WordHit = score.WordHit,
            TopWord = score.TopWord,
            WordChance = score.WordChance,
            Delta = score.Delta,
        };
    }

    /// <summary>The score back.</summary>
    /// <exception cref="InvalidDataException">The kind is unknown.</exception>
    public QuestionScore ToScore() => new(
        Enum.TryParse<QuestionKind>(Kind, ignoreCase: true, out var kind) && Enum.IsDefined(kind)
            ? kind
            : throw new InvalidDataException($"a question score has the unknown kind '{Kind}'."),
        Correct,
        HasObjects,
        Pointed,
        Mass,
        Area,
        ObjectShare,
        WordHit,
        TopWord,
        WordChance,
        Delta);
}
