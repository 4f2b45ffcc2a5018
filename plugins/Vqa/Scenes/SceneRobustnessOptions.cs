using Captum.Explain;
using Captum.Forward;
using Captum.Plugins.Vqa.Tutorial;
using Captum.Robust;

namespace Captum.Plugins.Vqa.Scenes;

/// <summary>How <see cref="SceneRobustness.Attack"/> attacks and explains.</summary>
public sealed record SceneRobustnessOptions
{
    /// <summary>
    /// The Linf radii, in [0, 1] pixel units, starting with 0: the clean image, which the other radii's answers and
    /// attributions are compared with. Default 0, 1, 2, 4, 8 and 16 / 255.
    /// </summary>
    public IReadOnlyList<double> Radii { get; init; } = [0, 1 / 255.0, 2 / 255.0, 4 / 255.0, 8 / 255.0, 16 / 255.0];

    /// <summary>PGD's steps per radius (<c>step_num</c>); the step size is 2.5 × radius / steps.</summary>
    public int AttackSteps { get; init; } = 10;

    /// <summary>Layer Integrated Gradients' steps for each explanation.</summary>
    public int ExplanationSteps { get; init; } = 30;

    /// <summary>The pointing game's window (odd), as in <see cref="AttributionQualityOptions.Window"/>.</summary>
    public int Window { get; init; } = 9;

    internal void Validate()
    {
        if (Radii is null || Radii.Count == 0 || Radii[0] != 0 || Radii.Any(r => !double.IsFinite(r) || r < 0 || r > 1))
        {
            throw new ArgumentException("Radii: start with 0 (the clean image, the reference of the comparisons), each radius in [0, 1] (pixel units).", nameof(Radii));
        }

        if (AttackSteps < 1)
        {
            throw new ArgumentException($"AttackSteps must be at least 1, not {AttackSteps}.", nameof(AttackSteps));
        }

        if (ExplanationSteps < 1)
        {
            throw new ArgumentException($"ExplanationSteps must be at least 1, not {ExplanationSteps}.", nameof(ExplanationSteps));
        }

        if (Window < 1 || Window % 2 == 0)
        {
            throw new ArgumentException($"Window must be odd and positive, not {Window}.", nameof(Window));
        }
    }
}
