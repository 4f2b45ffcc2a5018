using TorchSharp;
using static TorchSharp.torch;

namespace Captum.Attr;

/// <summary>
/// Keeps statistics of a stream of tensors (typically attributions, one example or one batch at a time), element by
/// element, without holding the stream: each update is one sample of each input. Several inputs are summarised side
/// by side.
/// </summary>
/// <remarks>
/// Python: <c>captum.attr.Summarizer(stats)</c> with <c>update(x)</c> and <c>summary</c>. The mean and the squared
/// deviations are updated as Captum does (Welford: mean += (x - mean) / n, mse += (x - previous mean)(x - mean)), so
/// the numbers are Captum's. The summarizer owns its running tensors: dispose it.
/// </remarks>
public sealed class Summarizer : IDisposable
{
    private readonly IReadOnlyList<Stat> stats;
    private readonly List<Accumulator> inputs = [];
    private bool? multiple;

    /// <summary>Creates a summarizer of <paramref name="stats"/>.</summary>
    /// <exception cref="ArgumentException">No stat, or a negative order.</exception>
    public Summarizer(IEnumerable<Stat> stats)
    {
        ArgumentNullException.ThrowIfNull(stats);
        this.stats = stats.Distinct().ToList();
        if (this.stats.Count == 0 || this.stats.Any(s => s is null))
        {
            throw new ArgumentException("stats: give at least one statistic.", nameof(stats));
        }

        if (this.stats.Any(s => s.Order < 0))
        {
            throw new ArgumentException("stats: a variance's order must not be negative.", nameof(stats));
        }
    }

    /// <summary>The number of inputs summarised (0 before the first update).</summary>
    public int InputCount => inputs.Count;

    /// <summary>Adds one sample of one input. The tensor is copied; it is not modified.</summary>
    /// <exception cref="ArgumentException">Earlier updates had several inputs, or the shape differs from earlier samples'.</exception>
    public void Update(Tensor x) => Update([x], single: true);

    /// <summary>Adds one sample of each input.</summary>
    /// <exception cref="ArgumentException">The number of inputs, or a shape, differs from earlier updates'.</exception>
    public void Update(IReadOnlyList<Tensor> x) => Update(x, single: false);

    /// <summary>
    /// The statistics of input <paramref name="input"/> by name (null while no sample has been seen); new tensors
    /// the caller disposes (<see cref="Stat.Count"/> as an int64 scalar).
    /// </summary>
    /// <remarks>Python: <c>summary</c> (a dict, or a list of dicts for several inputs).</remarks>
    public IReadOnlyDictionary<string, Tensor?> Summary(int input = 0)
    {
        if (input < 0 || (inputs.Count > 0 && input >= inputs.Count))
        {
            throw new ArgumentOutOfRangeException(nameof(input), input, $"input must be from 0 to {Math.Max(inputs.Count - 1, 0)}.");
        }

        return inputs.Count == 0
            ? stats.ToDictionary(s => s.Name, _ => (Tensor?)null)
            : stats.ToDictionary(s => s.Name, s => (Tensor?)inputs[input].Get(s));
    }

    /// <summary>Frees the running tensors.</summary>
    public void Dispose()
    {
        foreach (var a in inputs)
        {
            a.Dispose();
        }

        inputs.Clear();
    }

    private void Update(IReadOnlyList<Tensor> x, bool single)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (x.Count == 0 || x.Any(t => t is null))
        {
            throw new ArgumentException("x: give at least one tensor, and no null.", nameof(x));
        }

        if (multiple is { } m && m == single)
        {
            throw new ArgumentException($"x: earlier updates gave {(m ? "several inputs" : "one tensor")}; every update must give the same.", nameof(x));
        }

        if (inputs.Count > 0 && x.Count != inputs.Count)
        {
            throw new ArgumentException($"x: earlier updates gave {inputs.Count} inputs, this one {x.Count}.", nameof(x));
        }

        for (var i = 0; i < x.Count; i++)
        {
            if (inputs.Count > i && !inputs[i].Shape.SequenceEqual(x[i].shape))
            {
                throw new ArgumentException($"x: input {i} is [{string.Join(", ", x[i].shape)}], earlier samples [{string.Join(", ", inputs[i].Shape)}].", nameof(x));
            }
        }

        multiple = !single;
        for (var i = 0; i < x.Count; i++)
        {
            if (inputs.Count <= i)
            {
                inputs.Add(new Accumulator(stats, x[i].shape));
            }

            inputs[i].Update(x[i]);
        }
    }

    /// <summary>The running quantities of one input.</summary>
    private sealed class Accumulator(IReadOnlyList<Stat> stats, long[] shape) : IDisposable
    {
        private readonly bool moments = stats.Any(s => s.Kind is StatKind.Mean or StatKind.MSE or StatKind.Var or StatKind.StdDev);
        private readonly bool squares = stats.Any(s => s.Kind is StatKind.MSE or StatKind.Var or StatKind.StdDev);
        private long n;
        private Tensor? mean;
        private Tensor? mse;
        private Tensor? min;
        private Tensor? max;
        private Tensor? sum;

        public long[] Shape { get; } = shape;

        public void Update(Tensor x)
        {
            using var scope = torch.NewDisposeScope();
            using var noGrad = torch.no_grad();
            var value = x.detach();
            n++;
            if (moments)
            {
                var previous = mean;
                var next = previous is null
                    ? (value.is_floating_point() ? value.clone() : value.to_type(ScalarType.Float64))
                    : previous + ((value - previous) / n);
                if (squares && previous is not null)
                {
                    var rhs = (value - previous) * (value - next);
                    Keep(ref mse, mse is null ? rhs : mse + rhs);
                }

                Keep(ref mean, next);
            }

            if (stats.Any(s => s.Kind == StatKind.Min))
            {
                Keep(ref min, min is null ? value.clone() : torch.minimum(min, value));
            }

            if (stats.Any(s => s.Kind == StatKind.Max))
            {
                Keep(ref max, max is null ? value.clone() : torch.maximum(max, value));
            }

            if (stats.Any(s => s.Kind == StatKind.Sum))
            {
                Keep(ref sum, sum is null ? value.clone() : sum + value);
            }
        }

        public Tensor Get(Stat stat) => stat.Kind switch
        {
            StatKind.Count => torch.tensor(n),
            StatKind.Mean => mean!.clone(),
            StatKind.MSE => mse?.clone() ?? torch.zeros_like(mean!),
            StatKind.Var => Variance(stat.Order),
            StatKind.StdDev => Variance(stat.Order).sqrt_(),
            StatKind.Min => min!.clone(),
            StatKind.Max => max!.clone(),
            _ => sum!.clone(),
        };

        public void Dispose()
        {
            foreach (var t in new[] { mean, mse, min, max, sum })
            {
                t?.Dispose();
            }
        }

        private Tensor Variance(int order)
        {
            var m2 = mse ?? torch.zeros_like(mean!);
            return n <= order ? torch.zeros_like(m2) : m2.to_type(ScalarType.Float64) / (n - order);
        }

        /// <summary>Replaces a running tensor, freeing the old one; the new one outlives the update's scope.</summary>
        private static void Keep(ref Tensor? field, Tensor value)
        {
            value.DetachFromDisposeScope();
            if (!ReferenceEquals(field, value))
            {
                field?.Dispose();
            }

            field = value;
        }
    }
}
