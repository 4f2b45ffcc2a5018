using static TorchSharp.torch;

namespace Captum;

/// <summary>
/// The reference point for one input: a scalar filled to the input's shape, or a tensor that
/// broadcasts to the input's shape (one row for the whole batch, or one per example).
/// </summary>
public readonly struct BaselineValue
{
    private BaselineValue(double? scalar, Tensor? tensor)
    {
        Scalar = scalar;
        Tensor = tensor;
    }

    /// <summary>The scalar, when the baseline is one.</summary>
    public double? Scalar { get; }

    /// <summary>The tensor, when the baseline is one.</summary>
    public Tensor? Tensor { get; }

    /// <summary>A scalar baseline.</summary>
    public static implicit operator BaselineValue(double scalar) => new(scalar, null);

    /// <summary>A tensor baseline.</summary>
    public static implicit operator BaselineValue(Tensor tensor) =>
        new(null, tensor ?? throw new ArgumentNullException(nameof(tensor)));

    /// <summary>A scalar baseline.</summary>
    public static BaselineValue FromScalar(double scalar) => scalar;

    /// <summary>A tensor baseline.</summary>
    public static BaselineValue FromTensor(Tensor tensor) => tensor;

    /// <inheritdoc />
    public override string ToString() => Scalar is { } s ? s.ToString(System.Globalization.CultureInfo.InvariantCulture) : $"tensor{Shapes.Format(Tensor!.shape)}";
}

/// <summary>
/// Baselines for all inputs: none (zeros, Captum's default), one value used for every input, one
/// value per input, or a function of the inputs that returns one of those when a method runs.
/// Converts implicitly from a scalar, a tensor, or an array of either.
/// </summary>
/// <remarks>
/// Python: <c>baselines</c> (a function: Captum's callable baselines, see <see cref="FromFunction"/>). The
/// tensors stay the caller's.
/// </remarks>
public readonly struct Baselines
{
    private readonly BaselineValue[]? perInput;
    private readonly BaselineValue? all;
    private readonly Func<Inputs, Baselines>? function;

    private Baselines(BaselineValue? all, BaselineValue[]? perInput, Func<Inputs, Baselines>? function = null)
    {
        this.all = all;
        this.perInput = perInput;
        this.function = function;
    }

    /// <summary>No baseline: zeros for every input.</summary>
    public static Baselines None => default;

    /// <summary>True when no baseline was given.</summary>
    public bool IsNone => all is null && perInput is null && function is null;

    /// <summary>True when the baselines are a function of the inputs, still to be called (<see cref="Resolve"/>).</summary>
    public bool IsFunction => function is not null;

    /// <summary>
    /// Baselines given by a function of the inputs, called once per <c>Attribute</c> call, before any work, by the
    /// methods that take callable baselines (GradientShap, DeepLiftShap and their layer and neuron forms, as in
    /// Captum, and FeatureAblation, ShapleyValueSampling, Lime and KernelShap); every other method, and a wrapper that
    /// expands baselines per sample (NoiseTunnel), refuses it naming <c>baselines</c>. A
    /// <c>ProductBaselines</c> converts to this form.
    /// </summary>
    /// <param name="function">
    /// Returns the baselines for the inputs it is given (not a function again). Tensors it creates belong to the
    /// dispose scope current when the method is called, as the caller's own baselines do.
    /// </param>
    /// <remarks>Python: a callable <c>baselines</c>, called with the inputs (<c>_format_callable_baseline</c>).</remarks>
    public static Baselines FromFunction(Func<Inputs, Baselines> function) =>
        new(null, null, function ?? throw new ArgumentNullException(nameof(function)));

    /// <summary>
    /// These baselines for <paramref name="inputs"/>: the function's result when they are a function
    /// (<see cref="IsFunction"/>), else themselves.
    /// </summary>
    /// <exception cref="ArgumentException">The function returned a function (ParamName <c>baselines</c>).</exception>
    public Baselines Resolve(Inputs inputs)
    {
        if (function is null)
        {
            return this;
        }

        var resolved = function(inputs);
        if (resolved.IsFunction)
        {
            throw new ArgumentException("baselines: the baseline function returned another function; it must return the baselines themselves.", "baselines");
        }

        return resolved;
    }

    /// <summary>The per-input values, when given per input.</summary>
    public IReadOnlyList<BaselineValue>? PerInput => perInput;

    /// <summary>Resolves the baseline of input <paramref name="index"/> of <paramref name="count"/>.</summary>
    /// <exception cref="ArgumentException">The number of per-input baselines differs from the number of inputs, or the baselines are a function.</exception>
    public BaselineValue For(int index, int count)
    {
        if (function is not null)
        {
            throw new ArgumentException(
                "baselines is a function, which this method does not call: give the baselines themselves (Baselines.Resolve gives a function's result for given inputs).",
                "baselines");
        }

        if (perInput is not null)
        {
            if (perInput.Length != count)
            {
                throw new ArgumentException(
                    $"baselines has {perInput.Length} entries but there are {count} inputs: give one baseline per input, or one for all.",
                    "baselines");
            }

            return perInput[index];
        }

        return all ?? 0.0;
    }

    /// <summary>One scalar for every input.</summary>
    public static implicit operator Baselines(double scalar) => new(scalar, null);

    /// <summary>One tensor (for a single input).</summary>
    public static implicit operator Baselines(Tensor tensor) => new(BaselineValue.FromTensor(tensor), null);

    /// <summary>One baseline value per input.</summary>
    public static implicit operator Baselines(BaselineValue[] values) => new(null, Check(values));

    /// <summary>One tensor per input.</summary>
    public static implicit operator Baselines(Tensor[] values) =>
        new(null, Check(values?.Select(BaselineValue.FromTensor).ToArray()));

    /// <summary>One scalar per input.</summary>
    public static implicit operator Baselines(double[] values) =>
        new(null, Check(values?.Select(BaselineValue.FromScalar).ToArray()));

    /// <summary>One baseline value per input.</summary>
    public static Baselines Of(params BaselineValue[] values) => values;

    private static BaselineValue[] Check(BaselineValue[]? values) =>
        values ?? throw new ArgumentNullException(nameof(values));
}
