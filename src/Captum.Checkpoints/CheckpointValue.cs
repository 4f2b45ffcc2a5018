using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Numerics;
using System.Text;
using static TorchSharp.torch;

namespace Captum.Checkpoints;

/// <summary>The serialization a checkpoint was written with.</summary>
public enum CheckpointFormat
{
    /// <summary>Not a format this reader knows.</summary>
    Unknown = 0,

    /// <summary>The zip serialization of PyTorch 1.6 and later (<c>archive/data.pkl</c> and <c>archive/data/&lt;key&gt;</c>).</summary>
    Zip,

    /// <summary>The serialization of PyTorch 0.4 to 1.5 (magic number, pickles, then raw storages).</summary>
    Legacy,

    /// <summary>The tar serialization of PyTorch before 0.4: recognised, but not supported.</summary>
    Tar,

    /// <summary>Hugging Face's safetensors: named tensors read as a state dict (see <see cref="SafeTensors"/> for the metadata).</summary>
    SafeTensors,
}

/// <summary>What a <see cref="CheckpointValue"/> holds.</summary>
public enum CheckpointValueKind
{
    /// <summary>Python's <c>None</c>: <see cref="CheckpointValue.Raw"/> is <c>null</c>.</summary>
    None,

    /// <summary>A <c>bool</c>: <see cref="bool"/>.</summary>
    Boolean,

    /// <summary>An <c>int</c>: <see cref="long"/>, or <see cref="BigInteger"/> beyond its range.</summary>
    Integer,

    /// <summary>A <c>float</c>: <see cref="double"/>.</summary>
    Float,

    /// <summary>A <c>str</c>: <see cref="string"/>.</summary>
    String,

    /// <summary>A <c>bytes</c> or <c>bytearray</c>: <see cref="byte"/>[].</summary>
    Bytes,

    /// <summary>A <c>list</c>: <see cref="List{T}"/> of <c>object?</c>.</summary>
    List,

    /// <summary>A <c>tuple</c> (or <c>torch.Size</c>): <c>object?[]</c>.</summary>
    Tuple,

    /// <summary>A <c>dict</c> or <c>OrderedDict</c>: <see cref="CheckpointDict"/>.</summary>
    Dict,

    /// <summary>A <c>set</c> or <c>frozenset</c>: <see cref="HashSet{T}"/> of <c>object?</c>.</summary>
    Set,

    /// <summary>A tensor: a TorchSharp <see cref="Tensor"/> on the CPU.</summary>
    Tensor,

    /// <summary>A bare storage: <see cref="TorchStorage"/>.</summary>
    Storage,

    /// <summary>A <c>torch.dtype</c>: <see cref="ScalarType"/>.</summary>
    DType,

    /// <summary>An object of a class that is not on the allow-list: <see cref="UnknownObject"/>.</summary>
    Unknown,

    /// <summary>A class or function named but not called: <see cref="GlobalReference"/>.</summary>
    Global,

    /// <summary>Anything else (e.g. a <see cref="Complex"/>).</summary>
    Other,
}

/// <summary>
/// A value read from a PyTorch checkpoint, with its place in the file (<see cref="Path"/>) for messages, and typed
/// accessors. It wraps <see cref="Raw"/>, a plain .NET value:
/// <list type="table">
/// <listheader><term>Python</term><description>.NET (<see cref="Raw"/>)</description></listheader>
/// <item><term>None</term><description><c>null</c></description></item>
/// <item><term>bool / int / float</term><description><see cref="bool"/> / <see cref="long"/> (<see cref="BigInteger"/> when larger) / <see cref="double"/>; numpy scalars too</description></item>
/// <item><term>str / bytes</term><description><see cref="string"/> / <see cref="byte"/>[]</description></item>
/// <item><term>list / tuple (and torch.Size)</term><description><see cref="List{T}"/> of <c>object?</c> / <c>object?[]</c></description></item>
/// <item><term>dict, OrderedDict</term><description><see cref="CheckpointDict"/> (insertion order)</description></item>
/// <item><term>set, frozenset</term><description><see cref="HashSet{T}"/> of <c>object?</c></description></item>
/// <item><term>torch.Tensor / Parameter</term><description>a contiguous CPU <see cref="Tensor"/> of the saved dtype and shape</description></item>
/// <item><term>torch.dtype / torch.device</term><description><see cref="ScalarType"/> / <see cref="string"/> such as <c>cuda:0</c></description></item>
/// <item><term>any other object</term><description><see cref="UnknownObject"/> (class, arguments, state); never constructed</description></item>
/// </list>
/// Disposing the value disposes every tensor it holds; inside a <c>torch.NewDisposeScope()</c> they are disposed
/// with the scope anyway.
/// </summary>
public sealed class CheckpointValue : IDisposable
{
    internal CheckpointValue(object? raw, string path, string source, CheckpointFormat format)
    {
        Raw = raw;
        Path = path;
        Source = source;
        Format = format;
    }

    /// <summary>The plain .NET value (see the table on <see cref="CheckpointValue"/>).</summary>
    public object? Raw { get; }

    /// <summary>Where the value sits in the checkpoint, e.g. <c>$['weights']['module.fc.weight']</c> (<c>$</c> is the root).</summary>
    public string Path { get; }

    /// <summary>The file path, or the name given for a stream, the value was read from.</summary>
    public string Source { get; }

    /// <summary>The serialization of the file the value was read from.</summary>
    public CheckpointFormat Format { get; }

    /// <summary>What the value holds.</summary>
    public CheckpointValueKind Kind => KindOf(Raw);

    /// <summary>Whether the value is Python's <c>None</c>.</summary>
    public bool IsNone => Raw is null;

    /// <summary>The number of entries of a dict, or items of a list, tuple or set.</summary>
    /// <exception cref="InvalidCastException">The value is not a container.</exception>
    public int Count => Raw switch
    {
        CheckpointDict d => d.Count,
        List<object?> l => l.Count,
        object?[] t => t.Length,
        HashSet<object?> s => s.Count,
        _ => throw WrongKind("a dict, list, tuple or set"),
    };

    /// <summary>The keys of a dict, in order.</summary>
    /// <exception cref="InvalidCastException">The value is not a dict.</exception>
    public IEnumerable<object> Keys => AsDict().Keys;

    /// <summary>The entries of a dict, in order, with their values wrapped.</summary>
    /// <exception cref="InvalidCastException">The value is not a dict.</exception>
    public IEnumerable<KeyValuePair<object, CheckpointValue>> Entries =>
        AsDict().Select(kv => new KeyValuePair<object, CheckpointValue>(kv.Key, Child(kv.Value, KeySegment(kv.Key))));

    /// <summary>The items of a list, tuple or set, wrapped.</summary>
    /// <exception cref="InvalidCastException">The value is not a list, tuple or set.</exception>
    public IEnumerable<CheckpointValue> Items => Raw switch
    {
        List<object?> l => l.Select((item, i) => Child(item, IndexSegment(i))),
        object?[] t => t.Select((item, i) => Child(item, IndexSegment(i))),
        HashSet<object?> s => s.Select((item, i) => Child(item, IndexSegment(i))),
        _ => throw WrongKind("a list, tuple or set"),
    };

    /// <summary>The entry of a dict under a string key.</summary>
    /// <param name="key">The key.</param>
    /// <exception cref="InvalidCastException">The value is not a dict.</exception>
    /// <exception cref="KeyNotFoundException">The dict has no such key; the message lists the keys present.</exception>
    public CheckpointValue this[string key] => Get(key);

    /// <summary>The item of a list or tuple at an index.</summary>
    /// <param name="index">The zero-based index.</param>
    /// <exception cref="InvalidCastException">The value is not a list or tuple.</exception>
    /// <exception cref="ArgumentOutOfRangeException">The index is out of range.</exception>
    public CheckpointValue this[int index]
    {
        get
        {
            IReadOnlyList<object?> items = Raw switch
            {
                List<object?> l => l,
                object?[] t => t,
                _ => throw WrongKind("a list or tuple"),
            };
            if (index < 0 || index >= items.Count)
            {
                throw new ArgumentOutOfRangeException(nameof(index), index, $"{Path} in {Source} has {items.Count} items.");
            }

            return Child(items[index], IndexSegment(index));
        }
    }

    /// <summary>The entry of a dict under any key (a string, a <see cref="long"/>, a tuple as <c>object?[]</c>, ...).</summary>
    /// <param name="key">The key (<c>null</c> for Python's <c>None</c>).</param>
    /// <returns>The entry.</returns>
    /// <exception cref="InvalidCastException">The value is not a dict.</exception>
    /// <exception cref="KeyNotFoundException">The dict has no such key; the message lists the keys present.</exception>
    public CheckpointValue Get(object? key)
    {
        var dict = AsDict();
        if (!dict.TryGetValue(key ?? CheckpointDict.NoneKey, out var value))
        {
            throw new KeyNotFoundException(
                $"{Path} in {Source} has no key {CheckpointDict.Describe(key)}; its keys: {dict.DescribeKeys(30)}.");
        }

        return Child(value, KeySegment(key ?? CheckpointDict.NoneKey));
    }

    /// <summary>Looks up an entry of a dict; <c>false</c> when the value is not a dict or has no such key.</summary>
    /// <param name="key">The key.</param>
    /// <param name="value">The entry when found.</param>
    /// <returns>Whether the entry was found.</returns>
    public bool TryGet(object? key, [NotNullWhen(true)] out CheckpointValue? value)
    {
        if (Raw is CheckpointDict dict && dict.TryGetValue(key ?? CheckpointDict.NoneKey, out var raw))
        {
            value = Child(raw, KeySegment(key ?? CheckpointDict.NoneKey));
            return true;
        }

        value = null;
        return false;
    }

    /// <summary>Whether the value is a dict holding <paramref name="key"/>.</summary>
    /// <param name="key">The key.</param>
    /// <returns><c>true</c> when present.</returns>
    public bool ContainsKey(object? key) => Raw is CheckpointDict dict && dict.ContainsKey(key ?? CheckpointDict.NoneKey);

    /// <summary>The value as a <see cref="CheckpointDict"/>.</summary>
    /// <returns>The dict.</returns>
    /// <exception cref="InvalidCastException">The value is not a dict.</exception>
    public CheckpointDict AsDict() => Raw as CheckpointDict ?? throw WrongKind("a dict");

    /// <summary>The items of a list or tuple, wrapped.</summary>
    /// <returns>The items.</returns>
    /// <exception cref="InvalidCastException">The value is not a list or tuple.</exception>
    public IReadOnlyList<CheckpointValue> AsList() => Raw switch
    {
        List<object?> or object?[] => Items.ToList(),
        _ => throw WrongKind("a list or tuple"),
    };

    /// <summary>The value as a string.</summary>
    /// <returns>The string.</returns>
    /// <exception cref="InvalidCastException">The value is not a str.</exception>
    public string AsString() => Raw as string ?? throw WrongKind("a str");

    /// <summary>The value as a 64-bit integer.</summary>
    /// <returns>The integer.</returns>
    /// <exception cref="InvalidCastException">The value is not an int, or does not fit 64 bits.</exception>
    public long AsInt64() => Raw switch
    {
        long l => l,
        BigInteger b when b >= long.MinValue && b <= long.MaxValue => (long)b,
        _ => throw WrongKind("an int within 64 bits"),
    };

    /// <summary>The value as a double (an int is converted).</summary>
    /// <returns>The number.</returns>
    /// <exception cref="InvalidCastException">The value is not a float or an int.</exception>
    public double AsDouble() => Raw switch
    {
        double d => d,
        long l => l,
        BigInteger b => (double)b,
        _ => throw WrongKind("a float or an int"),
    };

    /// <summary>The value as a boolean.</summary>
    /// <returns>The boolean.</returns>
    /// <exception cref="InvalidCastException">The value is not a bool.</exception>
    public bool AsBoolean() => Raw as bool? ?? throw WrongKind("a bool");

    /// <summary>The value as bytes.</summary>
    /// <returns>The bytes.</returns>
    /// <exception cref="InvalidCastException">The value is not bytes.</exception>
    public byte[] AsBytes() => Raw as byte[] ?? throw WrongKind("bytes");

    /// <summary>The value as a tensor (a CPU tensor owned by the checkpoint value).</summary>
    /// <returns>The tensor.</returns>
    /// <exception cref="InvalidCastException">The value is not a tensor.</exception>
    public Tensor AsTensor() => Raw as Tensor ?? throw WrongKind("a tensor");

    /// <summary>The value as the placeholder of an object whose class is not on the allow-list.</summary>
    /// <returns>The placeholder.</returns>
    /// <exception cref="InvalidCastException">The value is something else.</exception>
    public UnknownObject AsUnknownObject() => Raw as UnknownObject ?? throw WrongKind("an unknown object");

    /// <summary>A dict of str to int (e.g. one table of a vocabulary), in order.</summary>
    /// <returns>The map.</returns>
    /// <exception cref="InvalidCastException">The value is not a dict of str to int; the message names the entry.</exception>
    public IReadOnlyDictionary<string, long> AsInt64Map()
    {
        var result = new OrderedDictionary<string, long>(StringComparer.Ordinal);
        foreach (var (key, value) in AsDict())
        {
            if (key is not string name)
            {
                throw new InvalidCastException($"{Path} in {Source} has the non-string key {CheckpointDict.Describe(key)}.");
            }

            result[name] = value switch
            {
                long l => l,
                bool b => b ? 1 : 0,
                _ => throw new InvalidCastException(
                    $"{Path}['{name}'] in {Source} is {Describe(value)}, not an int."),
            };
        }

        return result;
    }

    /// <summary>The value as a state dict (an ordered dict of str to tensor); see <see cref="TorchCheckpoint.StateDict"/>.</summary>
    /// <returns>The state dict.</returns>
    /// <exception cref="ArgumentException">The value is not a dict of str to tensor.</exception>
    public IReadOnlyDictionary<string, Tensor> AsStateDict() => TorchCheckpoint.StateDict(this);

    /// <summary>
    /// A readable outline of the value, one line per entry down to <paramref name="maxDepth"/> levels (tensors show
    /// their dtype and shape), for exploring an unfamiliar checkpoint.
    /// </summary>
    /// <param name="maxDepth">How many container levels to expand.</param>
    /// <param name="maxItems">How many entries of each container to show.</param>
    /// <returns>The outline.</returns>
    public string Describe(int maxDepth = 3, int maxItems = 50)
    {
        var sb = new StringBuilder();
        Outline(sb, Raw, "$", 0, maxDepth, maxItems);
        return sb.ToString();
    }

    /// <summary>A one-line description (kind, and dtype and shape for a tensor).</summary>
    /// <returns>The description.</returns>
    public override string ToString() => Describe(Raw);

    /// <summary>Disposes every tensor (and storage data) the value holds, at any depth.</summary>
    public void Dispose()
    {
        foreach (var disposable in TorchCheckpoint.CollectDisposables(Raw))
        {
            disposable.Dispose();
        }
    }

    internal static CheckpointValueKind KindOf(object? raw) => raw switch
    {
        null => CheckpointValueKind.None,
        bool => CheckpointValueKind.Boolean,
        long or BigInteger => CheckpointValueKind.Integer,
        double => CheckpointValueKind.Float,
        string => CheckpointValueKind.String,
        byte[] => CheckpointValueKind.Bytes,
        List<object?> => CheckpointValueKind.List,
        object?[] => CheckpointValueKind.Tuple,
        CheckpointDict => CheckpointValueKind.Dict,
        HashSet<object?> => CheckpointValueKind.Set,
        Tensor => CheckpointValueKind.Tensor,
        TorchStorage => CheckpointValueKind.Storage,
        ScalarType => CheckpointValueKind.DType,
        UnknownObject => CheckpointValueKind.Unknown,
        GlobalReference => CheckpointValueKind.Global,
        _ => CheckpointValueKind.Other,
    };

    /// <summary>A short description of a raw value: <c>tensor Float32 [2, 3]</c>, <c>str 'abc'</c>, <c>dict (3 entries)</c>.</summary>
    internal static string Describe(object? raw) => raw switch
    {
        null => "None",
        bool b => b ? "True" : "False",
        long or BigInteger or double => "number " + ((IFormattable)raw).ToString(null, CultureInfo.InvariantCulture),
        string s => "str '" + (s.Length > 60 ? s[..60] + "..." : s) + "'",
        byte[] b => $"bytes ({b.Length})",
        List<object?> l => $"list ({l.Count} items)",
        object?[] t => $"tuple ({t.Length} items)",
        CheckpointDict d => $"{(d.TypeName == "builtins.dict" ? "dict" : d.TypeName)} ({d.Count} entries)",
        HashSet<object?> s => $"set ({s.Count} items)",
        Tensor t => $"tensor {t.dtype} {TorchObjectFactory.Shape(t.shape)}",
        ScalarType st => "dtype " + st,
        _ => raw.ToString() ?? raw.GetType().Name,
    };

    private CheckpointValue Child(object? raw, string segment) => new(raw, Path + segment, Source, Format);

    private static string KeySegment(object key) => key is string s ? $"['{s}']" : $"[{CheckpointDict.Describe(key)}]";

    private static string IndexSegment(int index) => "[" + index.ToString(CultureInfo.InvariantCulture) + "]";

    private InvalidCastException WrongKind(string expected) =>
        new($"{Path} in {Source} is {Describe(Raw)}, not {expected}.");

    private static void Outline(StringBuilder sb, object? raw, string label, int depth, int maxDepth, int maxItems)
    {
        sb.Append(' ', depth * 2).Append(label).Append(": ").AppendLine(Describe(raw));
        if (depth >= maxDepth)
        {
            return;
        }

        IEnumerable<(string Label, object? Value)>? children = raw switch
        {
            CheckpointDict d => d.Select(kv => (KeySegment(kv.Key), kv.Value)),
            List<object?> l => l.Select((v, i) => (IndexSegment(i), v)),
            object?[] t => t.Select((v, i) => (IndexSegment(i), v)),
            UnknownObject u => u.Arguments.Select((v, i) => ($"arg{i}", v)).Append(("state", u.State)),
            _ => null,
        };
        if (children is null)
        {
            return;
        }

        var shown = 0;
        foreach (var (childLabel, value) in children)
        {
            if (shown++ == maxItems)
            {
                sb.Append(' ', (depth + 1) * 2).AppendLine("...");
                break;
            }

            Outline(sb, value, childLabel, depth + 1, maxDepth, maxItems);
        }
    }
}
