using System.Text.Json;

namespace Captum.Plugins.Vqa.Commands;

/// <summary>The JSON file of <c>captum vqa-eval --json</c>: the headline figures first, then the details.</summary>
internal sealed record VqaEvalDocument(
    double Accuracy,
    double PointingGame,
    double RandomPointingGame,
    double MassOnObjects,
    double RandomMassOnObjects,
    double AreaOfObjects,
    double ObjectShare,
    double RandomObjectShare,
    double WordTest,
    double RandomWordTest,
    double WordChance,
    double DeltaMedian,
    double DeltaMean,
    double DeltaP90,
    double DeltaMax,
    double RandomDeltaMedian,
    double RandomDeltaMax,
    int Questions,
    int CorrectQuestions,
    int PointingQuestions,
    int RandomPointingQuestions,
    int Scenes,
    long Seed,
    int Steps,
    int Window,
    long RandomWeightsSeed,
    string ImageBaseline,
    string Method,
    string Model,
    long? ModelTrainingSeed,
    string Command,
    IReadOnlyDictionary<string, VqaEvalKindFigures> ByKind)
{
    private static readonly JsonSerializerOptions Options = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.CamelCase };

    /// <summary>The document as indented JSON, with camelCase names.</summary>
    public string ToJson() => JsonSerializer.Serialize(this, Options);
}

/// <summary>The figures of one question kind in <see cref="VqaEvalDocument.ByKind"/>.</summary>
internal sealed record VqaEvalKindFigures(
    double Accuracy,
    double PointingGame,
    double RandomPointingGame,
    double MassOnObjects,
    double RandomMassOnObjects,
    double AreaOfObjects,
    double ObjectShare,
    double WordTest,
    double RandomWordTest,
    double WordChance,
    IReadOnlyDictionary<string, double> TopWords,
    IReadOnlyDictionary<string, double> RandomTopWords,
    int Questions);
