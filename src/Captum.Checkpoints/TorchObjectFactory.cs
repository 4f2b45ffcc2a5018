using System.Buffers.Binary;
using System.Globalization;
using System.Numerics;
using System.Text;
using TorchSharp;
using static TorchSharp.torch;

namespace Captum.Checkpoints;

/// <summary>The load in progress: where the data comes from, for messages.</summary>
internal sealed class LoadContext(string source)
{
    /// <summary>The file path, or the name given for a stream.</summary>
    public string Source { get; } = source;

    /// <summary>Creates the exception to throw for a problem with the data.</summary>
    public CheckpointFormatException Fail(string reason, Exception? inner = null) => new(Source, reason, inner);
}

/// <summary>Stands for a tensor whose storage has not been read yet (the first pass over a legacy checkpoint).</summary>
internal sealed class PendingTensor
{
    public static PendingTensor Instance { get; } = new();

    private PendingTensor()
    {
    }
}

/// <summary>
/// The allow-list of Python globals that become real values (dicts, sets, bytes, tensors, dtypes, devices, numpy
/// scalars); every other global called or instantiated by the pickle becomes an <see cref="UnknownObject"/>.
/// </summary>
internal sealed class TorchObjectFactory : IPickleObjectFactory
{
    /// <summary>A tensor whose element count exceeds both its storage's and this is taken as corrupt data.</summary>
    private const long MaxExpandedElements = 1L << 28;

    private const int MaxRank = 64;

    private static readonly Dictionary<string, ScalarType> DTypeNames = new(StringComparer.Ordinal)
    {
        ["float32"] = ScalarType.Float32,
        ["float"] = ScalarType.Float32,
        ["float64"] = ScalarType.Float64,
        ["double"] = ScalarType.Float64,
        ["float16"] = ScalarType.Float16,
        ["half"] = ScalarType.Float16,
        ["bfloat16"] = ScalarType.BFloat16,
        ["int64"] = ScalarType.Int64,
        ["long"] = ScalarType.Int64,
        ["int32"] = ScalarType.Int32,
        ["int"] = ScalarType.Int32,
        ["int16"] = ScalarType.Int16,
        ["short"] = ScalarType.Int16,
        ["int8"] = ScalarType.Int8,
        ["uint8"] = ScalarType.Byte,
        ["bool"] = ScalarType.Bool,
        ["complex64"] = ScalarType.ComplexFloat32,
        ["cfloat"] = ScalarType.ComplexFloat32,
        ["complex128"] = ScalarType.ComplexFloat64,
        ["cdouble"] = ScalarType.ComplexFloat64,
    };

    private static readonly Dictionary<string, ScalarType> StorageTypes = new(StringComparer.Ordinal)
    {
        ["DoubleStorage"] = ScalarType.Float64,
        ["FloatStorage"] = ScalarType.Float32,
        ["HalfStorage"] = ScalarType.Float16,
        ["BFloat16Storage"] = ScalarType.BFloat16,
        ["LongStorage"] = ScalarType.Int64,
        ["IntStorage"] = ScalarType.Int32,
        ["ShortStorage"] = ScalarType.Int16,
        ["CharStorage"] = ScalarType.Int8,
        ["ByteStorage"] = ScalarType.Byte,
        ["BoolStorage"] = ScalarType.Bool,
        ["ComplexFloatStorage"] = ScalarType.ComplexFloat32,
        ["ComplexDoubleStorage"] = ScalarType.ComplexFloat64,
        ["UntypedStorage"] = ScalarType.Byte,
        ["QInt8Storage"] = ScalarType.Int8,
        ["QUInt8Storage"] = ScalarType.Byte,
        ["QInt32Storage"] = ScalarType.Int32,
    };

    private readonly LoadContext _context;
    private readonly Func<object?, object?>? _persistentLoad;
    private readonly Dictionary<(TorchStorage, ScalarType), TorchStorage> _reinterpreted = [];

    /// <summary>Creates the factory.</summary>
    /// <param name="context">The load, for messages.</param>
    /// <param name="persistentLoad">Maps a persistent id to a storage; <c>null</c> where none may appear.</param>
    public TorchObjectFactory(LoadContext context, Func<object?, object?>? persistentLoad)
    {
        _context = context;
        _persistentLoad = persistentLoad;
    }

    /// <summary>The element type of a PyTorch storage class (<c>torch.FloatStorage</c>, <c>torch.cuda.LongStorage</c>, ...).</summary>
    public static bool TryGetStorageDType(GlobalReference type, out ScalarType dtype)
    {
        dtype = default;
        return type.Module is "torch" or "torch.cuda" && StorageTypes.TryGetValue(type.Name, out dtype);
    }

    /// <summary>The size in bytes of one element.</summary>
    public static int ElementSize(ScalarType dtype) => dtype switch
    {
        ScalarType.Byte or ScalarType.Int8 or ScalarType.Bool or ScalarType.QInt8 or ScalarType.QUInt8 => 1,
        ScalarType.Int16 or ScalarType.Float16 or ScalarType.BFloat16 => 2,
        ScalarType.Int32 or ScalarType.Float32 or ScalarType.QInt32 => 4,
        ScalarType.Int64 or ScalarType.Float64 or ScalarType.ComplexFloat32 => 8,
        ScalarType.ComplexFloat64 => 16,
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "Unsupported element type."),
    };

    /// <inheritdoc />
    public object ResolveGlobal(string module, string name)
    {
        module = NormalizeModule(module);
        if (module == "torch" && DTypeNames.TryGetValue(name, out var dtype))
        {
            return dtype;
        }

        return new GlobalReference(module, name);
    }

    /// <inheritdoc />
    public object? Call(object? callable, object?[] args)
    {
        if (callable is not GlobalReference g)
        {
            return new UnknownObject(string.Empty, $"<call of {PickleReader.TypeName(callable)}>", args);
        }

        switch (g.FullName)
        {
            case "collections.OrderedDict":
            case "builtins.dict":
                return (object?)MakeDict(g.FullName, args) ?? new UnknownObject(g.Module, g.Name, args);
            case "builtins.set":
            case "builtins.frozenset":
                return (object?)MakeSet(args) ?? new UnknownObject(g.Module, g.Name, args);
            case "builtins.list" when args.Length == 0:
                return new List<object?>();
            case "builtins.list" when args.Length == 1 && AsItems(args[0]) is { } listItems:
                return new List<object?>(listItems);
            case "builtins.tuple" when args.Length == 0:
                return Array.Empty<object?>();
            case "builtins.tuple" when args.Length == 1 && AsItems(args[0]) is { } tupleItems:
                return tupleItems.ToArray();
            case "builtins.bytes":
            case "builtins.bytearray":
                return (object?)MakeBytes(args) ?? new UnknownObject(g.Module, g.Name, args);
            case "_codecs.encode":
                return (object?)Encode(args) ?? new UnknownObject(g.Module, g.Name, args);
            case "builtins.complex" when args.Length is 1 or 2 && TryDouble(args[0], out var re):
            {
                var im = 0.0;
                if (args.Length == 2 && !TryDouble(args[1], out im))
                {
                    break;
                }

                return new Complex(re, im);
            }

            case "torch.Size" when args.Length == 0:
                return Array.Empty<object?>();
            case "torch.Size" when args.Length == 1 && AsItems(args[0]) is { } dims && dims.All(d => d is long):
                return dims.ToArray();
            case "torch.device":
                return (object?)MakeDevice(args) ?? new UnknownObject(g.Module, g.Name, args);
            case "torch._utils._rebuild_tensor":
                return RebuildTensor(g, args, minArgs: 4, requiresGradIndex: -1, dtypeIndex: -1);
            case "torch._utils._rebuild_tensor_v2":
                return RebuildTensor(g, args, minArgs: 6, requiresGradIndex: 4, dtypeIndex: -1);
            case "torch._utils._rebuild_tensor_v3":
                return RebuildTensor(g, args, minArgs: 7, requiresGradIndex: 4, dtypeIndex: 6);
            case "torch._utils._rebuild_parameter":
            case "torch._utils._rebuild_parameter_with_state":
                return RebuildParameter(g, args);
            case "torch._tensor._rebuild_from_type_v2" when args.Length >= 3 && args[2] is object?[] innerArgs:
            {
                var inner = Call(args[0], innerArgs);
                return inner is Tensor or PendingTensor ? inner : new UnknownObject(g.Module, g.Name, args);
            }

            case "numpy.core.multiarray.scalar":
                return (object?)NumpyScalar(args) ?? new UnknownObject(g.Module, g.Name, args);
            case "copyreg._reconstructor" when args.Length >= 1 && args[0] is GlobalReference cls:
                return new UnknownObject(cls.Module, cls.Name, args);
        }

        return new UnknownObject(g.Module, g.Name, args);
    }

    /// <inheritdoc />
    public object? New(object? cls, object?[] args, CheckpointDict? kwargs)
    {
        if (cls is not GlobalReference g)
        {
            return new UnknownObject(string.Empty, $"<instance of {PickleReader.TypeName(cls)}>", args, kwargs);
        }

        return g.FullName switch
        {
            "collections.OrderedDict" or "builtins.dict" when kwargs is null or { Count: 0 } =>
                (object?)MakeDict(g.FullName, args) ?? new UnknownObject(g.Module, g.Name, args, kwargs),
            "builtins.set" or "builtins.frozenset" when kwargs is null or { Count: 0 } =>
                (object?)MakeSet(args) ?? new UnknownObject(g.Module, g.Name, args, kwargs),
            "builtins.list" when args.Length == 0 && kwargs is null or { Count: 0 } => new List<object?>(),
            _ => new UnknownObject(g.Module, g.Name, args, kwargs),
        };
    }

    /// <inheritdoc />
    public void Build(object? target, object? state)
    {
        switch (target)
        {
            case CheckpointDict dict:
                // A dict subclass's instance attributes: a dict, or (dict or None, slots dict).
                foreach (var part in state is object?[] { Length: 2 } pair ? pair : [state])
                {
                    if (part is CheckpointDict attributes)
                    {
                        foreach (var (key, value) in attributes)
                        {
                            if (key is string name)
                            {
                                dict.SetAttribute(name, value);
                            }
                        }
                    }
                }

                break;
            case UnknownObject unknown:
                unknown.State = state;
                break;

            // Anything else (a tensor given a state by _rebuild_from_type_v2, a list, ...) keeps its value: the
            // state only matters to Python code that is never run here.
        }
    }

    /// <inheritdoc />
    public object? PersistentLoad(object? pid) =>
        _persistentLoad is null
            ? throw _context.Fail("a persistent id appears where PyTorch never writes one")
            : _persistentLoad(pid);

    private static string NormalizeModule(string module) => module switch
    {
        "__builtin__" => "builtins",
        "copy_reg" => "copyreg",
        "numpy._core.multiarray" => "numpy.core.multiarray",
        _ => module,
    };

    // ---- Python builtins ----------------------------------------------------------------------------------------

    private static List<object?>? AsItems(object? value) => value switch
    {
        List<object?> list => list,
        object?[] tuple => [.. tuple],
        HashSet<object?> set => [.. set],
        _ => null,
    };

    private static CheckpointDict? MakeDict(string typeName, object?[] args)
    {
        var dict = new CheckpointDict(typeName);
        if (args.Length == 0)
        {
            return dict;
        }

        if (args.Length != 1)
        {
            return null;
        }

        if (args[0] is CheckpointDict source)
        {
            foreach (var (key, value) in source)
            {
                dict.Set(key, value);
            }

            return dict;
        }

        if (AsItems(args[0]) is not { } pairs)
        {
            return null;
        }

        foreach (var pair in pairs)
        {
            if (pair is not object?[] { Length: 2 } kv)
            {
                return null;
            }

            dict.Set(kv[0], kv[1]);
        }

        return dict;
    }

    private static HashSet<object?>? MakeSet(object?[] args) => args.Length switch
    {
        0 => new HashSet<object?>(PickleKeyComparer.Instance),
        1 when AsItems(args[0]) is { } items => new HashSet<object?>(items, PickleKeyComparer.Instance),
        _ => null,
    };

    private static byte[]? MakeBytes(object?[] args)
    {
        if (args.Length == 0)
        {
            return [];
        }

        if (args[0] is byte[] bytes && args.Length == 1)
        {
            return bytes;
        }

        if (args[0] is string && args.Length == 2)
        {
            return Encode(args);
        }

        if (args.Length == 1 && AsItems(args[0]) is { } items && items.All(i => i is long l && l is >= 0 and <= 255))
        {
            return items.Select(i => (byte)(long)i!).ToArray();
        }

        return null;
    }

    /// <summary><c>_codecs.encode(text, encoding)</c>: how protocol 2 pickles Python 3 <c>bytes</c> (as Latin-1 text).</summary>
    private static byte[]? Encode(object?[] args)
    {
        if (args.Length is < 1 or > 3 || args[0] is not string text)
        {
            return null;
        }

        var encoding = args.Length >= 2 ? args[1] as string : "utf-8";
        return encoding?.ToLowerInvariant().Replace('_', '-') switch
        {
            "latin1" or "latin-1" or "iso-8859-1" or "l1" => Encoding.Latin1.GetBytes(text),
            "utf-8" or "utf8" => Encoding.UTF8.GetBytes(text),
            "ascii" => Encoding.ASCII.GetBytes(text),
            _ => null,
        };
    }

    private static bool TryDouble(object? value, out double result)
    {
        switch (value)
        {
            case double d:
                result = d;
                return true;
            case long l:
                result = l;
                return true;
            default:
                result = 0;
                return false;
        }
    }

    /// <summary><c>torch.device("cuda", 0)</c> or <c>torch.device("cuda:0")</c>, as the string <c>cuda:0</c>.</summary>
    private static string? MakeDevice(object?[] args) => args switch
    {
        [string type] => type,
        [string type, null] => type,
        [string type, long index] => type + ":" + index.ToString(CultureInfo.InvariantCulture),
        _ => null,
    };

    // ---- numpy scalars -----------------------------------------------------------------------------------------

    /// <summary>
    /// <c>numpy.core.multiarray.scalar(dtype, data)</c>, e.g. a <c>numpy.float64</c> accuracy stored in a checkpoint:
    /// the dtype arrives as an <see cref="UnknownObject"/> <c>numpy.dtype('f8', ...)</c> whose state gives the byte order.
    /// </summary>
    private static object? NumpyScalar(object?[] args)
    {
        if (args.Length != 2 || args[0] is not UnknownObject { FullName: "numpy.dtype" } dtype
            || dtype.Arguments.Count < 1 || dtype.Arguments[0] is not string descr || args[1] is not byte[] data)
        {
            return null;
        }

        var order = dtype.State is object?[] { Length: > 1 } state && state[1] is string o ? o : "<";
        var bigEndian = order == ">" || (order == "=" && !BitConverter.IsLittleEndian);
        descr = descr.TrimStart('<', '>', '=', '|');
        if (descr == "?")
        {
            descr = "b1";
        }

        if (descr.Length < 2 || !int.TryParse(descr.AsSpan(1), NumberStyles.None, CultureInfo.InvariantCulture, out var size) || size != data.Length)
        {
            return null;
        }

        var bytes = (byte[])data.Clone();
        if (bigEndian != !BitConverter.IsLittleEndian)
        {
            Array.Reverse(bytes);
        }

        return (descr[0], size) switch
        {
            ('f', 8) => BitConverter.ToDouble(bytes),
            ('f', 4) => (double)BitConverter.ToSingle(bytes),
            ('f', 2) => (double)BitConverter.ToHalf(bytes),
            ('i', 8) => BitConverter.ToInt64(bytes),
            ('i', 4) => (long)BitConverter.ToInt32(bytes),
            ('i', 2) => (long)BitConverter.ToInt16(bytes),
            ('i', 1) => (long)(sbyte)bytes[0],
            ('u', 8) => BitConverter.ToUInt64(bytes) <= long.MaxValue ? (long)BitConverter.ToUInt64(bytes) : new BigInteger(BitConverter.ToUInt64(bytes)),
            ('u', 4) => (long)BitConverter.ToUInt32(bytes),
            ('u', 2) => (long)BitConverter.ToUInt16(bytes),
            ('u', 1) => (long)bytes[0],
            ('b', 1) => bytes[0] != 0,
            _ => null,
        };
    }

    // ---- Tensors -----------------------------------------------------------------------------------------------

    private object RebuildParameter(GlobalReference g, object?[] args)
    {
        if (args.Length < 2 || args[0] is not (Tensor or PendingTensor))
        {
            return new UnknownObject(g.Module, g.Name, args);
        }

        if (args[0] is Tensor tensor && args[1] is true && CanRequireGrad(tensor.dtype))
        {
            tensor.requires_grad_(true);
        }

        return args[0]!;
    }

    /// <summary>
    /// <c>_rebuild_tensor[_v2|_v3](storage, storage_offset, size, stride[, requires_grad, backward_hooks[, dtype]][, metadata])</c>:
    /// a contiguous CPU copy of the strided view of the storage.
    /// </summary>
    private object RebuildTensor(GlobalReference g, object?[] args, int minArgs, int requiresGradIndex, int dtypeIndex)
    {
        if (args.Length < minArgs || args[0] is not TorchStorage storage)
        {
            // E.g. a storage type that is not supported: keep what the pickle said, readable but not a tensor.
            return new UnknownObject(g.Module, g.Name, args);
        }

        var offset = ToInt64(args[1], "storage offset");
        var size = ToShape(args[2], "size");
        var stride = ToShape(args[3], "stride");
        var requiresGrad = requiresGradIndex >= 0 && args[requiresGradIndex] is true;
        if (dtypeIndex >= 0)
        {
            if (args[dtypeIndex] is not ScalarType dtype)
            {
                return new UnknownObject(g.Module, g.Name, args);
            }

            storage = Reinterpret(storage, dtype);
        }

        if (size.Length != stride.Length)
        {
            throw _context.Fail($"tensor on storage '{storage.Key}' has size {Shape(size)} but stride {Shape(stride)}");
        }

        if (size.Length > MaxRank || offset < 0 || size.Any(s => s < 0) || stride.Any(s => s < 0))
        {
            throw _context.Fail(
                $"tensor on storage '{storage.Key}' has an invalid layout: size {Shape(size)}, stride {Shape(stride)}, offset {offset}");
        }

        long numel;
        long lastIndex;
        try
        {
            numel = 1;
            lastIndex = offset;
            for (var i = 0; i < size.Length; i++)
            {
                numel = checked(numel * size[i]);
                if (size[i] > 0)
                {
                    lastIndex = checked(lastIndex + checked((size[i] - 1) * stride[i]));
                }
            }
        }
        catch (OverflowException)
        {
            throw _context.Fail($"tensor on storage '{storage.Key}' has an impossible layout: size {Shape(size)}, stride {Shape(stride)}");
        }

        if (numel > 0 && lastIndex >= storage.ElementCount)
        {
            throw _context.Fail(
                $"tensor of size {Shape(size)}, stride {Shape(stride)} at offset {offset} needs {lastIndex + 1} elements, " +
                $"but its storage '{storage.Key}' has {storage.ElementCount}");
        }

        if (numel > storage.ElementCount && numel > MaxExpandedElements)
        {
            throw _context.Fail(
                $"tensor of size {Shape(size)} would expand the {storage.ElementCount} elements of storage '{storage.Key}' to {numel}");
        }

        if (storage.Data is null)
        {
            return PendingTensor.Instance;
        }

        var result = torch.empty(size, storage.DType);
        if (numel > 0)
        {
            using var view = storage.Data.as_strided(size, stride, offset);
            result.copy_(view);
        }

        if (requiresGrad && CanRequireGrad(storage.DType))
        {
            result.requires_grad_(true);
        }

        return result;
    }

    /// <summary>The storage's bytes seen as <paramref name="dtype"/> elements (for <c>_rebuild_tensor_v3</c>).</summary>
    private TorchStorage Reinterpret(TorchStorage storage, ScalarType dtype)
    {
        if (storage.DType == dtype)
        {
            return storage;
        }

        if (_reinterpreted.TryGetValue((storage, dtype), out var cached))
        {
            return cached;
        }

        var byteCount = storage.ElementCount * ElementSize(storage.DType);
        var elementSize = ElementSize(dtype);
        if (byteCount % elementSize != 0)
        {
            throw _context.Fail(
                $"storage '{storage.Key}' has {byteCount} bytes, not a whole number of {dtype} elements");
        }

        var result = new TorchStorage(storage.Key, storage.TypeName, dtype, byteCount / elementSize, storage.Location);
        if (storage.Data is not null)
        {
            result.Data = StorageIO.Reinterpret(storage.Data, dtype, byteCount / elementSize);
        }

        _reinterpreted[(storage, dtype)] = result;
        return result;
    }

    private static bool CanRequireGrad(ScalarType dtype) =>
        dtype is ScalarType.Float16 or ScalarType.BFloat16 or ScalarType.Float32 or ScalarType.Float64
            or ScalarType.ComplexFloat32 or ScalarType.ComplexFloat64;

    private long ToInt64(object? value, string what) => value switch
    {
        long l => l,
        bool b => b ? 1 : 0,
        _ => throw _context.Fail($"tensor {what} is a {PickleReader.TypeName(value)}, not an int"),
    };

    private long[] ToShape(object? value, string what)
    {
        var items = AsItems(value) ?? throw _context.Fail($"tensor {what} is a {PickleReader.TypeName(value)}, not a tuple");
        var result = new long[items.Count];
        for (var i = 0; i < result.Length; i++)
        {
            result[i] = ToInt64(items[i], what);
        }

        return result;
    }

    internal static string Shape(IEnumerable<long> dims) =>
        "[" + string.Join(", ", dims.Select(d => d.ToString(CultureInfo.InvariantCulture))) + "]";
}

/// <summary>Reads storage bytes into tensors.</summary>
internal static class StorageIO
{
    private const int ChunkBytes = 16 << 20;

    /// <summary>
    /// Fills a fresh 1-D CPU tensor of <paramref name="elementCount"/> <paramref name="dtype"/> elements from
    /// <paramref name="source"/>, in chunks, swapping bytes when the data is big-endian.
    /// </summary>
    /// <param name="source">The stream, positioned at the first byte.</param>
    /// <param name="dtype">The element type.</param>
    /// <param name="elementCount">The number of elements.</param>
    /// <param name="bigEndian">Whether the data was written big-endian.</param>
    /// <param name="truncated">Makes the exception for a stream that ends early, given the bytes read.</param>
    /// <returns>The tensor.</returns>
    public static Tensor Read(Stream source, ScalarType dtype, long elementCount, bool bigEndian, Func<long, Exception> truncated)
    {
        var elementSize = TorchObjectFactory.ElementSize(dtype);
        var data = torch.empty(elementCount, dtype);
        var chunk = Math.Max(1, ChunkBytes / elementSize);
        long readBytes = 0;
        for (long start = 0; start < elementCount; start += chunk)
        {
            var count = Math.Min(chunk, elementCount - start);
            using var slice = data.narrow(0, start, count);
            var span = slice.bytes;
            var got = ReadFully(source, span);
            readBytes += got;
            if (got < span.Length)
            {
                data.Dispose();
                throw truncated(readBytes);
            }

            if (bigEndian)
            {
                SwapBytes(span, dtype);
            }
        }

        return data;
    }

    /// <summary>A copy of a tensor's bytes as a 1-D tensor of another element type.</summary>
    public static Tensor Reinterpret(Tensor source, ScalarType dtype, long elementCount)
    {
        var result = torch.empty(elementCount, dtype);
        if (elementCount > 0)
        {
            using var contiguous = source.contiguous();
            contiguous.bytes.CopyTo(result.bytes);
        }

        return result;
    }

    /// <summary>Reads until <paramref name="target"/> is full or the stream ends; returns the bytes read.</summary>
    public static int ReadFully(Stream source, Span<byte> target)
    {
        var total = 0;
        while (total < target.Length)
        {
            var n = source.Read(target[total..]);
            if (n == 0)
            {
                break;
            }

            total += n;
        }

        return total;
    }

    private static void SwapBytes(Span<byte> span, ScalarType dtype)
    {
        var unit = dtype switch
        {
            ScalarType.ComplexFloat32 => 4,
            ScalarType.ComplexFloat64 => 8,
            _ => TorchObjectFactory.ElementSize(dtype),
        };
        if (unit == 1)
        {
            return;
        }

        for (var i = 0; i + unit <= span.Length; i += unit)
        {
            span.Slice(i, unit).Reverse();
        }
    }

    /// <summary>Reads a little- or big-endian int64.</summary>
    public static long ReadInt64(ReadOnlySpan<byte> bytes, bool bigEndian) =>
        bigEndian ? BinaryPrimitives.ReadInt64BigEndian(bytes) : BinaryPrimitives.ReadInt64LittleEndian(bytes);
}
