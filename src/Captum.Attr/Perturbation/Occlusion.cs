using Captum.Forward;
using Captum.Runtime;
using static TorchSharp.torch;

namespace Captum.Attr;

/// <summary>
/// Occlusion (Zeiler and Fergus, 2014): slides a patch over each input, replaces the covered elements with the
/// baseline, and attributes to each element the average drop of the explained output over all patch positions
/// that covered it. Built on <see cref="FeatureAblation"/>'s ablation loop, each patch position being one feature.
/// </summary>
/// <remarks>
/// <para>Python: <c>captum.attr.Occlusion(forward_func)</c>.</para>
/// <para>
/// The first patch has its corner at index 0 in every dimension; it then moves by the stride until the
/// dimension is covered, so the last patch in a direction may be cut off by the input's edge. Positions per
/// dimension: ceil((size - window) / stride) + 1. Each input is occluded separately (no patch spans inputs).
/// Inputs may hold integers (token ids), replaced by integer baselines. The forward function must return one
/// value per example, or (with PerturbationsPerEval 1) a fixed number of values for the whole batch.
/// Cost: 1 + ceil(positions / PerturbationsPerEval) forward passes, without gradients. When PerturbationsPerEval is not
/// given it is chosen from <c>MaxMemoryBytes</c> (up to 32 rows per pass), with one more pass that checks the
/// model computes each row on its own (see <see cref="PerturbationOptions.PerturbationsPerEval"/>).
/// </para>
/// </remarks>
public sealed class Occlusion : IAttributionMethod<OcclusionOptions>
{
    private readonly ForwardFunction forward;

    /// <summary>Creates the method for <paramref name="forwardFunc"/>.</summary>
    /// <param name="forwardFunc">The model or function to explain. Python: <c>forward_func</c>.</param>
    public Occlusion(ForwardFunction forwardFunc)
    {
        ArgumentNullException.ThrowIfNull(forwardFunc);
        TorchRuntime.EnsureAvailable();
        forward = forwardFunc;
    }

    /// <summary>False: Occlusion has no convergence delta. Python: <c>has_convergence_delta()</c>.</summary>
    public bool HasConvergenceDelta => false;

    /// <summary>Attributes the explained output to every element of every input by occluding patches.</summary>
    /// <param name="inputs">One tensor or several, batch first; floating point or integer. They are not modified.</param>
    /// <param name="options">The window shapes (required: without them, including when options is null, the call throws naming SlidingWindowShapes), strides, baselines, target and the rest.</param>
    /// <param name="cancellationToken">Checked before every forward evaluation.</param>
    /// <returns>
    /// One attribution per input, of its shape, in the output's floating type (Captum casts Occlusion's to
    /// float32; the two agree for float32 models); the caller disposes it.
    /// </returns>
    /// <exception cref="ArgumentException">An argument does not fit; the message names it and what was expected.</exception>
    public AttributionResult Attribute(Inputs inputs, OcclusionOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new OcclusionOptions();
        var tensors = inputs.Tensors;
        using var scope = torch.NewDisposeScope();
        var n = ArgumentPreparation.BatchSize(tensors);
        var windows = options.SlidingWindowShapes.Resolve(tensors);
        var strides = options.Strides.Resolve(tensors, windows);
        PerturbationEvaluation.PerturbationsPerEval(options.PerturbationsPerEval);
        MemoryProbe.CheckBudget(options.MaxMemoryBytes);
        options.Target.ValidateCount(n);
        var baselines = PerturbationEvaluation.Baselines(tensors, options.Baselines);

        using var noGrad = torch.no_grad();
        var outcome = AblationEngine.Run(
            forward,
            tensors,
            baselines,
            options.AdditionalForwardArgs ?? [],
            options.Target,
            new WindowFeatures(tensors, windows, strides),
            options.PerturbationsPerEval,
            options.MaxMemoryBytes,
            useWeights: true,
            options.Progress,
            cancellationToken);
        foreach (var a in outcome.Attributions)
        {
            a.MoveToOuterDisposeScope();
        }

        return new AttributionResult(outcome.Attributions, null) { PerturbationsPerEval = outcome.PerturbationsPerEval, MemoryBudgetOverrun = outcome.Overrun };
    }

    /// <summary>The patch positions of every input, input by input; within an input the first dimension varies fastest.</summary>
    private sealed class WindowFeatures : AblationFeatures
    {
        private readonly IReadOnlyList<Tensor> inputs;
        private readonly long[][] windows;
        private readonly long[][] strides;
        private readonly long[][] shiftCounts;
        private readonly int[] offsets;

        public WindowFeatures(IReadOnlyList<Tensor> inputs, long[][] windows, long[][] strides)
        {
            this.inputs = inputs;
            this.windows = windows;
            this.strides = strides;
            shiftCounts = new long[inputs.Count][];
            offsets = new int[inputs.Count + 1];
            for (var i = 0; i < inputs.Count; i++)
            {
                var dims = windows[i].Length;
                shiftCounts[i] = new long[dims];
                long positions = 1;
                for (var d = 0; d < dims; d++)
                {
                    var free = inputs[i].shape[d + 1] - windows[i][d];
                    shiftCounts[i][d] = ((free + strides[i][d] - 1) / strides[i][d]) + 1;
                    positions *= shiftCounts[i][d];
                }

                offsets[i + 1] = checked(offsets[i] + (int)(inputs[i].numel() == 0 ? 0 : positions));
            }
        }

        public override int Count => offsets[^1];

        public override bool PerExample => false;

        public override bool Touches(int feature, int input) => feature >= offsets[input] && feature < offsets[input + 1];

        public override Tensor Mask(int feature, int input)
        {
            var tensor = inputs[input];
            var remaining = (long)(feature - offsets[input]);
            var dims = windows[input].Length;
            var shape = new long[dims + 1];
            shape[0] = 1;
            Tensor mask = torch.ones(1, ScalarType.Bool, tensor.device);
            for (var d = 0; d < dims; d++)
            {
                var size = tensor.shape[d + 1];
                var begin = (remaining % shiftCounts[input][d]) * strides[input][d];
                remaining /= shiftCounts[input][d];
                var end = Math.Min(begin + windows[input][d], size);
                var range = torch.arange(size, dtype: ScalarType.Int64, device: tensor.device);
                var inside = range.ge(begin).logical_and(range.lt(end));
                var view = Enumerable.Repeat(1L, dims + 1).ToArray();
                view[d + 1] = size;
                mask = mask.logical_and(inside.reshape(view));
                shape[d + 1] = size;
            }

            return mask.expand(shape);
        }
    }
}

/// <summary>The arguments of <see cref="Occlusion.Attribute"/>.</summary>
/// <remarks>Python: the keyword arguments of <c>Occlusion.attribute</c>.</remarks>
public sealed record OcclusionOptions : PerturbationOptions
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
    /// The shape of the occluding patch for each input (one size per dimension after the batch). Required.
    /// Python: <c>sliding_window_shapes</c>.
    /// </summary>
    public WindowShapes SlidingWindowShapes { get; init; }

    /// <summary>
    /// The steps by which the patch moves; 1 in every dimension by default. A step larger than the window in some
    /// dimension is refused (an <see cref="ArgumentException"/> naming Strides): the elements between two windows would
    /// never be occluded, and Captum returns them as NaN (their sum of changes, 0, divided by their count of windows,
    /// 0). Python: <c>strides</c>.
    /// </summary>
    public WindowStrides Strides { get; init; }
}
