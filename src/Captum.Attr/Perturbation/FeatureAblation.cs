using Captum.Forward;
using Captum.Runtime;
using static TorchSharp.torch;

namespace Captum.Attr;

/// <summary>
/// Feature Ablation: replaces each feature (each scalar, or each group of a feature mask) with its baseline
/// and attributes to every element of the feature the drop of the explained output,
/// F(input) - F(input with the feature ablated).
/// </summary>
/// <remarks>
/// <para>Python: <c>captum.attr.FeatureAblation(forward_func)</c>.</para>
/// <para>
/// Outputs, as in Captum: when the forward function returns one value per example (after the target is
/// applied), attributions have the inputs' shapes. When it returns a fixed number k of values for the whole
/// batch (k differs from the batch size, e.g. a scalar loss), attributions have first dimension k and are
/// batch-wise: PerturbationsPerEval must then be 1 and every mask's first dimension 1.
/// </para>
/// <para>
/// Masks: by default (Captum 0.8.0's default) each input's mask ids are that input's own features, so the
/// same id in two inputs names two features ablated separately. With <c>EnableCrossTensorAttribution</c>
/// ids are global: a feature spans every input whose mask uses its id and is ablated in all of them in one
/// pass (later Captum releases always do this). Without masks both are the same: every scalar is a feature.
/// Inputs may hold integers (token ids); they are replaced by integer baselines and never converted.
/// Cost: 1 + ceil(features / PerturbationsPerEval) forward passes, without gradients. When PerturbationsPerEval is not
/// given it is chosen from <c>MaxMemoryBytes</c> (up to 32 rows per pass), with one more pass that checks the
/// model computes each row on its own (see <see cref="PerturbationOptions.PerturbationsPerEval"/>).
/// </para>
/// </remarks>
public sealed class FeatureAblation : IAttributionMethod<FeatureAblationOptions>
{
    private readonly ForwardFunction forward;

    /// <summary>Creates the method for <paramref name="forwardFunc"/>.</summary>
    /// <param name="forwardFunc">The model or function to explain. Python: <c>forward_func</c>.</param>
    public FeatureAblation(ForwardFunction forwardFunc)
    {
        ArgumentNullException.ThrowIfNull(forwardFunc);
        TorchRuntime.EnsureAvailable();
        forward = forwardFunc;
    }

    /// <summary>False: perturbation methods have no convergence delta. Python: <c>has_convergence_delta()</c>.</summary>
    public bool HasConvergenceDelta => false;

    /// <summary>The forward function, for <see cref="DataLoaderAttribution"/>, which runs it over a data loader. Python: <c>forward_func</c>.</summary>
    internal ForwardFunction ForwardFunc => forward;

    /// <summary>Attributes the explained output to every element of every input by ablating features.</summary>
    /// <param name="inputs">One tensor or several, batch first; floating point or integer. They are not modified.</param>
    /// <param name="options">Baselines, target, feature mask and the rest; Captum's defaults when null.</param>
    /// <param name="cancellationToken">Checked before every forward evaluation.</param>
    /// <returns>
    /// One attribution per input, of its shape (first dimension k when the forward function returns k values
    /// for the whole batch), in the output's floating type; the caller disposes it.
    /// </returns>
    /// <exception cref="ArgumentException">An argument does not fit; the message names it and what was expected.</exception>
    public AttributionResult Attribute(Inputs inputs, FeatureAblationOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new FeatureAblationOptions();
        options = options with { Baselines = options.Baselines.Resolve(inputs) };
        var tensors = inputs.Tensors;
        using var scope = torch.NewDisposeScope();
        var n = ArgumentPreparation.BatchSize(tensors);
        PerturbationEvaluation.PerturbationsPerEval(options.PerturbationsPerEval);
        MemoryProbe.CheckBudget(options.MaxMemoryBytes);
        options.Target.ValidateCount(n);
        var baselines = PerturbationEvaluation.Baselines(tensors, options.Baselines);
        var mask = ResolvedFeatureMask.Resolve(tensors, options.FeatureMask, n);

        using var noGrad = torch.no_grad();
        var outcome = AblationEngine.Run(
            forward,
            tensors,
            baselines,
            options.AdditionalForwardArgs ?? [],
            options.Target,
            new MaskedFeatures(mask, tensors.Count, options.EnableCrossTensorAttribution),
            options.PerturbationsPerEval,
            options.MaxMemoryBytes,
            useWeights: false,
            options.Progress,
            cancellationToken);
        foreach (var a in outcome.Attributions)
        {
            a.MoveToOuterDisposeScope();
        }

        return new AttributionResult(outcome.Attributions, null) { PerturbationsPerEval = outcome.PerturbationsPerEval, MemoryBudgetOverrun = outcome.Overrun };
    }
}

/// <summary>The arguments of <see cref="FeatureAblation.Attribute"/>.</summary>
/// <remarks>
/// Python: the keyword arguments of <c>FeatureAblation.attribute</c>. <see cref="MaskedPerturbationOptions.FeatureMask"/> here: groups elements into features ablated together; none makes every scalar a feature. With a forward function that returns one value for the whole batch, every mask's first dimension must be 1.
/// </remarks>
public sealed record FeatureAblationOptions : MaskedPerturbationOptions
{
    /// <summary>
    /// The memory budget that sizes the passes when <see cref="PerturbationOptions.PerturbationsPerEval"/> is not
    /// given: null for <see cref="MemoryBudget.DefaultBytes"/> (a quarter of the memory available), or
    /// <see cref="MemoryBudget.Unlimited"/> for none (the cap of <see cref="PerturbationOptions.AutomaticPerturbationRows"/>
    /// rows still applies). Ignored when PerturbationsPerEval is given. Beyond Captum.
    /// </summary>
    /// <remarks>
    /// A budget given here that one perturbation of the batch exceeds is refused (an <see cref="ArgumentException"/>
    /// naming MaxMemoryBytes) before any perturbation is evaluated; one perturbation over the default budget runs one per
    /// pass, and the result's <see cref="AttributionResult.MemoryBudgetOverrun"/> says so.
    /// </remarks>
    public long? MaxMemoryBytes { get; init; }

    /// <summary>
    /// False (default): each input's mask ids are that input's own features (the same id in two inputs names
    /// two features). True: ids are global, so a feature spans every input whose mask uses its id and is
    /// ablated in all of them at once. Python: <c>enable_cross_tensor_attribution</c> (Captum 0.8.0's default
    /// is False; later releases always group across inputs).
    /// </summary>
    public bool EnableCrossTensorAttribution { get; init; }
}
