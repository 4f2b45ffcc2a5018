using Captum.Forward;
using Captum.Runtime;
using static TorchSharp.torch;

namespace Captum.Attr;

/// <summary>
/// DeepLift SHAP: DeepLift with respect to every example of a baseline distribution, averaged over the
/// distribution; an approximation of SHAP values that assumes independent input features and a model that
/// is linear in each explanation (Lundberg and Lee, 2017).
/// </summary>
/// <remarks>
/// <para>Python: <c>captum.attr.DeepLiftShap(model, multiply_by_inputs=True)</c>.</para>
/// <para>
/// The baselines are per input a tensor of m &gt; 1 reference examples (the same m for every input), shaped
/// like the input after the first dimension. Every example is paired with every reference (inputs repeated in
/// place, references tiled, targets and additional arguments expanded like the inputs), DeepLift runs once on the
/// n * m pairs, and the attributions are averaged over the references. The delta, when asked, is per pair:
/// [n * m], ordered by example then reference. The same modules are supported as by <see cref="DeepLift"/>,
/// with the same guarantees about the model. Cost: one DeepLift pass over 2 * n * m examples.
/// </para>
/// </remarks>
public sealed class DeepLiftShap : IAttributionMethod<DeepLiftShapOptions>
{
    private readonly DeepLift deepLift;

    /// <summary>Creates the method for <paramref name="model"/>.</summary>
    /// <param name="model">The model: a forward function built from a module, whose nonlinearity modules get the rules.</param>
    /// <param name="multiplyByInputs">
    /// True (default) for attributions multiplied by (input - baseline) before averaging; false for the averaged
    /// multipliers. Python: <c>multiply_by_inputs</c>.
    /// </param>
    /// <exception cref="ArgumentException">The forward function has no module.</exception>
    public DeepLiftShap(ForwardFunction model, bool multiplyByInputs = true)
    {
        ArgumentNullException.ThrowIfNull(model);
        TorchRuntime.EnsureAvailable();
        deepLift = new DeepLift(model, multiplyByInputs);
    }

    /// <summary>Whether attributions are multiplied by (input - baseline). Python: <c>multiplies_by_inputs</c>.</summary>
    public bool MultipliesByInputs => deepLift.MultipliesByInputs;

    /// <summary>True: the delta is reported per pair of example and reference. Python: <c>has_convergence_delta()</c>.</summary>
    public bool HasConvergenceDelta => true;

    /// <summary>Attributes the explained output to every element of every input, averaged over the baseline distribution.</summary>
    /// <param name="inputs">One tensor or several, batch first, floating point. They are not modified.</param>
    /// <param name="options">The baseline distribution (required), target, additional arguments and the delta flag.</param>
    /// <param name="cancellationToken">Checked before the pass.</param>
    /// <returns>One attribution per input, of its shape (and the delta, [n * m], when asked); the caller disposes it.</returns>
    /// <exception cref="ArgumentException">
    /// An argument does not fit (no distribution, a single reference, shapes or counts that differ), or the model
    /// holds a nonlinearity DeepLift has no rule for; the message names it.
    /// </exception>
    public AttributionResult Attribute(Inputs inputs, DeepLiftShapOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new DeepLiftShapOptions();
        options = options with { Baselines = options.Baselines.Resolve(inputs) };
        var tensors = inputs.Tensors;
        using var scope = torch.NewDisposeScope();
        var n = ArgumentPreparation.BatchSize(tensors);
        InputChecks.RequireFloatingPoint(tensors, nameof(DeepLiftShap));
        options.Target.ValidateCount(n);
        var pairs = ReferencePairs.Of(tensors, n, options.Baselines, options.AdditionalForwardArgs, options.Target, nameof(DeepLiftShap));
        cancellationToken.ThrowIfCancellationRequested();
        var (attributions, delta) = deepLift.Compute(
            pairs.Inputs, pairs.Baselines, pairs.AdditionalForwardArgs, pairs.Target, options.ReturnConvergenceDelta, options.CustomAttributionFunc);

        options.Progress?.Report(new AttributionProgress(1, 1));
        var result = new AttributionResult(
            attributions.Select(a => pairs.Mean(a).MoveToOuterDisposeScope()).ToArray(),
            delta?.MoveToOuterDisposeScope());
        return result;
    }
}

/// <summary>The arguments of <see cref="DeepLiftShap.Attribute"/>.</summary>
/// <remarks>
/// Python: the keyword arguments of <c>DeepLiftShap.attribute</c>. <c>Baselines</c> is a distribution: per input
/// a tensor of more than one reference example, shaped like the input after the first dimension, with the
/// same number of examples for every input.
/// </remarks>
public sealed record DeepLiftShapOptions : BaselineAttributionOptions
{
    /// <summary>
    /// Also compute the convergence delta, one per pair of example and reference (ordered by example, then
    /// reference: [n * references]). Python: <c>return_convergence_delta</c>.
    /// </summary>
    public bool ReturnConvergenceDelta { get; init; }

    /// <summary>As <see cref="DeepLiftOptions.CustomAttributionFunc"/>, applied per pair before averaging. Python: <c>custom_attribution_func</c>.</summary>
    public CustomAttributionFunc? CustomAttributionFunc { get; init; }
}
