using System.Collections;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Numerics;
using static TorchSharp.torch;

namespace Captum.Checkpoints;

/// <summary>
/// A Python <c>dict</c> or <c>collections.OrderedDict</c> read from a checkpoint: its entries in insertion order (as
/// Python keeps them). Keys are the .NET values of the model described on <see cref="CheckpointValue"/>: mostly
/// <see cref="string"/>, sometimes <see cref="long"/> or a tuple (<c>object?[]</c>, compared element by element);
/// Python's <c>None</c> as a key is <see cref="NoneKey"/>. Integers, floats and booleans that are equal in Python are
/// the same key here too (<c>1</c>, <c>1.0</c> and <c>True</c>).
/// </summary>
public sealed class CheckpointDict : IReadOnlyDictionary<object, object?>
{
    private readonly OrderedDictionary<object, object?> _items = new(PickleKeyComparer.Instance);
    private Dictionary<string, object?>? _attributes;

    /// <summary>Creates an empty dictionary of the given Python type.</summary>
    /// <param name="typeName">The qualified Python type, e.g. <c>builtins.dict</c> or <c>collections.OrderedDict</c>.</param>
    public CheckpointDict(string typeName = "builtins.dict")
    {
        TypeName = typeName ?? throw new ArgumentNullException(nameof(typeName));
    }

    /// <summary>The key that stands for Python's <c>None</c> used as a dictionary key.</summary>
    public static object NoneKey { get; } = new NoneKeySentinel();

    /// <summary>The qualified Python type: <c>builtins.dict</c> or <c>collections.OrderedDict</c>.</summary>
    public string TypeName { get; }

    /// <summary>
    /// Attributes set on the object when it was unpickled (Python's <c>BUILD</c> with a state), e.g. the
    /// <c>_metadata</c> OrderedDict that PyTorch attaches to every state dict. Empty when there are none.
    /// </summary>
    public IReadOnlyDictionary<string, object?> Attributes =>
        (IReadOnlyDictionary<string, object?>?)_attributes ?? EmptyAttributes;

    /// <summary>The number of entries.</summary>
    public int Count => _items.Count;

    /// <summary>The keys, in insertion order.</summary>
    public IEnumerable<object> Keys => _items.Keys;

    /// <summary>The values, in insertion order.</summary>
    public IEnumerable<object?> Values => _items.Values;

    /// <summary>The value stored under <paramref name="key"/>.</summary>
    /// <param name="key">The key (<c>null</c> is taken as <see cref="NoneKey"/>).</param>
    /// <exception cref="KeyNotFoundException">There is no such key; the message lists the first keys present.</exception>
    public object? this[object key] =>
        _items.TryGetValue(NormalizeKey(key), out var value)
            ? value
            : throw new KeyNotFoundException($"The {TypeName} has no key {Describe(key)}; its keys: {DescribeKeys(20)}.");

    /// <summary>Whether the dictionary holds <paramref name="key"/>.</summary>
    /// <param name="key">The key (<c>null</c> is taken as <see cref="NoneKey"/>).</param>
    /// <returns><c>true</c> when present.</returns>
    public bool ContainsKey(object key) => _items.ContainsKey(NormalizeKey(key));

    /// <summary>Looks a key up.</summary>
    /// <param name="key">The key (<c>null</c> is taken as <see cref="NoneKey"/>).</param>
    /// <param name="value">The value when found, else <c>null</c>.</param>
    /// <returns><c>true</c> when found.</returns>
    public bool TryGetValue(object key, out object? value) => _items.TryGetValue(NormalizeKey(key), out value);

    /// <summary>Enumerates the entries in insertion order.</summary>
    /// <returns>The enumerator.</returns>
    public IEnumerator<KeyValuePair<object, object?>> GetEnumerator() => _items.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <summary>A short description: type and entry count.</summary>
    /// <returns>The description.</returns>
    public override string ToString() => $"{TypeName} ({Count} entries)";

    /// <summary>
    /// Adds an entry, to build a value for <see cref="TorchCheckpoint.Save(object?, string)"/>; with a collection
    /// initializer: <c>new CheckpointDict("collections.OrderedDict") { { "fc.weight", weight } }</c>.
    /// </summary>
    /// <param name="key">The key (<c>null</c> for Python's <c>None</c>).</param>
    /// <param name="value">The value.</param>
    /// <exception cref="ArgumentException">The dictionary already holds <paramref name="key"/>.</exception>
    public void Add(object? key, object? value)
    {
        if (!_items.TryAdd(NormalizeKey(key), value))
        {
            throw new ArgumentException($"The {TypeName} already has the key {Describe(key)}.", nameof(key));
        }
    }

    internal void Set(object? key, object? value) => _items[NormalizeKey(key)] = value;

    internal void SetAttribute(string name, object? value) => (_attributes ??= new(StringComparer.Ordinal))[name] = value;

    internal string DescribeKeys(int max)
    {
        var shown = _items.Keys.Take(max).Select(Describe).ToList();
        if (shown.Count == 0)
        {
            return "(none)";
        }

        return string.Join(", ", shown) + (_items.Count > max ? $", ... ({_items.Count} in all)" : string.Empty);
    }

    internal static string Describe(object? key) => key switch
    {
        null => "None",
        string s => "'" + s + "'",
        NoneKeySentinel => "None",
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => key.ToString() ?? key.GetType().Name,
    };

    private static object NormalizeKey(object? key) => key ?? NoneKey;

    private static readonly IReadOnlyDictionary<string, object?> EmptyAttributes = new Dictionary<string, object?>();

    private sealed class NoneKeySentinel
    {
        public override string ToString() => "None";
    }
}

/// <summary>
/// A reference to a Python global (a class or function, <c>module.name</c>) that the checkpoint names but that is not
/// turned into a value: e.g. a storage type, or a class passed as an argument. Nothing is ever imported or run.
/// </summary>
/// <param name="Module">The Python module, e.g. <c>torch</c>.</param>
/// <param name="Name">The name inside the module, e.g. <c>FloatStorage</c>.</param>
public sealed record GlobalReference(string Module, string Name)
{
    /// <summary>The qualified name, <c>module.name</c>.</summary>
    public string FullName => Module.Length == 0 ? Name : Module + "." + Name;

    /// <summary>The qualified name.</summary>
    /// <returns><see cref="FullName"/>.</returns>
    public override string ToString() => FullName;
}

/// <summary>
/// A placeholder for a Python object whose class is not on the reader's allow-list (e.g. <c>argparse.Namespace</c>,
/// a pickled <c>nn.Module</c>, a numpy array): it records what the pickle asked for (the class or function, the
/// arguments, the state given by <c>BUILD</c>, items appended or set) so that the entry can be inspected or skipped.
/// Nothing is ever imported, constructed or executed.
/// </summary>
public sealed class UnknownObject
{
    private List<object?>? _listItems;
    private List<KeyValuePair<object?, object?>>? _dictItems;

    /// <summary>Creates a placeholder.</summary>
    /// <param name="module">The Python module of the class or function.</param>
    /// <param name="name">The class or function name.</param>
    /// <param name="arguments">The positional arguments it was called with.</param>
    /// <param name="keywordArguments">The keyword arguments (<c>NEWOBJ_EX</c>), if any.</param>
    public UnknownObject(string module, string name, IReadOnlyList<object?> arguments, CheckpointDict? keywordArguments = null)
    {
        Module = module ?? throw new ArgumentNullException(nameof(module));
        Name = name ?? throw new ArgumentNullException(nameof(name));
        Arguments = arguments ?? throw new ArgumentNullException(nameof(arguments));
        KeywordArguments = keywordArguments;
    }

    /// <summary>The Python module of the class or function, e.g. <c>argparse</c>.</summary>
    public string Module { get; }

    /// <summary>The class or function name, e.g. <c>Namespace</c>.</summary>
    public string Name { get; }

    /// <summary>The qualified name, <c>module.name</c>.</summary>
    public string FullName => Module.Length == 0 ? Name : Module + "." + Name;

    /// <summary>The positional arguments of the call (a tuple's items).</summary>
    public IReadOnlyList<object?> Arguments { get; }

    /// <summary>The keyword arguments, when the pickle gave some (<c>NEWOBJ_EX</c>); else <c>null</c>.</summary>
    public CheckpointDict? KeywordArguments { get; }

    /// <summary>
    /// The state given by <c>BUILD</c> (what Python would pass to <c>__setstate__</c>, usually a dict of attributes,
    /// e.g. the fields of an <c>argparse.Namespace</c>), or <c>null</c> when there was none.
    /// </summary>
    public object? State { get; internal set; }

    /// <summary>Items appended to the object (as if it were a list); empty when none.</summary>
    public IReadOnlyList<object?> ListItems => (IReadOnlyList<object?>?)_listItems ?? [];

    /// <summary>Entries set on the object (as if it were a dict, e.g. a <c>defaultdict</c>); empty when none.</summary>
    public IReadOnlyList<KeyValuePair<object?, object?>> DictItems =>
        (IReadOnlyList<KeyValuePair<object?, object?>>?)_dictItems ?? [];

    /// <summary>A short description: the class and the argument count.</summary>
    /// <returns>The description.</returns>
    public override string ToString() => $"<unknown {FullName} ({Arguments.Count} arguments)>";

    internal void Append(object? item) => (_listItems ??= []).Add(item);

    internal void SetItem(object? key, object? value) => (_dictItems ??= []).Add(new(key, value));
}

/// <summary>
/// A PyTorch storage that appears in a checkpoint on its own (not behind a tensor). Storages behind tensors are
/// consumed when the tensors are rebuilt and do not appear in the loaded value.
/// </summary>
public sealed class TorchStorage
{
    internal TorchStorage(string key, string typeName, ScalarType dtype, long elementCount, string location)
    {
        Key = key;
        TypeName = typeName;
        DType = dtype;
        ElementCount = elementCount;
        Location = location;
    }

    /// <summary>The storage key in the file (a file name under <c>data/</c> in a zip checkpoint).</summary>
    public string Key { get; }

    /// <summary>The PyTorch storage type, e.g. <c>torch.FloatStorage</c>.</summary>
    public string TypeName { get; }

    /// <summary>The element type.</summary>
    public ScalarType DType { get; }

    /// <summary>The number of elements.</summary>
    public long ElementCount { get; }

    /// <summary>The device the storage was saved from, e.g. <c>cpu</c> or <c>cuda:0</c>; the data is always on the CPU.</summary>
    public string Location { get; }

    /// <summary>The elements, as a 1-D CPU tensor of <see cref="DType"/>; <c>null</c> before the data is read.</summary>
    public Tensor? Data { get; internal set; }

    /// <summary>A short description.</summary>
    /// <returns>The description.</returns>
    public override string ToString() =>
        $"{TypeName}(key '{Key}', {ElementCount.ToString(CultureInfo.InvariantCulture)} elements, saved on {Location})";
}

/// <summary>
/// Key equality as Python's for the values a pickle holds: tuples (<c>object?[]</c>) compare element by element,
/// numbers compare by value across <see cref="long"/>, <see cref="BigInteger"/>, <see cref="double"/> and
/// <see cref="bool"/>, strings ordinally, everything else by reference or its own equality.
/// </summary>
internal sealed class PickleKeyComparer : IEqualityComparer<object?>
{
    private const int MaxDepth = 64;

    public static PickleKeyComparer Instance { get; } = new();

    public new bool Equals(object? x, object? y) => AreEqual(x, y, 0);

    public int GetHashCode([DisallowNull] object? obj) => Hash(obj, 0);

    private static bool AreEqual(object? x, object? y, int depth)
    {
        if (ReferenceEquals(x, y))
        {
            return true;
        }

        if (x is null || y is null)
        {
            return false;
        }

        if (TryNumber(x, out var nx) && TryNumber(y, out var ny))
        {
            return nx.Equals(ny);
        }

        if (x is object?[] tx && y is object?[] ty)
        {
            if (tx.Length != ty.Length || depth >= MaxDepth)
            {
                return false;
            }

            for (var i = 0; i < tx.Length; i++)
            {
                if (!AreEqual(tx[i], ty[i], depth + 1))
                {
                    return false;
                }
            }

            return true;
        }

        if (x is string sx && y is string sy)
        {
            return string.Equals(sx, sy, StringComparison.Ordinal);
        }

        if (x is byte[] bx && y is byte[] by)
        {
            return bx.AsSpan().SequenceEqual(by);
        }

        if (x is List<object?> || x is CheckpointDict || x is UnknownObject)
        {
            return false; // compared by reference above
        }

        return x.Equals(y);
    }

    private static int Hash(object? obj, int depth)
    {
        switch (obj)
        {
            case null:
                return 0;
            case string s:
                return StringComparer.Ordinal.GetHashCode(s);
            case object?[] t:
            {
                var h = new HashCode();
                h.Add(t.Length);
                if (depth < MaxDepth)
                {
                    foreach (var item in t)
                    {
                        h.Add(Hash(item, depth + 1));
                    }
                }

                return h.ToHashCode();
            }

            case byte[] b:
            {
                var h = new HashCode();
                h.AddBytes(b);
                return h.ToHashCode();
            }

            case List<object?> or CheckpointDict or UnknownObject:
                return System.Runtime.CompilerServices.RuntimeHelpers.GetHashCode(obj);
        }

        return TryNumber(obj, out var n) ? n.GetHashCode() : obj.GetHashCode();
    }

    /// <summary>Maps an integral-valued number to a <see cref="BigInteger"/> key, any other double to itself.</summary>
    private static bool TryNumber(object value, out object normalized)
    {
        switch (value)
        {
            case long l:
                normalized = new BigInteger(l);
                return true;
            case bool b:
                normalized = b ? BigInteger.One : BigInteger.Zero;
                return true;
            case BigInteger bi:
                normalized = bi;
                return true;
            case double d:
                normalized = double.IsFinite(d) && Math.Floor(d) == d ? new BigInteger(d) : d;
                return true;
            default:
                normalized = value;
                return false;
        }
    }
}
