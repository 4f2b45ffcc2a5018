namespace Captum.Concept;

/// <summary>The TCAV scores of one experimental set in one layer, one per concept of the set, in its order.</summary>
/// <param name="Concepts">The experimental set.</param>
/// <param name="Layer">The layer's name.</param>
/// <param name="SignCount">
/// Per concept, the share of inputs whose layer sensitivity has a positive dot product with the concept's vector, in
/// [0, 1]. Python: <c>"sign_count"</c>.
/// </param>
/// <param name="Magnitude">
/// Per concept, the mean of those dot products over the inputs (its scale is the CAV's and the sensitivities').
/// Python: <c>"magnitude"</c>, which Captum 0.8.0 computes as this mean (its docstring's normalised formula is not what
/// its code does).
/// </param>
public sealed record TCAVScore(IReadOnlyList<Concept> Concepts, string Layer, IReadOnlyList<double> SignCount, IReadOnlyList<double> Magnitude)
{
    /// <summary>The set's key, its concept ids joined by hyphens ("0-1"), as Captum's result dictionary's.</summary>
    public string SetKey => Concept.KeyOf(Concepts);
}

/// <summary>
/// What <see cref="TCAV.Interpret"/> returns: the scores of every experimental set in every layer. Plain numbers: nothing
/// to dispose.
/// </summary>
/// <remarks>Python: the nested dictionary <c>scores[set_key][layer]["sign_count" | "magnitude"]</c>.</remarks>
public sealed class TCAVResult
{
    /// <summary>Creates a result from its scores.</summary>
    public TCAVResult(IReadOnlyList<TCAVScore> scores) => Scores = scores ?? throw new ArgumentNullException(nameof(scores));

    /// <summary>Every (set, layer) score, layer by layer, each layer's sets in the order given.</summary>
    public IReadOnlyList<TCAVScore> Scores { get; }

    /// <summary>The scores of the experimental set at <paramref name="set"/> (its index in the sets given) in <paramref name="layer"/>.</summary>
    /// <exception cref="KeyNotFoundException">No such set or layer.</exception>
    public TCAVScore this[int set, string layer]
    {
        get
        {
            var layerScores = Scores.Where(s => s.Layer == layer).ToList();
            return set >= 0 && set < layerScores.Count
                ? layerScores[set]
                : throw new KeyNotFoundException($"No scores for set {set} in layer '{layer}'; layers: {string.Join(", ", Scores.Select(s => s.Layer).Distinct())}.");
        }
    }

    /// <summary>The scores of the set with key <paramref name="setKey"/> ("0-1") in <paramref name="layer"/>.</summary>
    /// <exception cref="KeyNotFoundException">No such set or layer.</exception>
    public TCAVScore this[string setKey, string layer] =>
        Scores.FirstOrDefault(s => s.SetKey == setKey && s.Layer == layer)
        ?? throw new KeyNotFoundException($"No scores for set '{setKey}' in layer '{layer}'.");
}

/// <summary>A stage of a TCAV call.</summary>
public enum TCAVStage
{
    /// <summary>Concept activations: a unit is one concept whose activations were computed (all its layers).</summary>
    Activations,

    /// <summary>CAV training: a unit is one (set, layer) CAV trained.</summary>
    Classifiers,

    /// <summary>Input attributions: a unit is one layer attributed and scored.</summary>
    Attributions,
}

/// <summary>Progress of a TCAV call: units of <paramref name="Stage"/> done out of its total.</summary>
/// <param name="Stage">The stage.</param>
/// <param name="CompletedSteps">Units done in that stage.</param>
/// <param name="TotalSteps">Units of that stage in the call.</param>
public readonly record struct TCAVProgress(TCAVStage Stage, int CompletedSteps, int TotalSteps);

/// <summary>Which TCAV score a significance test compares.</summary>
public enum TCAVScoreKind
{
    /// <summary><see cref="TCAVScore.SignCount"/>, the TCAV paper's score.</summary>
    SignCount,

    /// <summary><see cref="TCAVScore.Magnitude"/>.</summary>
    Magnitude,
}
