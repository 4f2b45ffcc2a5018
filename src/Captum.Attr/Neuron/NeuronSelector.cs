using System.Globalization;
using static TorchSharp.torch;

namespace Captum.Attr;

/// <summary>
/// Which neuron of a layer a neuron method explains: an index into the layer's tensor without the batch dimension
/// (one index per dimension after the batch; negative indices count from the end), or a function from the layer's
/// value to one scalar per example. Converts implicitly from <c>int</c>, <c>long</c>, index tuples such as
/// <c>(3, 1, 2)</c>, <c>int[]</c>, <c>long[]</c>, and <c>Func&lt;Tensor, Tensor&gt;</c>.
/// </summary>
/// <remarks>
/// Python: <c>neuron_selector</c> (an int, a tuple of ints, or a callable). A function receives the layer's only
/// tensor (<see cref="FromFunction"/>) or all of its tensors (<see cref="FromTensorsFunction"/>) and must return a
/// tensor of shape [n]; it should select, not aggregate (Neuron Conductance applies it to the layer's gradients
/// too). Captum's slice selectors (summing a region) can be written as a function.
/// </remarks>
public readonly struct NeuronSelector
{
    private readonly long[]? index;
    private readonly Func<IReadOnlyList<Tensor>, Tensor>? function;
    private readonly bool wantsAll;

    private NeuronSelector(long[]? index, Func<IReadOnlyList<Tensor>, Tensor>? function, bool wantsAll)
    {
        this.index = index;
        this.function = function;
        this.wantsAll = wantsAll;
    }

    /// <summary>The index (without the batch dimension), when the selector is one.</summary>
    public IReadOnlyList<long>? Index => index;

    /// <summary>True when the selector is a function.</summary>
    public bool IsFunction => function is not null;

    /// <summary>True when nothing was selected (the default value).</summary>
    public bool IsEmpty => index is null && function is null;

    /// <summary>The neuron at <paramref name="index"/> of a 2-D layer tensor ([n, features]).</summary>
    public static implicit operator NeuronSelector(int index) => new([index], null, false);

    /// <summary>The neuron at <paramref name="index"/> of a 2-D layer tensor ([n, features]).</summary>
    public static implicit operator NeuronSelector(long index) => new([index], null, false);

    /// <summary>The neuron at an index of a 3-D layer tensor.</summary>
    public static implicit operator NeuronSelector((int, int) index) => new([index.Item1, index.Item2], null, false);

    /// <summary>The neuron at an index of a 4-D layer tensor, e.g. (channel, row, column) of a convolution.</summary>
    public static implicit operator NeuronSelector((int, int, int) index) => new([index.Item1, index.Item2, index.Item3], null, false);

    /// <summary>The neuron at an index of a 5-D layer tensor.</summary>
    public static implicit operator NeuronSelector((int, int, int, int) index) => new([index.Item1, index.Item2, index.Item3, index.Item4], null, false);

    /// <summary>The neuron at an index (one entry per dimension after the batch).</summary>
    public static implicit operator NeuronSelector(long[] index) => Create(index);

    /// <summary>The neuron at an index (one entry per dimension after the batch).</summary>
    public static implicit operator NeuronSelector(int[] index) =>
        Create((index ?? throw new ArgumentNullException(nameof(index))).Select(i => (long)i).ToArray());

    /// <summary>A function of the layer's only tensor returning one value per example.</summary>
    public static implicit operator NeuronSelector(Func<Tensor, Tensor> function) => FromFunction(function);

    /// <summary>The neuron at an index (one entry per dimension after the batch).</summary>
    public static NeuronSelector At(params long[] index) => Create(index);

    /// <summary>A function of the layer's only tensor ([n, ...]) returning one value per example ([n]).</summary>
    public static NeuronSelector FromFunction(Func<Tensor, Tensor> function)
    {
        ArgumentNullException.ThrowIfNull(function);
        return new NeuronSelector(null, values => function(values[0]), false);
    }

    /// <summary>A function of all the layer's tensors (for layers with several) returning one value per example ([n]).</summary>
    public static NeuronSelector FromTensorsFunction(Func<IReadOnlyList<Tensor>, Tensor> function)
    {
        ArgumentNullException.ThrowIfNull(function);
        return new NeuronSelector(null, function, true);
    }

    /// <summary>
    /// Selects the neuron of every example from the layer's tensors (or from tensors of their shapes, such as
    /// their gradients): a tensor of shape [n].
    /// </summary>
    /// <exception cref="ArgumentException">The selector does not fit the layer; the message says why.</exception>
    internal Tensor Select(IReadOnlyList<Tensor> values, string layer)
    {
        const string Argument = "neuronSelector";
        if (IsEmpty)
        {
            throw new ArgumentException("neuronSelector is empty: give a neuron index or a selector function.", Argument);
        }

        var n = values[0].shape.Length == 0 ? 1 : values[0].shape[0];
        if (function is not null)
        {
            if (!wantsAll && values.Count != 1)
            {
                throw new ArgumentException(
                    $"layer {layer} has {values.Count} tensors; a function of one tensor cannot choose among them. Use NeuronSelector.FromTensorsFunction.",
                    Argument);
            }

            var selected = function(values);
            if (selected is null || selected.dim() == 0 || selected.shape[0] != n || selected.numel() != n)
            {
                throw new ArgumentException(
                    $"the neuron selector function returned {(selected is null ? "null" : "shape " + Shapes.Format(selected.shape))}; it must return one value per example, shape [{n}].",
                    Argument);
            }

            return selected.reshape(n);
        }

        if (values.Count != 1)
        {
            throw new ArgumentException(
                $"layer {layer} has {values.Count} tensors; an index cannot choose among them. Use NeuronSelector.FromTensorsFunction.",
                Argument);
        }

        var value = values[0];
        if (index!.Length != value.dim() - 1)
        {
            throw new ArgumentException(
                $"neuronSelector {this} has {index.Length} index(es) but the layer tensor of shape {Shapes.Format(value.shape)} has {value.dim() - 1} dimension(s) after the batch: give one index per dimension.",
                Argument);
        }

        var indexer = new TensorIndex[index.Length + 1];
        indexer[0] = TensorIndex.Colon;
        for (var i = 0; i < index.Length; i++)
        {
            var size = value.shape[i + 1];
            if (index[i] < -size || index[i] >= size)
            {
                throw new ArgumentException(
                    $"neuronSelector index {index[i]} is out of range for dimension {i + 1} of size {size} of layer {layer}'s tensor of shape {Shapes.Format(value.shape)}.",
                    Argument);
            }

            indexer[i + 1] = TensorIndex.Single(index[i]);
        }

        return value[indexer];
    }

    /// <inheritdoc />
    public override string ToString() =>
        function is not null ? "(function)" : index is null ? "(none)" : "(" + string.Join(", ", index.Select(i => i.ToString(CultureInfo.InvariantCulture))) + ")";

    private static NeuronSelector Create(long[]? index)
    {
        ArgumentNullException.ThrowIfNull(index);
        if (index.Length == 0)
        {
            throw new ArgumentException("a neuron index needs at least one entry (one per dimension after the batch).", nameof(index));
        }

        return new NeuronSelector((long[])index.Clone(), null, false);
    }
}
