namespace Captum.Attr;

/// <summary>
/// The shape of the occluding patch (hyperrectangle) per input: one size per input dimension after the batch.
/// Converts implicitly from an array of sizes (one input; empty for a 1-D input) or an array of such arrays
/// (one per input).
/// </summary>
/// <remarks>Python: <c>sliding_window_shapes</c>, a tuple (one input) or a tuple of tuples.</remarks>
public readonly struct WindowShapes
{
    private readonly long[][]? perInput;

    private WindowShapes(long[][] perInput)
    {
        this.perInput = perInput;
    }

    /// <summary>True when no shape was given.</summary>
    public bool IsNone => perInput is null;

    /// <summary>The shape of each input's window, or null when none was given.</summary>
    public IReadOnlyList<IReadOnlyList<long>>? PerInput => perInput;

    /// <summary>The window of a single input.</summary>
    public static implicit operator WindowShapes(long[] shape) => new([Copy(shape)]);

    /// <summary>The window of a single input.</summary>
    public static implicit operator WindowShapes(int[] shape) => new([Copy(shape)]);

    /// <summary>One window shape per input.</summary>
    public static implicit operator WindowShapes(long[][] shapes) => new(CopyAll(shapes, s => Copy(s)));

    /// <summary>One window shape per input.</summary>
    public static implicit operator WindowShapes(int[][] shapes) => new(CopyAll(shapes, s => Copy(s)));

    /// <summary>One window shape per input.</summary>
    public static WindowShapes Of(params long[][] shapes) => shapes;

    /// <summary>Checks the shapes against the inputs and returns one per input.</summary>
    /// <exception cref="ArgumentException">Wrong count, wrong length, a size below 1 or above the input's (parameter SlidingWindowShapes).</exception>
    internal long[][] Resolve(IReadOnlyList<TorchSharp.torch.Tensor> inputs)
    {
        const string Name = "SlidingWindowShapes";
        if (perInput is null)
        {
            throw new ArgumentException("SlidingWindowShapes (sliding_window_shapes) is required: the shape of the patch to occlude in each input.", Name);
        }

        if (perInput.Length != inputs.Count)
        {
            throw new ArgumentException(
                $"SlidingWindowShapes (sliding_window_shapes) gives {perInput.Length} shape(s) but there are {inputs.Count} inputs: give one window shape per input.",
                Name);
        }

        for (var i = 0; i < inputs.Count; i++)
        {
            var window = perInput[i];
            var input = inputs[i];
            if (window.Length != input.dim() - 1)
            {
                throw new ArgumentException(
                    $"SlidingWindowShapes[{i}] has {window.Length} size(s) but input {i} of shape {Format(input.shape)} has {input.dim() - 1} dimension(s) after the batch: give one size per dimension.",
                    Name);
            }

            for (var d = 0; d < window.Length; d++)
            {
                if (window[d] < 1)
                {
                    throw new ArgumentException($"SlidingWindowShapes[{i}] has size {window[d]} in dimension {d + 1}; sizes must be at least 1.", Name);
                }

                if (window[d] > input.shape[d + 1])
                {
                    throw new ArgumentException(
                        $"SlidingWindowShapes[{i}] = {Format(window)} is larger than input {i} (shape {Format(input.shape)}) in dimension {d + 1}: the sliding window cannot exceed the input.",
                        Name);
                }
            }
        }

        return perInput;
    }

    internal static string Format(IEnumerable<long> shape) => "[" + string.Join(", ", shape) + "]";

    private static long[] Copy(long[]? shape) => (long[])(shape ?? throw new ArgumentNullException(nameof(shape))).Clone();

    private static long[] Copy(int[]? shape) => (shape ?? throw new ArgumentNullException(nameof(shape))).Select(v => (long)v).ToArray();

    private static long[][] CopyAll<T>(T[][]? shapes, Func<T[], long[]> copy)
    {
        ArgumentNullException.ThrowIfNull(shapes);
        return shapes.Select(s => copy(s ?? throw new ArgumentNullException(nameof(shapes), "a window shape is null"))).ToArray();
    }
}

/// <summary>
/// The steps by which the occluding window moves in each direction: one number for every dimension of every
/// input (the default is 1), one per input dimension of a single input, one per input when there are several
/// inputs, or one array per input with a step per dimension. Converts implicitly from <c>int</c>, <c>int[]</c>,
/// <c>long[]</c> and arrays of those.
/// </summary>
/// <remarks>
/// Python: <c>strides</c>. As in Captum, a flat array means one step per dimension when there is one input
/// and one step per input when there are several. Where the window is smaller than the input, a step may not
/// exceed the window, so that every element is occluded at least once.
/// </remarks>
public readonly struct WindowStrides
{
    private readonly long? all;
    private readonly long[]? flat;
    private readonly long[][]? perInput;

    private WindowStrides(long? all, long[]? flat, long[][]? perInput)
    {
        this.all = all;
        this.flat = flat;
        this.perInput = perInput;
    }

    /// <summary>A step of 1 in every dimension (Captum's default).</summary>
    public static WindowStrides Default => default;

    /// <summary>One step for every dimension of every input.</summary>
    public static implicit operator WindowStrides(int stride) => new(stride, null, null);

    /// <summary>One step for every dimension of every input.</summary>
    public static implicit operator WindowStrides(long stride) => new(stride, null, null);

    /// <summary>One input: a step per dimension; several inputs: a step per input.</summary>
    public static implicit operator WindowStrides(int[] strides) =>
        new(null, (strides ?? throw new ArgumentNullException(nameof(strides))).Select(v => (long)v).ToArray(), null);

    /// <summary>One input: a step per dimension; several inputs: a step per input.</summary>
    public static implicit operator WindowStrides(long[] strides) =>
        new(null, (long[])(strides ?? throw new ArgumentNullException(nameof(strides))).Clone(), null);

    /// <summary>Per input, a step per dimension.</summary>
    public static implicit operator WindowStrides(long[][] strides) =>
        new(null, null, (strides ?? throw new ArgumentNullException(nameof(strides))).Select(s => (long[])(s ?? throw new ArgumentNullException(nameof(strides))).Clone()).ToArray());

    /// <summary>Per input, a step per dimension.</summary>
    public static implicit operator WindowStrides(int[][] strides) =>
        new(null, null, (strides ?? throw new ArgumentNullException(nameof(strides))).Select(s => (s ?? throw new ArgumentNullException(nameof(strides))).Select(v => (long)v).ToArray()).ToArray());

    /// <summary>Per input, a step per dimension.</summary>
    public static WindowStrides Of(params long[][] strides) => strides;

    /// <summary>Resolves the steps of every dimension of every input and checks them against the windows.</summary>
    /// <exception cref="ArgumentException">A step below 1, a count that does not fit, or a step larger than its window (parameter Strides).</exception>
    internal long[][] Resolve(IReadOnlyList<TorchSharp.torch.Tensor> inputs, long[][] windows)
    {
        const string Name = "Strides";
        var result = new long[inputs.Count][];
        for (var i = 0; i < inputs.Count; i++)
        {
            var dims = (int)inputs[i].dim() - 1;
            if (perInput is not null)
            {
                if (perInput.Length != inputs.Count)
                {
                    throw new ArgumentException($"Strides (strides) gives {perInput.Length} entries but there are {inputs.Count} inputs: give one per input.", Name);
                }

                if (perInput[i].Length != dims)
                {
                    throw new ArgumentException(
                        $"Strides[{i}] has {perInput[i].Length} step(s) but input {i} has {dims} dimension(s) after the batch: give one step per dimension.",
                        Name);
                }

                result[i] = perInput[i];
            }
            else if (flat is not null)
            {
                if (inputs.Count == 1)
                {
                    if (flat.Length != dims)
                    {
                        throw new ArgumentException(
                            $"Strides (strides) has {flat.Length} step(s) but the input has {dims} dimension(s) after the batch: give one step per dimension, or one number for all.",
                            Name);
                    }

                    result[i] = flat;
                }
                else
                {
                    if (flat.Length != inputs.Count)
                    {
                        throw new ArgumentException(
                            $"Strides (strides) has {flat.Length} step(s) but there are {inputs.Count} inputs: with several inputs a flat array gives one step per input; use an array per input for steps per dimension.",
                            Name);
                    }

                    result[i] = Enumerable.Repeat(flat[i], dims).ToArray();
                }
            }
            else
            {
                result[i] = Enumerable.Repeat(all ?? 1L, dims).ToArray();
            }

            for (var d = 0; d < dims; d++)
            {
                var stride = result[i][d];
                if (stride < 1)
                {
                    throw new ArgumentOutOfRangeException(Name, stride, $"Strides (strides) must be at least 1, but input {i} has step {stride} in dimension {d + 1}.");
                }

                if (windows[i][d] < inputs[i].shape[d + 1] && stride > windows[i][d])
                {
                    throw new ArgumentException(
                        $"Strides[{i}] has step {stride} in dimension {d + 1}, larger than the window size {windows[i][d]} there: some elements would never be occluded. Use a step of at most the window size.",
                        Name);
                }
            }
        }

        return result;
    }
}
