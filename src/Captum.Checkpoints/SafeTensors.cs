// Why safetensors is read and written here by hand: the one served package that touches the format,
// TorchSharp.PyBridge 1.4.4, keeps its reader and writer internal and reaches them only through extensions that load
// into or save from a module's state dict, which cannot hand back named tensors with the file's string metadata (CAVs,
// activation caches and sharded results keep theirs there), and its reader allocates each tensor from the header's
// shape before checking the header's byte ranges against the file. The format is small and fully specified (Hugging
// Face's safetensors README): an 8-byte little-endian header length, a UTF-8 JSON header naming each tensor's dtype,
// shape and byte range, then the bytes. What this file adds is the checking an untrusted file needs before anything is
// allocated: the header's size, every range inside the buffer, contiguous and non-overlapping, sizes that match shape
// x dtype without overflow.

using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using System.Text.Json;
using TorchSharp;
using static TorchSharp.torch;

namespace Captum.Checkpoints;

/// <summary>
/// Reads and writes safetensors files (Hugging Face's <c>model.safetensors</c>): named tensors and string metadata,
/// without pickles, so nothing in the file can run code.
/// </summary>
public static class SafeTensors
{
    /// <summary>The largest JSON header read (100 MB, as the reference implementation).</summary>
    public const long MaxHeaderBytes = 100_000_000;

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private static readonly (string Name, ScalarType Type)[] DTypes =
    [
        ("BOOL", ScalarType.Bool), ("U8", ScalarType.Byte), ("I8", ScalarType.Int8), ("I16", ScalarType.Int16),
        ("I32", ScalarType.Int32), ("I64", ScalarType.Int64), ("F16", ScalarType.Float16), ("BF16", ScalarType.BFloat16),
        ("F32", ScalarType.Float32), ("F64", ScalarType.Float64),
    ];

    /// <summary>Reads a safetensors file.</summary>
    /// <param name="path">The file.</param>
    /// <returns>The tensors (CPU, in the file's byte order) and metadata; the caller disposes it.</returns>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="CheckpointFormatException">The file is not a valid safetensors file; the message names it and the problem.</exception>
    public static SafeTensorsFile Load(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1 << 16);
        return Load(stream, path);
    }

    /// <summary>Reads a safetensors file from a stream (from its current position to its end); the stream is not closed.</summary>
    /// <param name="stream">The data.</param>
    /// <param name="sourceName">How messages name the data; <c>&lt;stream&gt;</c> if null.</param>
    /// <inheritdoc cref="Load(string)" path="/returns"/>
    /// <exception cref="CheckpointFormatException">The data is not a valid safetensors file.</exception>
    public static SafeTensorsFile Load(Stream stream, string? sourceName = null)
    {
        ArgumentNullException.ThrowIfNull(stream);
        var context = new LoadContext(sourceName ?? "<stream>");
        if (!stream.CanSeek)
        {
            // Sizes are checked against the data actually there before any tensor is allocated.
            using var copy = new MemoryStream();
            stream.CopyTo(copy);
            copy.Position = 0;
            return Load(copy, sourceName);
        }

        var (tensors, metadata) = Read(stream, context, ownedByCaller: true);
        return new SafeTensorsFile(tensors, metadata, context.Source);
    }

    /// <summary>
    /// Reads the tensors and metadata of a seekable stream. With <paramref name="ownedByCaller"/> the tensors belong
    /// to no dispose scope; otherwise to the current one.
    /// </summary>
    internal static (IReadOnlyDictionary<string, Tensor> Tensors, IReadOnlyDictionary<string, string> Metadata) Read(Stream stream, LoadContext context, bool ownedByCaller)
    {
        var remaining = stream.Length - stream.Position;
        Span<byte> prefix = stackalloc byte[8];
        if (StorageIO.ReadFully(stream, prefix) < 8)
        {
            throw context.Fail("not a safetensors file: shorter than its 8-byte header length");
        }

        var headerLength = BinaryPrimitives.ReadUInt64LittleEndian(prefix);
        if (headerLength > MaxHeaderBytes || (long)headerLength > remaining - 8)
        {
            throw context.Fail($"not a safetensors file: its header claims {headerLength} bytes, more than {(headerLength > MaxHeaderBytes ? $"the {MaxHeaderBytes}-byte limit" : $"the {remaining - 8} bytes that follow")}");
        }

        var header = new byte[headerLength];
        if (StorageIO.ReadFully(stream, header) < header.Length)
        {
            throw context.Fail("truncated safetensors header");
        }

        var entries = ParseHeader(header, context, out var metadata);
        var size = remaining - 8 - (long)headerLength;
        var end = entries.Count == 0 ? 0 : entries[^1].End;
        if (size != end)
        {
            throw context.Fail(size < end
                ? $"truncated: the tensors need {end} bytes of data, the file holds {size}"
                : $"{size - end} bytes after the last tensor that no tensor covers");
        }

        var tensors = new OrderedDictionary<string, Tensor>(StringComparer.Ordinal);
        try
        {
            foreach (var e in entries)
            {
                var flat = StorageIO.Read(stream, e.Type, e.Elements, bigEndian: false, got => context.Fail($"tensor '{e.Name}' is truncated ({got} of {e.End - e.Begin} bytes)"));
                var shaped = flat.reshape(e.Shape);
                if (!ReferenceEquals(shaped, flat))
                {
                    flat.Dispose();
                }

                if (ownedByCaller)
                {
                    shaped.DetachFromDisposeScope();
                }

                tensors[e.Name] = shaped;
            }
        }
        catch
        {
            foreach (var t in tensors.Values)
            {
                t.Dispose();
            }

            throw;
        }

        return (tensors, metadata);
    }

    /// <summary>
    /// Writes <paramref name="tensors"/> (any device and layout; written as contiguous CPU data, the caller's tensors
    /// untouched) and <paramref name="metadata"/> as a safetensors file, names in ordinal order. The file is written
    /// under a temporary name beside <paramref name="path"/> and moved into place, so a failure never leaves half a file.
    /// </summary>
    /// <exception cref="ArgumentException">No path, an empty or duplicate name, a name <c>__metadata__</c>, or a dtype safetensors has no name for.</exception>
    public static void Save(IReadOnlyDictionary<string, Tensor> tensors, string path, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        Check(tensors);
        var full = Path.GetFullPath(path);
        var temporary = full + "." + Guid.NewGuid().ToString("N")[..8] + ".tmp";
        try
        {
            using (var stream = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16))
            {
                Save(tensors, stream, metadata);
            }

            File.Move(temporary, full, overwrite: true);
        }
        finally
        {
            if (File.Exists(temporary))
            {
                File.Delete(temporary);
            }
        }
    }

    /// <summary>Writes a safetensors file to a stream (not closed).</summary>
    /// <inheritdoc cref="Save(IReadOnlyDictionary{string, Tensor}, string, IReadOnlyDictionary{string, string}?)"/>
    public static void Save(IReadOnlyDictionary<string, Tensor> tensors, Stream stream, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(stream);
        Check(tensors);
        var names = tensors.Keys.Order(StringComparer.Ordinal).ToList();
        using var json = new MemoryStream();
        using (var writer = new Utf8JsonWriter(json))
        {
            writer.WriteStartObject();
            if (metadata is { Count: > 0 })
            {
                writer.WriteStartObject("__metadata__");
                foreach (var (key, value) in metadata.OrderBy(m => m.Key, StringComparer.Ordinal))
                {
                    writer.WriteString(key, value);
                }

                writer.WriteEndObject();
            }

            long offset = 0;
            foreach (var name in names)
            {
                var t = tensors[name];
                var bytes = t.numel() * t.ElementSize;
                writer.WriteStartObject(name);
                writer.WriteString("dtype", DTypes.First(d => d.Type == t.dtype).Name);
                writer.WriteStartArray("shape");
                foreach (var d in t.shape)
                {
                    writer.WriteNumberValue(d);
                }

                writer.WriteEndArray();
                writer.WriteStartArray("data_offsets");
                writer.WriteNumberValue(offset);
                writer.WriteNumberValue(offset + bytes);
                writer.WriteEndArray();
                writer.WriteEndObject();
                offset += bytes;
            }

            writer.WriteEndObject();
        }

        // The header is padded with spaces so that the data starts 8-byte aligned, as the reference writer does.
        var padding = (int)((8 - (json.Length % 8)) % 8);
        Span<byte> prefix = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(prefix, (ulong)(json.Length + padding));
        stream.Write(prefix);
        json.Position = 0;
        json.CopyTo(stream);
        for (var i = 0; i < padding; i++)
        {
            stream.WriteByte((byte)' ');
        }

        foreach (var name in names)
        {
            using var scope = torch.NewDisposeScope();
            var data = tensors[name].detach().cpu().contiguous();
            if (data.numel() > 0)
            {
                stream.Write(data.bytes);
            }
        }
    }

    /// <summary>
    /// Whether data of <paramref name="length"/> bytes starting with <paramref name="header"/> looks like a safetensors
    /// file: a header length that fits, followed by '{'.
    /// </summary>
    internal static bool LooksLike(ReadOnlySpan<byte> header, long length)
    {
        if (header.Length < 9)
        {
            return false;
        }

        var n = BinaryPrimitives.ReadUInt64LittleEndian(header);
        return n >= 2 && n <= MaxHeaderBytes && (long)n <= length - 8 && header[8] == (byte)'{';
    }

    private static void Check(IReadOnlyDictionary<string, Tensor> tensors)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        foreach (var (name, t) in tensors)
        {
            if (string.IsNullOrEmpty(name) || name == "__metadata__")
            {
                throw new ArgumentException($"tensors: '{name}' cannot name a tensor in a safetensors file.", nameof(tensors));
            }

            if (t is null || t.IsInvalid)
            {
                throw new ArgumentException($"tensors: '{name}' is not a live tensor.", nameof(tensors));
            }

            if (!DTypes.Any(d => d.Type == t.dtype))
            {
                throw new ArgumentException($"tensors: '{name}' is {t.dtype}, which safetensors (as read here) has no name for; convert it (e.g. to Float32).", nameof(tensors));
            }
        }
    }

    private sealed record Entry(string Name, ScalarType Type, long[] Shape, long Elements, long Begin, long End);

    private static List<Entry> ParseHeader(byte[] header, LoadContext context, out IReadOnlyDictionary<string, string> metadata)
    {
        JsonDocument document;
        try
        {
            _ = StrictUtf8.GetCharCount(header); // names are decoded lazily: refuse invalid UTF-8 here, once
            document = JsonDocument.Parse(header, new JsonDocumentOptions { MaxDepth = 8 });
        }
        catch (DecoderFallbackException ex)
        {
            throw context.Fail("the safetensors header is not valid UTF-8", ex);
        }
        catch (JsonException ex)
        {
            throw context.Fail($"the safetensors header is not valid JSON ({ex.Message})", ex);
        }

        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw context.Fail("the safetensors header is not a JSON object");
            }

            var meta = new Dictionary<string, string>(StringComparer.Ordinal);
            var entries = new List<Entry>();
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var property in document.RootElement.EnumerateObject())
            {
                if (!seen.Add(property.Name))
                {
                    throw context.Fail($"the safetensors header names '{property.Name}' twice");
                }

                if (property.Name == "__metadata__")
                {
                    if (property.Value.ValueKind != JsonValueKind.Object)
                    {
                        throw context.Fail("__metadata__ is not an object of strings");
                    }

                    foreach (var m in property.Value.EnumerateObject())
                    {
                        meta[m.Name] = m.Value.ValueKind == JsonValueKind.String
                            ? m.Value.GetString()!
                            : throw context.Fail($"__metadata__['{m.Name}'] is not a string");
                    }

                    continue;
                }

                entries.Add(ParseEntry(property, context));
            }

            entries.Sort((a, b) => a.Begin != b.Begin ? a.Begin.CompareTo(b.Begin) : a.End.CompareTo(b.End));
            long expected = 0;
            foreach (var e in entries)
            {
                if (e.Begin != expected)
                {
                    throw context.Fail(e.Begin < expected
                        ? $"tensor '{e.Name}' overlaps the tensor before it (bytes {e.Begin} to {e.End})"
                        : $"bytes {expected} to {e.Begin} belong to no tensor (before '{e.Name}')");
                }

                expected = e.End;
            }

            metadata = meta;
            return entries;
        }
    }

    private static Entry ParseEntry(JsonProperty property, LoadContext context)
    {
        var name = property.Name;
        var value = property.Value;
        if (value.ValueKind != JsonValueKind.Object
            || !value.TryGetProperty("dtype", out var dtype) || dtype.ValueKind != JsonValueKind.String
            || !value.TryGetProperty("shape", out var shape) || shape.ValueKind != JsonValueKind.Array
            || !value.TryGetProperty("data_offsets", out var offsets) || offsets.ValueKind != JsonValueKind.Array || offsets.GetArrayLength() != 2)
        {
            throw context.Fail($"tensor '{name}': the header needs dtype, shape and data_offsets [begin, end]");
        }

        var dtypeName = dtype.GetString();
        var type = DTypes.FirstOrDefault(d => d.Name == dtypeName);
        if (type.Name is null)
        {
            throw context.Fail($"tensor '{name}' has dtype '{dtypeName}', which is not supported (supported: {string.Join(", ", DTypes.Select(d => d.Name))})");
        }

        var dims = new long[shape.GetArrayLength()];
        long elements = 1;
        var i = 0;
        foreach (var d in shape.EnumerateArray())
        {
            if (d.ValueKind != JsonValueKind.Number || !d.TryGetInt64(out var size) || size < 0)
            {
                throw context.Fail($"tensor '{name}' has a dimension that is not a non-negative integer ({d.GetRawText()})");
            }

            dims[i++] = size;
            try
            {
                elements = checked(elements * size);
            }
            catch (OverflowException)
            {
                throw context.Fail($"tensor '{name}' has shape [{string.Join(", ", dims.Take(i))}...], more elements than can exist");
            }
        }

        var range = offsets.EnumerateArray().Select(o => o.ValueKind == JsonValueKind.Number && o.TryGetInt64(out var v) && v >= 0 ? v : -1).ToArray();
        if (range[0] < 0 || range[1] < range[0])
        {
            throw context.Fail($"tensor '{name}' has invalid data_offsets [{string.Join(", ", offsets.EnumerateArray().Select(o => o.GetRawText()))}]");
        }

        var elementSize = TorchObjectFactory.ElementSize(type.Type);
        if (elements > long.MaxValue / elementSize || elements * elementSize != range[1] - range[0])
        {
            throw context.Fail($"tensor '{name}': {type.Name} [{string.Join(", ", dims)}] needs {(elements > long.MaxValue / elementSize ? "more" : (elements * elementSize).ToString(CultureInfo.InvariantCulture))} bytes, its data_offsets give {range[1] - range[0]}");
        }

        return new Entry(name, type.Type, dims, elements, range[0], range[1]);
    }
}

/// <summary>A safetensors file's tensors and metadata; disposing it disposes the tensors.</summary>
public sealed class SafeTensorsFile : IDisposable
{
    internal SafeTensorsFile(IReadOnlyDictionary<string, Tensor> tensors, IReadOnlyDictionary<string, string> metadata, string source)
    {
        Tensors = tensors;
        Metadata = metadata;
        Source = source;
    }

    /// <summary>The tensors by name, in the order of their data in the file (CPU tensors).</summary>
    public IReadOnlyDictionary<string, Tensor> Tensors { get; }

    /// <summary>The <c>__metadata__</c> strings (empty when the file has none).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>The file or stream name.</summary>
    public string Source { get; }

    /// <summary>Disposes every tensor.</summary>
    public void Dispose()
    {
        foreach (var t in Tensors.Values)
        {
            t.Dispose();
        }
    }
}
