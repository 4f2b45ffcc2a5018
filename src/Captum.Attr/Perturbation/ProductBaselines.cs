namespace Captum.Attr;

/// <summary>
/// Baselines drawn from the Cartesian product of per-input choices: every <see cref="Sample"/> picks, for each
/// input independently and uniformly, one of the baseline values listed for it. Converts implicitly to
/// <see cref="Baselines"/> as a baseline function, so a method that takes callable baselines (GradientShap,
/// DeepLiftShap and their layer and neuron forms, FeatureAblation, ShapleyValueSampling, Lime, KernelShap) draws a
/// fresh sample at each <c>Attribute</c> call.
/// </summary>
/// <remarks>
/// <para>Python: <c>captum.attr.ProductBaselines(baseline_values)</c>, a callable whose <c>sample()</c> (or call)
/// returns one <c>random.choice</c> per list.</para>
/// <para>
/// Here each list holds the choices of one input, in forward-argument order, and a sample is a
/// <see cref="Baselines"/> with one value per input. Captum also accepts a dict keyed by feature names (tuples of
/// names for features drawn together), which only its text-template inputs read; here tensor inputs are positional,
/// and text baselines, positional or by name (groups of names included), are <see cref="TextProductBaselines"/>,
/// given to <see cref="TextTemplateOptions.BaselineProduct"/>. The draws come from <see cref="System.Random"/> (seeded by
/// <c>seed</c>, else <see cref="Random.Shared"/>, as Captum draws from Python's global <c>random</c>), so
/// samples are reproducible here but not the ones Python would draw. Thread-safe. The tensors listed stay the
/// caller's: samples hand them out, never copies, and nothing disposes them.
/// </para>
/// </remarks>
public sealed class ProductBaselines
{
    private readonly BaselineValue[][] values;
    private readonly Random random;
    private readonly object gate = new();

    /// <summary>Creates the product of <paramref name="baselineValues"/>.</summary>
    /// <param name="baselineValues">Per input, the baseline values it may take (scalars or tensors that broadcast to the input); each list non-empty. Python: <c>baseline_values</c>.</param>
    /// <param name="seed">Seeds the draws (the same seed gives the same sequence of samples); <see cref="Random.Shared"/> when null.</param>
    /// <exception cref="ArgumentException"><paramref name="baselineValues"/> is empty, or one of its lists is null or empty (the message names its index).</exception>
    public ProductBaselines(IEnumerable<IEnumerable<BaselineValue>> baselineValues, int? seed = null)
    {
        ArgumentNullException.ThrowIfNull(baselineValues);
        var lists = baselineValues.ToArray();
        if (lists.Length == 0)
        {
            throw new ArgumentException("baselineValues (baseline_values) must list the choices of at least one input.", nameof(baselineValues));
        }

        values = new BaselineValue[lists.Length][];
        for (var i = 0; i < lists.Length; i++)
        {
            values[i] = lists[i]?.ToArray() ?? throw new ArgumentException($"baselineValues[{i}] is null; give the baseline values input {i} may take.", nameof(baselineValues));
            if (values[i].Length == 0)
            {
                throw new ArgumentException($"baselineValues[{i}] is empty; give at least one baseline value for input {i}.", nameof(baselineValues));
            }
        }

        random = seed is { } s ? new Random(s) : Random.Shared;
    }

    /// <summary>Per input, the values it may take, as given. Python: <c>baseline_values</c>.</summary>
    public IReadOnlyList<IReadOnlyList<BaselineValue>> BaselineValues => values;

    /// <summary>The number of elements of the product: the product of the lists' lengths.</summary>
    public long Count => values.Aggregate(1L, (product, list) => checked(product * list.Length));

    /// <summary>
    /// One element of the product, uniformly at random: for each input, one of its values, as per-input
    /// <see cref="Baselines"/>.
    /// </summary>
    /// <remarks>Python: <c>sample()</c> and <c>__call__()</c>.</remarks>
    public Baselines Sample()
    {
        var chosen = new BaselineValue[values.Length];
        lock (gate)
        {
            for (var i = 0; i < values.Length; i++)
            {
                chosen[i] = values[i][random.Next(values[i].Length)];
            }
        }

        return chosen;
    }

    /// <summary>These baselines as a baseline function: each call of a method draws one <see cref="Sample"/>.</summary>
    public Baselines ToBaselines() => Baselines.FromFunction(_ => Sample());

    /// <summary>The product as a baseline function (<see cref="ToBaselines"/>).</summary>
    public static implicit operator Baselines(ProductBaselines product) =>
        (product ?? throw new ArgumentNullException(nameof(product))).ToBaselines();
}
