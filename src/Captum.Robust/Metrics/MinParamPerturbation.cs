using Captum.Attr;
using Captum.Forward;
using Captum.Runtime;
using static TorchSharp.torch;

namespace Captum.Robust;

/// <summary>
/// Finds the smallest value of an attack's parameter (an epsilon, a noise level, a number of masked features) at which
/// the perturbed input is no longer handled correctly, by a linear or binary search between
/// <see cref="MinParamPerturbationOptions.ArgMin"/> and <see cref="MinParamPerturbationOptions.ArgMax"/>.
/// </summary>
/// <typeparam name="TOptions">The attack's options, of which one parameter is searched.</typeparam>
/// <remarks>
/// <para>
/// Python: <c>captum.robust.MinParamPerturbation(forward_func, attack, arg_name, arg_min, arg_max, arg_step,
/// mode="linear", num_attempts=1, preproc_fn=None, apply_before_preproc=False, correct_fn=None)</c> with
/// <c>evaluate</c>. The values tried are Captum's, in Captum's order, with Python's arithmetic: the linear search tries
/// ArgMin, ArgMin + ArgStep, (ArgMin + ArgStep) + ArgStep, … while below ArgMax (ArgMax itself is not tried) and stops
/// at the first value one of whose attempts fails; the binary search tries the middle of the remaining range in whole
/// steps (Python's floor division), moving down after a failure and up otherwise, and answers the smallest failing
/// value it tried, which is not always the smallest in the range when correctness is not monotonic in the parameter.
/// </para>
/// <para>
/// Every attempt is a new call of the attack (a random one draws anew), and the perturbed inputs are evaluated as
/// Captum groups them: <see cref="AttackEvaluationOptions.PerturbationsPerEval"/> attempts (linear: across values)
/// per forward pass, which never changes the answer. The forward function runs with gradients enabled, as in Captum.
/// </para>
/// </remarks>
public sealed class MinParamPerturbation<TOptions>
{
    private readonly IPerturbation<TOptions> attack;
    private readonly Func<TOptions, double, TOptions> argument;
    private readonly MinParamPerturbationOptions settings;
    private readonly AttackEvaluation evaluation;

    /// <summary>Creates the search of <paramref name="attack"/>'s parameter on <paramref name="forwardFunc"/>.</summary>
    /// <param name="forwardFunc">The model or function evaluated. Python: <c>forward_func</c>.</param>
    /// <param name="attack">
    /// An <see cref="FGSM"/>, a <see cref="PGD"/>, or any perturbation (<see cref="Perturbation.FromFunction{TOptions}(Func{Tensor, TOptions, Tensor})"/>).
    /// Python: <c>attack</c>.
    /// </param>
    /// <param name="argument">
    /// Sets the searched parameter in the attack's options: <c>(o, eps) =&gt; o with { Epsilon = eps }</c> for FGSM, or
    /// <c>(_, std) =&gt; std</c> when the options are the parameter itself. Python: <c>arg_name</c>.
    /// </param>
    /// <param name="options">The range, step, mode, attempts, preprocessing and correctness; see <see cref="MinParamPerturbationOptions"/>.</param>
    /// <exception cref="ArgumentException">
    /// An option does not fit; ParamName names it (<c>ArgStep</c>, <c>ArgMin</c>, <c>ArgMax</c>, <c>NumAttempts</c>, <c>Mode</c>).
    /// </exception>
    public MinParamPerturbation(ForwardFunction forwardFunc, IPerturbation<TOptions> attack, Func<TOptions, double, TOptions> argument, MinParamPerturbationOptions options)
    {
        ArgumentNullException.ThrowIfNull(forwardFunc);
        ArgumentNullException.ThrowIfNull(attack);
        ArgumentNullException.ThrowIfNull(argument);
        ArgumentNullException.ThrowIfNull(options);
        Validate(options);
        TorchRuntime.EnsureAvailable();
        this.attack = attack;
        this.argument = argument;
        settings = options;
        evaluation = new AttackEvaluation(forwardFunc, options.Preprocessing);
    }

    /// <summary>
    /// Searches the smallest failing parameter value for <paramref name="inputs"/>: the attack is run with the options
    /// given, the searched parameter set to each value tried.
    /// </summary>
    /// <param name="inputs">One tensor or several, batch first (one example is the usual use: with a batch, the default correctness fails as soon as one example is misclassified). They are not modified.</param>
    /// <param name="attackOptions">The attack's other arguments; the searched one is overwritten. Python: <c>attack_kwargs</c>.</param>
    /// <param name="target">The class index (or one per example) the default correctness compares the prediction with, and that a correctness of yours receives. Python: <c>target</c>.</param>
    /// <param name="options">Additional forward arguments, perturbations per forward pass, progress.</param>
    /// <param name="cancellationToken">Checked before every attack attempt and every forward pass.</param>
    /// <returns>
    /// The first failing value in the search's order and the attack's result there (on the raw inputs, or on the
    /// preprocessed ones unless <see cref="MinParamPerturbationOptions.ApplyBeforePreproc"/>); both null when no value
    /// fails. The caller disposes the result.
    /// </returns>
    /// <exception cref="ArgumentException">
    /// An argument does not fit, checked before any work; ParamName names it (<c>inputs</c>, <c>target</c>,
    /// <c>PerturbationsPerEval</c>); <c>CorrectFn</c> when the default correctness meets an output that is not 2-D.
    /// </exception>
    public MinParamPerturbationResult Evaluate(
        Inputs inputs,
        TOptions attackOptions,
        Target target = default,
        AttackEvaluationOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        options ??= new AttackEvaluationOptions();
        var n = ArgumentPreparation.BatchSize(inputs.Tensors);
        PerturbationEvaluation.PerturbationsPerEval(options.PerturbationsPerEval);
        if (settings.CorrectFn is null)
        {
            if (target.IsNone)
            {
                throw new ArgumentException(
                    "target is required by the default correctness (every example's argmax equals its target): give the class index (or one per example), or a CorrectFn in the options.",
                    nameof(target));
            }

            target.ValidateCount(n);
            target.ClassIndices().Dispose();
        }

        cancellationToken.ThrowIfCancellationRequested();
        using var scope = torch.NewDisposeScope();
        var search = new Search(this, inputs, evaluation.Preprocess(inputs), attackOptions, target, options, cancellationToken);
        var (perturbed, value) = settings.Mode == MinParamPerturbationMode.Linear ? search.Linear() : search.Binary();
        foreach (var t in perturbed ?? Enumerable.Empty<Tensor>())
        {
            t.MoveToOuterDisposeScope();
        }

        return new MinParamPerturbationResult(perturbed, value);
    }

    /// <summary>Captum's <c>default_correct_fn</c>: every example's argmax over a 2-D output equals its target.</summary>
    private static bool DefaultCorrect(Tensor output, Target target)
    {
        if (output.dim() != 2)
        {
            throw new ArgumentException(
                $"the model's output has shape {Shapes.Format(output.shape)}: the default correctness (argmax equals the target) needs a 2-D output; give CorrectFn.",
                nameof(MinParamPerturbationOptions.CorrectFn));
        }

        using var scope = torch.NewDisposeScope();
        return (output.argmax(1) == target.ClassIndices(output.device)).all().item<bool>();
    }

    private static void Validate(MinParamPerturbationOptions o)
    {
        if (!(o.ArgStep > 0) || double.IsInfinity(o.ArgStep))
        {
            throw new ArgumentOutOfRangeException(nameof(o.ArgStep), o.ArgStep, "ArgStep (arg_step) must be a finite number above 0.");
        }

        if (!double.IsFinite(o.ArgMin))
        {
            throw new ArgumentOutOfRangeException(nameof(o.ArgMin), o.ArgMin, "ArgMin (arg_min) must be a finite number.");
        }

        if (!double.IsFinite(o.ArgMax))
        {
            throw new ArgumentOutOfRangeException(nameof(o.ArgMax), o.ArgMax, "ArgMax (arg_max) must be a finite number.");
        }

        if (o.ArgMin >= o.ArgMax)
        {
            throw new ArgumentException($"ArgMin ({o.ArgMin}) must be below ArgMax ({o.ArgMax}) (arg_min, arg_max).", nameof(o.ArgMin));
        }

        if (!(o.ArgMax > o.ArgMin + o.ArgStep))
        {
            throw new ArgumentOutOfRangeException(
                nameof(o.ArgStep),
                o.ArgStep,
                $"ArgStep ({o.ArgStep}) must be smaller than the range from ArgMin ({o.ArgMin}) to ArgMax ({o.ArgMax}), as Captum asserts (arg_max > arg_min + arg_step).");
        }

        if (o.ArgMin + o.ArgStep == o.ArgMin || o.ArgMax + o.ArgStep == o.ArgMax)
        {
            throw new ArgumentOutOfRangeException(
                nameof(o.ArgStep),
                o.ArgStep,
                $"ArgStep ({o.ArgStep}) is too small for values as large as ArgMin ({o.ArgMin}) and ArgMax ({o.ArgMax}): adding it would not change them, and the search would never end.");
        }

        AttackEvaluation.Attempts(o.NumAttempts, nameof(o.NumAttempts));
        if (!Enum.IsDefined(o.Mode))
        {
            throw new ArgumentException($"Mode (mode) must be Linear or Binary, not {o.Mode}.", nameof(o.Mode));
        }
    }

    /// <summary>One evaluate call's search: the attempts at a value, grouped into forward passes.</summary>
    private sealed class Search(
        MinParamPerturbation<TOptions> owner,
        Inputs inputs,
        Inputs preprocessed,
        TOptions attackOptions,
        Target target,
        AttackEvaluationOptions options,
        CancellationToken cancellationToken)
    {
        private readonly IReadOnlyList<object?> additional = options.AdditionalForwardArgs ?? [];
        private readonly MinParamPerturbationOptions settings = owner.settings;
        private int passes;

        /// <summary>The values Captum's <c>drange</c> yields: ArgMin, then adding ArgStep while below ArgMax.</summary>
        public IEnumerable<double> Values()
        {
            for (var value = settings.ArgMin; value < settings.ArgMax; value += settings.ArgStep)
            {
                yield return value;
            }
        }

        /// <summary>Captum's <c>_linear_search</c>: every value's attempts in order, the first failing one.</summary>
        public (PerturbedInputs?, double?) Linear()
        {
            var attempts = Values().SelectMany(v => Enumerable.Repeat(v, settings.NumAttempts));
            var most = Passes(((long)Math.Ceiling((settings.ArgMax - settings.ArgMin) / settings.ArgStep) + 1) * settings.NumAttempts);
            foreach (var chunk in AttackEvaluation.Chunks(attempts, options.PerturbationsPerEval))
            {
                if (FirstFailure(chunk, most) is { } failure)
                {
                    return (failure.Attacked, chunk[failure.Index]);
                }
            }

            return (null, null);
        }

        /// <summary>Captum's <c>_binary_search</c>: the middle of the range in whole steps, down after a failure, up otherwise.</summary>
        public (PerturbedInputs?, double?) Binary()
        {
            var step = settings.ArgStep;
            var lower = settings.ArgMin;
            var upper = settings.ArgMax;
            var stepsInRange = PythonFloorDiv(upper - lower, step);
            var most = (long)(Math.Ceiling(Math.Log2(stepsInRange + 2)) + 2) * Passes(settings.NumAttempts);
            double? minSoFar = null;
            PerturbedInputs? minInput = null;
            while (upper > lower)
            {
                var midStep = PythonFloorDiv(PythonFloorDiv(upper - lower, step), 2);
                if (midStep == 0 && lower + step < upper)
                {
                    midStep = 1;
                }

                var mid = lower + (midStep * step);
                var failed = false;
                foreach (var chunk in AttackEvaluation.Chunks(Enumerable.Repeat(mid, settings.NumAttempts), options.PerturbationsPerEval))
                {
                    if (FirstFailure(chunk, most) is { } failure)
                    {
                        failed = true;
                        upper = mid;
                        if (minSoFar is null || minSoFar > mid)
                        {
                            minSoFar = mid;
                            minInput?.Dispose();
                            minInput = failure.Attacked;
                        }
                        else
                        {
                            failure.Attacked.Dispose();
                        }

                        break;
                    }
                }

                if (IsClose(lower, mid))
                {
                    break;
                }

                if (!failed)
                {
                    lower = mid;
                }
            }

            return (minInput, minSoFar);
        }

        /// <summary>
        /// Runs the attack at each value of <paramref name="chunk"/> and evaluates them in one pass; the attack's
        /// result at the first one judged incorrect (handles in the call's scope) and its index in the chunk, or null.
        /// The rest is freed.
        /// </summary>
        private (PerturbedInputs Attacked, int Index)? FirstFailure(List<double> chunk, long most)
        {
            (PerturbedInputs, int)? failure = null;
            using (var chunkScope = torch.NewDisposeScope())
            {
                var attacked = chunk
                    .Select(value => owner.evaluation.Attack(
                        owner.attack, owner.argument(attackOptions, value), settings.ApplyBeforePreproc, inputs, preprocessed, cancellationToken))
                    .ToList();
                var outputs = owner.evaluation.Outputs(attacked.Select(a => a.ModelInputs).ToList(), additional, cancellationToken);
                for (var k = 0; k < chunk.Count && failure is null; k++)
                {
                    var correct = settings.CorrectFn is { } correctFn ? correctFn(outputs[k], target) : DefaultCorrect(outputs[k], target);
                    if (!correct)
                    {
                        var result = attacked[k].Attacked;
                        var kept = result.Select(t => t.alias().MoveToOuterDisposeScope()).ToArray();
                        failure = (new PerturbedInputs(kept, result.IsTuple), k);
                    }
                }
            }

            passes++;
            options.Progress?.Report(new AttributionProgress(passes, (int)Math.Min(int.MaxValue, Math.Max(passes, most))));
            return failure;
        }

        private long Passes(long evaluations) => (evaluations + options.PerturbationsPerEval - 1) / options.PerturbationsPerEval;
    }

    /// <summary>Python's <c>a // b</c> on floats (CPython's <c>float_floor_div</c>): 1.0 // 0.1 is 9.0, where ⌊1.0 / 0.1⌋ is 10.</summary>
    internal static double PythonFloorDiv(double a, double b)
    {
        var mod = a % b; // C's fmod
        var div = (a - mod) / b;
        if (mod != 0 && ((b < 0) != (mod < 0)))
        {
            div -= 1.0;
        }

        if (div == 0)
        {
            return Math.CopySign(0.0, a / b);
        }

        var floor = Math.Floor(div);
        return div - floor > 0.5 ? floor + 1.0 : floor;
    }

    /// <summary>Python's <c>math.isclose(a, b)</c>: relative tolerance 1e-9, no absolute tolerance.</summary>
    internal static bool IsClose(double a, double b)
    {
        if (a == b)
        {
            return true;
        }

        if (double.IsInfinity(a) || double.IsInfinity(b))
        {
            return false;
        }

        var diff = Math.Abs(b - a);
        return diff <= Math.Abs(1e-9 * b) || diff <= Math.Abs(1e-9 * a);
    }
}

/// <summary>The linear or binary search of <see cref="MinParamPerturbation{TOptions}"/>.</summary>
/// <remarks>Python: <c>MinParamPerturbationMode</c> (<c>mode="linear"</c> or <c>"binary"</c>).</remarks>
public enum MinParamPerturbationMode
{
    /// <summary>Every value from ArgMin up, in steps; the first failing one. Python: <c>LINEAR</c>.</summary>
    Linear,

    /// <summary>Halving the range in whole steps; the smallest failing value tried. Python: <c>BINARY</c>.</summary>
    Binary,
}

/// <summary>The settings of a <see cref="MinParamPerturbation{TOptions}"/>, with Captum's defaults.</summary>
/// <remarks>Python: the arguments of <c>MinParamPerturbation.__init__</c> after <c>arg_name</c>.</remarks>
public sealed record MinParamPerturbationOptions
{
    /// <summary>The smallest value tried, finite. Python: <c>arg_min</c>.</summary>
    public required double ArgMin { get; init; }

    /// <summary>
    /// The end of the range, not tried; above <see cref="ArgMin"/> + <see cref="ArgStep"/> (Captum's assertion).
    /// Python: <c>arg_max</c>.
    /// </summary>
    public required double ArgMax { get; init; }

    /// <summary>The step between values tried, above 0 and finite. Python: <c>arg_step</c>.</summary>
    public required double ArgStep { get; init; }

    /// <summary>Linear (the default) or binary search. Python: <c>mode</c>.</summary>
    public MinParamPerturbationMode Mode { get; init; } = MinParamPerturbationMode.Linear;

    /// <summary>
    /// Attempts per value, at least 1 (more only for random attacks): a value fails when any attempt fails. Python:
    /// <c>num_attempts</c>.
    /// </summary>
    public int NumAttempts { get; init; } = 1;

    /// <summary>Applied to the inputs (and the attacked inputs when <see cref="ApplyBeforePreproc"/>) before the model; none by default. Python: <c>preproc_fn</c>.</summary>
    public Func<Inputs, Inputs>? Preprocessing { get; init; }

    /// <summary>
    /// Attack the raw inputs and preprocess the result (true), or attack the preprocessed inputs (false, the default:
    /// Captum's default here, unlike the comparator's). Python: <c>apply_before_preproc</c>.
    /// </summary>
    public bool ApplyBeforePreproc { get; init; }

    /// <summary>
    /// Whether the model's output on one perturbed batch is still correct, given the evaluate call's target; further
    /// arguments are captured by the function. By default Captum's: the output is 2-D and every example's argmax equals
    /// its target. Python: <c>correct_fn</c> (with <c>correct_fn_kwargs</c>).
    /// </summary>
    public Func<Tensor, Target, bool>? CorrectFn { get; init; }
}

/// <summary>
/// The answer of <see cref="MinParamPerturbation{TOptions}.Evaluate"/>: the first failing parameter value and the
/// perturbed inputs there, or nulls when no value failed. The caller owns the tensors: dispose it (or let an
/// enclosing <c>torch.NewDisposeScope()</c> free them).
/// </summary>
/// <remarks>Python: the tuple <c>(perturbed_inputs, param_val)</c>, <c>(None, None)</c> when nothing fails.</remarks>
public sealed class MinParamPerturbationResult : IDisposable
{
    internal MinParamPerturbationResult(PerturbedInputs? perturbedInputs, double? paramValue)
    {
        PerturbedInputs = perturbedInputs;
        ParamValue = paramValue;
    }

    /// <summary>The attack's result at <see cref="ParamValue"/>; null when no value failed. Python: <c>perturbed_inputs</c>.</summary>
    public PerturbedInputs? PerturbedInputs { get; }

    /// <summary>The failing value; null when none failed. Python: <c>param_val</c>.</summary>
    public double? ParamValue { get; }

    /// <summary>True when a failing value was found.</summary>
    public bool Found => ParamValue is not null;

    /// <summary>Frees the perturbed inputs.</summary>
    public void Dispose() => PerturbedInputs?.Dispose();
}
