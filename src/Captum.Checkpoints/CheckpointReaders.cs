using System.Globalization;
using System.IO.Compression;
using System.Numerics;
using System.Text;
using static TorchSharp.torch;

namespace Captum.Checkpoints;

/// <summary>A storage reference decoded from a PyTorch persistent id.</summary>
/// <param name="Type">The storage class, e.g. <c>torch.FloatStorage</c>.</param>
/// <param name="DType">Its element type, or <c>null</c> when the class is not supported.</param>
/// <param name="Key">The storage key.</param>
/// <param name="Location">The device it was saved from.</param>
/// <param name="ElementCount">The number of elements.</param>
/// <param name="View">The legacy view metadata <c>(view_key, offset, size)</c>, or <c>null</c>.</param>
internal sealed record StorageId(GlobalReference Type, ScalarType? DType, string Key, string Location, long ElementCount, object?[]? View)
{
    /// <summary>
    /// Decodes <c>('storage', storage_type, key, location, numel[, view_metadata])</c>, the persistent id both
    /// serializations write for every storage.
    /// </summary>
    public static StorageId Parse(object? pid, LoadContext context)
    {
        if (pid is not object?[] { Length: >= 5 } t || t[0] is not string tag)
        {
            throw context.Fail($"unsupported persistent id ({PickleReader.TypeName(pid)}): expected ('storage', type, key, location, numel)");
        }

        if (tag != "storage")
        {
            throw context.Fail($"unsupported persistent id of kind '{tag}'");
        }

        if (t[1] is not GlobalReference type)
        {
            throw context.Fail($"storage persistent id with a {PickleReader.TypeName(t[1])} as its type");
        }

        var key = t[2] switch
        {
            string s => s,
            long l => l.ToString(CultureInfo.InvariantCulture),
            _ => throw context.Fail($"storage persistent id with a {PickleReader.TypeName(t[2])} as its key"),
        };
        var location = t[3] as string ?? PickleReader.TypeName(t[3]);
        if (t[4] is not long numel || numel < 0)
        {
            throw context.Fail($"storage '{key}' has an invalid element count ({PickleReader.TypeName(t[4])} {t[4]})");
        }

        object?[]? view = null;
        if (t.Length > 5 && t[5] is not null)
        {
            view = t[5] as object?[] is { Length: 3 } v && v[0] is string or long && v[1] is long && v[2] is long
                ? v
                : throw context.Fail($"storage '{key}' has invalid view metadata ({PickleReader.TypeName(t[5])})");
        }

        var dtype = TorchObjectFactory.TryGetStorageDType(type, out var d) ? d : (ScalarType?)null;
        return new StorageId(type, dtype, key, location, numel, view);
    }

    /// <summary>The byte size of the storage's data; fails on an impossible size.</summary>
    public long ByteCount(LoadContext context)
    {
        try
        {
            return checked(ElementCount * TorchObjectFactory.ElementSize(DType!.Value));
        }
        catch (OverflowException)
        {
            throw context.Fail($"storage '{Key}' claims an impossible size of {ElementCount} elements");
        }
    }
}

/// <summary>Reads the zip serialization of PyTorch 1.6 and later.</summary>
internal static class ZipCheckpointReader
{
    private const long MaxPickleBytes = 1L << 31;

    /// <summary>Reads the object of a zip checkpoint (the stream starts at the archive's first byte).</summary>
    public static object? Read(Stream stream, LoadContext context)
    {
        ZipArchive zip;
        try
        {
            zip = new ZipArchive(stream, ZipArchiveMode.Read, leaveOpen: true);
        }
        catch (InvalidDataException ex)
        {
            throw context.Fail($"corrupt or truncated zip archive ({ex.Message})", ex);
        }

        using (zip)
        {
            var entries = new Dictionary<string, ZipArchiveEntry>(StringComparer.Ordinal);
            foreach (var entry in zip.Entries)
            {
                entries.TryAdd(entry.FullName, entry);
            }

            var prefix = FindRecordPrefix(zip, context);
            var bigEndian = ReadByteOrder(entries, prefix, context);
            var pickleEntry = entries[prefix + "data.pkl"];
            if (pickleEntry.Length > MaxPickleBytes)
            {
                throw context.Fail($"{pickleEntry.FullName} claims {pickleEntry.Length} bytes, more than a checkpoint's object pickle can have");
            }

            using var pickle = new MemoryStream(); // grows with the data actually read, whatever the entry claims
            using (var source = new ZipRecordChecksum(pickleEntry.Open()))
            {
                var buffer = new byte[81920];
                int n;
                while ((n = source.Read(buffer, 0, buffer.Length)) > 0)
                {
                    if (pickle.Length + n > pickleEntry.Length)
                    {
                        throw context.Fail($"{pickleEntry.FullName} holds more data than its zip entry declares");
                    }

                    pickle.Write(buffer, 0, n);
                }

                source.Verify(pickleEntry, context);
            }

            if (pickle.Length != pickleEntry.Length)
            {
                throw context.Fail($"{pickleEntry.FullName} is truncated (expected {pickleEntry.Length} bytes, got {pickle.Length})");
            }

            var storages = new ZipStorages(entries, prefix, bigEndian, stream.Length, context);
            var factory = new TorchObjectFactory(context, storages.Load);
            var reader = new PickleReader(pickle, 0, pickle.Length, pickleEntry.FullName, context, factory);
            return reader.Load();
        }
    }

    /// <summary>
    /// The record folder (<c>archive/</c>, or the file's base name in recent PyTorch versions): the folder of the
    /// <c>data.pkl</c> record, preferring the folder of the archive's first entry as PyTorch does.
    /// </summary>
    private static string FindRecordPrefix(ZipArchive zip, LoadContext context)
    {
        var candidates = zip.Entries
            .Select(e => e.FullName)
            .Where(n => n == "data.pkl" || (n.EndsWith("/data.pkl", StringComparison.Ordinal) && n.IndexOf('/') == n.Length - "/data.pkl".Length))
            .Select(n => n[..^"data.pkl".Length])
            .ToList();
        if (candidates.Count == 0)
        {
            var names = zip.Entries.Select(e => e.FullName).ToList();
            var shown = string.Join(", ", names.Take(8)) + (names.Count > 8 ? ", ..." : string.Empty);
            var isTorchScript = names.Any(n => n.EndsWith("constants.pkl", StringComparison.Ordinal) || n.Contains("/code/", StringComparison.Ordinal));
            throw context.Fail(
                (isTorchScript
                    ? "a TorchScript archive (torch.jit.save) without data.pkl, which this reader does not support"
                    : "not a PyTorch checkpoint: a zip archive without a data.pkl record") +
                $" (entries: {(names.Count == 0 ? "none" : shown)})");
        }

        var first = zip.Entries[0].FullName;
        var firstFolder = first.Contains('/', StringComparison.Ordinal) ? first[..(first.IndexOf('/') + 1)] : string.Empty;
        return candidates.Contains(firstFolder) ? firstFolder : candidates[0];
    }

    private static bool ReadByteOrder(Dictionary<string, ZipArchiveEntry> entries, string prefix, LoadContext context)
    {
        if (!entries.TryGetValue(prefix + "byteorder", out var entry))
        {
            return false; // files before PyTorch 2.1 have no byteorder record and are little-endian
        }

        if (entry.Length > 64)
        {
            throw context.Fail($"{entry.FullName} is {entry.Length} bytes long");
        }

        using var source = new ZipRecordChecksum(entry.Open());
        using var text = new StreamReader(source, Encoding.ASCII, detectEncodingFromByteOrderMarks: false, leaveOpen: true);
        var order = text.ReadToEnd().Trim();
        source.Verify(entry, context);
        return order switch
        {
            "little" => false,
            "big" => true,
            _ => throw context.Fail($"{entry.FullName} says '{order}', neither 'little' nor 'big'"),
        };
    }

    /// <summary>The storages of a zip checkpoint, read on first reference (a storage shared by views is read once).</summary>
    private sealed class ZipStorages(Dictionary<string, ZipArchiveEntry> entries, string prefix, bool bigEndian, long archiveLength, LoadContext context)
    {
        private readonly Dictionary<string, TorchStorage> _loaded = new(StringComparer.Ordinal);
        private readonly Dictionary<(string, ScalarType), TorchStorage> _typed = [];

        public object? Load(object? pid)
        {
            var id = StorageId.Parse(pid, context);
            if (id.DType is not { } dtype)
            {
                // Unsupported storage class: the tensor built on it stays an UnknownObject.
                return new UnknownObject(id.Type.Module, id.Type.Name, (object?[])pid!);
            }

            if (_typed.TryGetValue((id.Key, dtype), out var known))
            {
                return known;
            }

            TorchStorage storage;
            if (_loaded.TryGetValue(id.Key, out var other))
            {
                // The same bytes referenced with another element type (typed views of one untyped storage).
                var byteCount = other.ElementCount * TorchObjectFactory.ElementSize(other.DType);
                var count = byteCount / TorchObjectFactory.ElementSize(dtype);
                if (id.ByteCount(context) > byteCount)
                {
                    throw context.Fail($"storage '{id.Key}' is referenced with {id.ElementCount} {dtype} elements but holds {byteCount} bytes");
                }

                storage = new TorchStorage(id.Key, id.Type.FullName, dtype, count, id.Location)
                {
                    Data = StorageIO.Reinterpret(other.Data!, dtype, count),
                };
            }
            else
            {
                storage = Read(id, dtype);
                _loaded[id.Key] = storage;
            }

            _typed[(id.Key, dtype)] = storage;
            return storage;
        }

        private TorchStorage Read(StorageId id, ScalarType dtype)
        {
            var name = prefix + "data/" + id.Key;
            if (!entries.TryGetValue(name, out var entry))
            {
                throw context.Fail($"storage '{id.Key}' is missing from the archive (no record {name})");
            }

            var expected = id.ByteCount(context);
            if (entry.CompressedLength > archiveLength)
            {
                throw context.Fail($"record {name} claims {entry.CompressedLength} bytes, more than the whole file ({archiveLength})");
            }

            if (entry.Length < expected)
            {
                throw context.Fail($"truncated storage '{id.Key}' ({name}: expected {expected} bytes, got {entry.Length})");
            }

            using var source = new ZipRecordChecksum(entry.Open());
            var data = StorageIO.Read(
                source,
                dtype,
                id.ElementCount,
                bigEndian,
                got => context.Fail($"truncated storage '{id.Key}' ({name}: expected {expected} bytes, got {got})"));
            try
            {
                source.Verify(entry, context);
            }
            catch
            {
                data.Dispose();
                throw;
            }

            return new TorchStorage(id.Key, id.Type.FullName, dtype, id.ElementCount, id.Location) { Data = data };
        }
    }
}

/// <summary>
/// Reads the serialization of PyTorch before 1.6: the magic number, the protocol version and the system info (three
/// small pickles), the object pickle with persistent storage ids, the pickled list of storage keys, then each
/// storage as an int64 element count followed by its raw bytes.
/// </summary>
internal static class LegacyCheckpointReader
{
    /// <summary>The magic number PyTorch writes first: 0x1950a86a20f9469cfc6c.</summary>
    public static readonly BigInteger MagicNumber = BigInteger.Parse("1950a86a20f9469cfc6c", NumberStyles.HexNumber, CultureInfo.InvariantCulture);

    private const long ProtocolVersion = 1001;

    /// <summary>
    /// Whether the data starts with PyTorch's magic number (<c>false</c> when it is some other pickle), and where
    /// the magic number's pickle ends. Fails when the first pickle is truncated or corrupt.
    /// </summary>
    public static bool HasMagic(Stream stream, long end, LoadContext context, out string found, out long endPosition)
    {
        var reader = new PickleReader(stream, 0, end, "legacy header (magic number)", context, new TorchObjectFactory(context, null));
        var value = reader.Load();
        endPosition = reader.EndPosition;
        found = value switch
        {
            long l => "0x" + l.ToString("x", CultureInfo.InvariantCulture),
            BigInteger b => "0x" + b.ToString("x", CultureInfo.InvariantCulture).TrimStart('0'),
            _ => "a pickled " + PickleReader.TypeName(value),
        };
        return value is BigInteger big && big == MagicNumber;
    }

    /// <summary>Reads the object of a legacy checkpoint (the stream starts at the magic number).</summary>
    public static object? Read(Stream stream, LoadContext context)
    {
        var end = stream.Length;
        if (!HasMagic(stream, end, context, out var found, out var position))
        {
            throw context.Fail($"not a PyTorch checkpoint: unknown magic number ({found})");
        }

        var noStorages = new TorchObjectFactory(context, null);

        var versionReader = new PickleReader(stream, position, end, "legacy protocol version", context, noStorages);
        var version = versionReader.Load();
        if (version is not long v || v != ProtocolVersion)
        {
            throw context.Fail($"unsupported legacy protocol version {version ?? "None"} (expected {ProtocolVersion})");
        }

        var sysInfoReader = new PickleReader(stream, versionReader.EndPosition, end, "legacy system info", context, noStorages);
        var sysInfo = sysInfoReader.Load() as CheckpointDict;
        var bigEndian = sysInfo is not null && sysInfo.TryGetValue("little_endian", out var little) && little is false;

        // Pass 1: read the object pickle only to learn every storage's type and size (tensors stay pending), and
        // where the pickle ends.
        var objectStart = sysInfoReader.EndPosition;
        var storages = new LegacyStorages(context);
        var pass1 = new PickleReader(stream, objectStart, end, "legacy object pickle", context, new TorchObjectFactory(context, storages.Load));
        pass1.Load();

        var keysReader = new PickleReader(stream, pass1.EndPosition, end, "legacy storage key list", context, noStorages);
        var keyList = keysReader.Load();
        var keys = keyList switch
        {
            List<object?> list => list,
            object?[] tuple => [.. tuple],
            _ => throw context.Fail($"legacy storage key list is a {PickleReader.TypeName(keyList)}, not a list"),
        };

        storages.ReadData(stream, keysReader.EndPosition, end, keys, bigEndian);

        // Pass 2: the object pickle again, now with every storage's data.
        var pass2 = new PickleReader(stream, objectStart, end, "legacy object pickle", context, new TorchObjectFactory(context, storages.Load));
        return pass2.Load();
    }

    /// <summary>The storages of a legacy checkpoint: registered during pass 1, filled, then handed out in pass 2.</summary>
    private sealed class LegacyStorages(LoadContext context)
    {
        private readonly Dictionary<string, TorchStorage> _roots = new(StringComparer.Ordinal);
        private readonly Dictionary<string, (TorchStorage View, TorchStorage Root, long Offset)> _views = new(StringComparer.Ordinal);

        public object? Load(object? pid)
        {
            var id = StorageId.Parse(pid, context);
            if (id.DType is not { } dtype)
            {
                throw context.Fail($"storage '{id.Key}' has the unsupported type {id.Type.FullName}");
            }

            if (!_roots.TryGetValue(id.Key, out var root))
            {
                id.ByteCount(context);
                root = new TorchStorage(id.Key, id.Type.FullName, dtype, id.ElementCount, id.Location);
                _roots[id.Key] = root;
            }
            else if (root.DType != dtype || root.ElementCount != id.ElementCount)
            {
                throw context.Fail(
                    $"storage '{id.Key}' is referenced both as {root.ElementCount} {root.DType} and as {id.ElementCount} {dtype} elements");
            }

            if (id.View is not { } view)
            {
                return root;
            }

            var viewKey = view[0] is long lk ? lk.ToString(CultureInfo.InvariantCulture) : (string)view[0]!;
            var offset = (long)view[1]!;
            var size = (long)view[2]!;
            if (_views.TryGetValue(viewKey, out var known))
            {
                return known.View;
            }

            if (offset < 0 || size < 0 || offset > root.ElementCount - size)
            {
                throw context.Fail($"storage view '{viewKey}' (offset {offset}, {size} elements) lies outside storage '{id.Key}' of {root.ElementCount} elements");
            }

            var storage = new TorchStorage(viewKey, root.TypeName, dtype, size, root.Location);
            _views[viewKey] = (storage, root, offset);
            return storage;
        }

        /// <summary>Reads each listed storage: an int64 element count, then the raw elements.</summary>
        public void ReadData(Stream stream, long start, long end, List<object?> keys, bool bigEndian)
        {
            var position = start;
            var total = keys.Count;
            Span<byte> header = stackalloc byte[8];
            for (var i = 0; i < total; i++)
            {
                var key = keys[i] switch
                {
                    string s => s,
                    long l => l.ToString(CultureInfo.InvariantCulture),
                    _ => throw context.Fail($"storage {i + 1} of {total} has a {PickleReader.TypeName(keys[i])} key"),
                };
                if (!_roots.TryGetValue(key, out var storage))
                {
                    throw context.Fail($"storage {i + 1} of {total} (key '{key}') is not referenced by the object pickle");
                }

                if (storage.Data is not null)
                {
                    throw context.Fail($"storage {i + 1} of {total} (key '{key}') is listed twice");
                }

                if (end - position < 8)
                {
                    throw context.Fail($"truncated storage {i + 1} of {total} (key '{key}'): its size header is cut off at byte {end}");
                }

                stream.Position = position;
                if (StorageIO.ReadFully(stream, header) < 8)
                {
                    throw context.Fail($"truncated storage {i + 1} of {total} (key '{key}'): its size header is cut off");
                }

                position += 8;
                var count = StorageIO.ReadInt64(header, bigEndian);
                if (count != storage.ElementCount)
                {
                    throw context.Fail(
                        $"storage {i + 1} of {total} (key '{key}') holds {count} elements, but the object pickle expects {storage.ElementCount}");
                }

                var bytes = count * TorchObjectFactory.ElementSize(storage.DType);
                if (end - position < bytes)
                {
                    throw context.Fail($"truncated storage {i + 1} of {total} (key '{key}': expected {bytes} bytes, got {end - position})");
                }

                var index = i;
                storage.Data = StorageIO.Read(
                    stream,
                    storage.DType,
                    count,
                    bigEndian,
                    got => context.Fail($"truncated storage {index + 1} of {total} (key '{key}': expected {bytes} bytes, got {got})"));
                position += bytes;
            }

            foreach (var (key, root) in _roots)
            {
                if (root.Data is null)
                {
                    throw context.Fail($"storage '{key}' is referenced by the object pickle but missing from the storage list");
                }
            }

            foreach (var (view, root, offset) in _views.Values)
            {
                // A copy, not a narrowed view: as_strided offsets count from the start of the underlying memory.
                using var slice = root.Data!.narrow(0, offset, view.ElementCount);
                view.Data = slice.clone();
            }
        }
    }
}
