// Why torch.save's format is written here rather than by a library:
// - The zip container: System.IO.Compression.ZipArchive writes valid archives but gives no control over a record's
//   local extra field, so it cannot start each storage record at a 64-byte boundary as torch.save does (torch.load
//   with mmap=True maps storages in place and relies on it). ZipRecordWriter below writes stored records with that
//   padding; the CRC-32 comes from System.IO.Hashing.
// - The pickle: Razorvine.Pickle's Pickler (served) writes tensors only through custom picklers registered in a
//   process-wide static registry, the hazard that keeps its unpickler out of this assembly too, and does not write
//   collections.OrderedDict or torch's rebuild calls itself; the writer below emits the fixed opcode set of protocol 2
//   that torch.save uses, deterministically (the same value always gives the same bytes).
// TorchSharp.PyBridge (served) saves a module's state dict, not the nested checkpoints the VQA plugin writes.

using System.Buffers.Binary;
using System.Collections;
using System.Globalization;
using System.Numerics;
using System.Text;
using TorchSharp;
using static TorchSharp.torch;

namespace Captum.Checkpoints;

/// <content>Writing checkpoints: <see cref="Save(object?, string)"/>, the counterpart of <c>torch.save</c>.</content>
public static partial class TorchCheckpoint
{
    /// <summary>
    /// Writes <paramref name="value"/> as PyTorch's <c>torch.save(value, path)</c> does: the zip serialization
    /// (records <c>archive/data.pkl</c>, <c>archive/byteorder</c>, <c>archive/data/&lt;key&gt;</c> and
    /// <c>archive/version</c>, stored uncompressed with their data aligned to 64 bytes) holding a pickle of
    /// protocol 2 in which every tensor is <c>torch._utils._rebuild_tensor_v2</c> over a storage record. The same
    /// value always gives the same bytes. The file is written to a temporary name first and then moved into place.
    /// </summary>
    /// <param name="value">
    /// What to save, built from the values <see cref="Load(string)"/> returns (see <see cref="CheckpointValue"/>):
    /// <c>null</c>, <see cref="bool"/>, any integer type or <see cref="BigInteger"/>, <see cref="float"/> or
    /// <see cref="double"/>, <see cref="string"/>, <see cref="byte"/>[] (bytes), a <see cref="Tensor"/> (any
    /// device; saved as a contiguous CPU tensor), a <see cref="ScalarType"/> (a torch dtype), a
    /// <see cref="CheckpointDict"/> (a dict or <c>collections.OrderedDict</c>, as its type name says; attributes
    /// such as a state dict's <c>_metadata</c> too), any other <see cref="IDictionary"/> (a dict), an
    /// <c>object?[]</c> (a tuple), a <see cref="HashSet{T}"/> of <c>object?</c> (a set), and any other
    /// <see cref="IEnumerable"/> (a list). A tensor that appears twice is saved once and shares its storage.
    /// </param>
    /// <param name="path">The file to write; its folder must exist.</param>
    /// <exception cref="ArgumentException">
    /// <paramref name="path"/> is empty, or <paramref name="value"/> holds something that cannot be saved (the
    /// message gives its place, e.g. <c>$['weights']['fc.weight']</c>, and its type).
    /// </exception>
    public static void Save(object? value, string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var records = CheckpointWriter.Records(value);
        var temporary = path + ".tmp-" + Environment.ProcessId.ToString(CultureInfo.InvariantCulture);
        try
        {
            using (var stream = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None))
            {
                ZipRecordWriter.Write(stream, records);
            }

            File.Move(temporary, path, overwrite: true);
        }
        finally
        {
            if (File.Exists(temporary))
            {
                File.Delete(temporary);
            }
        }
    }

    /// <summary>Writes <paramref name="value"/> to a stream, as <see cref="Save(object?, string)"/> writes a file. The stream is not closed.</summary>
    /// <param name="value">What to save (see <see cref="Save(object?, string)"/>).</param>
    /// <param name="stream">A writable stream; the archive starts at its current position.</param>
    /// <exception cref="ArgumentException">The stream cannot be written, or <paramref name="value"/> holds something that cannot be saved.</exception>
    public static void Save(object? value, Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        if (!stream.CanWrite)
        {
            throw new ArgumentException("The stream cannot be written.", nameof(stream));
        }

        ZipRecordWriter.Write(stream, CheckpointWriter.Records(value));
    }
}

/// <summary>Turns a value into the records of a zip checkpoint: the object pickle and one record per storage.</summary>
internal sealed class CheckpointWriter
{
    private const string Archive = "archive";
    private const int BatchSize = 1000; // as Python's pickler batches APPENDS and SETITEMS

    private readonly MemoryStream _pickle = new();
    private readonly Dictionary<Tensor, string> _storageKeys = new(ReferenceEqualityComparer.Instance);
    private readonly List<(string Name, byte[] Data)> _storages = [];

    private CheckpointWriter()
    {
    }

    /// <summary>The records, in the order PyTorch writes them.</summary>
    public static List<(string Name, byte[] Data)> Records(object? value)
    {
        using var scope = torch.NewDisposeScope();
        var writer = new CheckpointWriter();
        writer.Op(0x80).Byte(2); // PROTO 2, as torch.save writes
        writer.Write(value, "$");
        writer.Op('.');
        var records = new List<(string, byte[])>
        {
            (Archive + "/data.pkl", writer._pickle.ToArray()),
            (Archive + "/byteorder", Encoding.ASCII.GetBytes(BitConverter.IsLittleEndian ? "little" : "big")),
        };
        records.AddRange(writer._storages.Select(s => (Archive + "/data/" + s.Name, s.Data)));
        records.Add((Archive + "/version", "3\n"u8.ToArray()));
        return records;
    }

    private void Write(object? value, string path)
    {
        switch (value)
        {
            case null:
                Op('N');
                break;
            case bool b:
                Op(b ? (byte)0x88 : (byte)0x89);
                break;
            case string s:
                Unicode(s);
                break;
            case byte[] bytes:
                Bytes(bytes);
                break;
            case sbyte or byte or short or ushort or int or uint or long:
                Int(Convert.ToInt64(value, CultureInfo.InvariantCulture));
                break;
            case ulong u:
                Integer(new BigInteger(u));
                break;
            case BigInteger big:
                Integer(big);
                break;
            case float f:
                Float(f);
                break;
            case double d:
                Float(d);
                break;
            case Half h:
                Float((double)h);
                break;
            case Tensor tensor:
                WriteTensor(tensor, path);
                break;
            case ScalarType dtype:
                Global("torch", DTypeName(dtype, path));
                break;
            case CheckpointDict dict:
                WriteDict(dict.TypeName, dict.Select(kv => (ReferenceEquals(kv.Key, CheckpointDict.NoneKey) ? null : kv.Key, kv.Value)), dict.Attributes, path);
                break;
            case IDictionary dictionary:
                WriteDict("builtins.dict", Entries(dictionary), null, path);
                break;
            case object?[] tuple when tuple.GetType() == typeof(object[]):
                WriteTuple(tuple, path);
                break;
            case HashSet<object?> set:
                Global("__builtin__", "set");
                WriteList(set, path);
                Op(0x85).Op('R'); // TUPLE1, REDUCE: set([...])
                break;
            case IEnumerable items:
                WriteList(items.Cast<object?>(), path);
                break;
            default:
                throw new ArgumentException(
                    $"{path} is a {value.GetType().FullName}, which a checkpoint cannot hold (see TorchCheckpoint.Save for the types it can).",
                    "value");
        }
    }

    private void WriteDict(string typeName, IEnumerable<(object? Key, object? Value)> entries, IReadOnlyDictionary<string, object?>? attributes, string path)
    {
        switch (typeName)
        {
            case "builtins.dict":
                Op('}');
                break;
            case "collections.OrderedDict":
                Global("collections", "OrderedDict").Op(')').Op('R');
                break;
            default:
                throw new ArgumentException($"{path} is a dict of type '{typeName}'; only builtins.dict and collections.OrderedDict can be saved.", "value");
        }

        Batched(entries, 'u', (entry, _) =>
        {
            Write(entry.Key, path + "[key]");
            Write(entry.Value, path + KeySegment(entry.Key));
        });
        if (attributes is { Count: > 0 })
        {
            // OrderedDict.__reduce__ gives the instance __dict__ as state: items first, then BUILD, as pickle.py writes it.
            Op('}');
            Batched(attributes, 'u', (attribute, _) =>
            {
                Unicode(attribute.Key);
                Write(attribute.Value, $"{path}.{attribute.Key}");
            });
            Op('b');
        }
    }

    private static IEnumerable<(object? Key, object? Value)> Entries(IDictionary dictionary)
    {
        // The non-generic enumerator of a dictionary gives DictionaryEntry items, whatever its generic type.
        var enumerator = dictionary.GetEnumerator();
        while (enumerator.MoveNext())
        {
            yield return (enumerator.Key, enumerator.Value);
        }
    }

    private void WriteList(IEnumerable<object?> items, string path)
    {
        Op(']');
        Batched(items, 'e', (item, i) => Write(item, $"{path}[{i.ToString(CultureInfo.InvariantCulture)}]"));
    }

    private void WriteTuple(IReadOnlyList<object?> items, string path)
    {
        if (items.Count == 0)
        {
            Op(')');
            return;
        }

        if (items.Count > 3)
        {
            Op('(');
        }

        for (var i = 0; i < items.Count; i++)
        {
            Write(items[i], $"{path}[{i.ToString(CultureInfo.InvariantCulture)}]");
        }

        Op(items.Count switch { 1 => (byte)0x85, 2 => (byte)0x86, 3 => (byte)0x87, _ => (byte)'t' });
    }

    /// <summary>Items between MARK and <paramref name="opcode"/>, at most <see cref="BatchSize"/> per batch; nothing for no items.</summary>
    private void Batched<T>(IEnumerable<T> items, char opcode, Action<T, int> write)
    {
        var index = 0;
        foreach (var item in items)
        {
            if (index % BatchSize == 0)
            {
                if (index > 0)
                {
                    Op(opcode);
                }

                Op('(');
            }

            write(item, index++);
        }

        if (index > 0)
        {
            Op(opcode);
        }
    }

    /// <summary><c>torch._utils._rebuild_tensor_v2(storage, 0, size, stride, requires_grad, OrderedDict())</c>.</summary>
    private void WriteTensor(Tensor tensor, string path)
    {
        var dtype = tensor.dtype;
        var storageType = StorageTypeName(dtype, path);
        if (!_storageKeys.TryGetValue(tensor, out var key))
        {
            key = _storages.Count.ToString(CultureInfo.InvariantCulture);
            _storageKeys.Add(tensor, key);
            using var contiguous = tensor.detach().cpu().contiguous();
            var data = contiguous.bytes.ToArray();
            _storages.Add((key, data));
        }

        var shape = tensor.shape;
        var stride = new long[shape.Length];
        var step = 1L;
        for (var i = shape.Length - 1; i >= 0; i--)
        {
            stride[i] = step;
            step *= Math.Max(1, shape[i]);
        }

        Global("torch._utils", "_rebuild_tensor_v2").Op('(');
        Op('(').Unicode("storage").Global("torch", storageType).Unicode(key).Unicode("cpu").Int(tensor.numel()).Op('t').Op('Q'); // BINPERSID
        Int(0);
        WriteTuple(shape.Cast<object?>().ToArray(), path + ".size");
        WriteTuple(stride.Cast<object?>().ToArray(), path + ".stride");
        Op(tensor.requires_grad ? (byte)0x88 : (byte)0x89);
        Global("collections", "OrderedDict").Op(')').Op('R');
        Op('t').Op('R');
    }

    private static string StorageTypeName(ScalarType dtype, string path) => dtype switch
    {
        ScalarType.Float64 => "DoubleStorage",
        ScalarType.Float32 => "FloatStorage",
        ScalarType.Float16 => "HalfStorage",
        ScalarType.BFloat16 => "BFloat16Storage",
        ScalarType.Int64 => "LongStorage",
        ScalarType.Int32 => "IntStorage",
        ScalarType.Int16 => "ShortStorage",
        ScalarType.Int8 => "CharStorage",
        ScalarType.Byte => "ByteStorage",
        ScalarType.Bool => "BoolStorage",
        ScalarType.ComplexFloat32 => "ComplexFloatStorage",
        ScalarType.ComplexFloat64 => "ComplexDoubleStorage",
        _ => throw new ArgumentException($"{path} is a tensor of dtype {dtype}, which this writer cannot save.", "value"),
    };

    private static string DTypeName(ScalarType dtype, string path) => dtype switch
    {
        ScalarType.Float64 => "float64",
        ScalarType.Float32 => "float32",
        ScalarType.Float16 => "float16",
        ScalarType.BFloat16 => "bfloat16",
        ScalarType.Int64 => "int64",
        ScalarType.Int32 => "int32",
        ScalarType.Int16 => "int16",
        ScalarType.Int8 => "int8",
        ScalarType.Byte => "uint8",
        ScalarType.Bool => "bool",
        ScalarType.ComplexFloat32 => "complex64",
        ScalarType.ComplexFloat64 => "complex128",
        _ => throw new ArgumentException($"{path} is the dtype {dtype}, which this writer cannot save.", "value"),
    };

    private static string KeySegment(object? key) => key is string s ? $"['{s}']" : $"[{CheckpointDict.Describe(key)}]";

    private CheckpointWriter Global(string module, string name) => Op('c').Raw(Encoding.UTF8.GetBytes(module + "\n" + name + "\n"));

    private CheckpointWriter Unicode(string value)
    {
        var bytes = Encoding.UTF8.GetBytes(value);
        return Op('X').UInt32((uint)bytes.Length).Raw(bytes); // BINUNICODE
    }

    private void Bytes(byte[] value)
    {
        if (value.Length < 256)
        {
            Op('C').Byte((byte)value.Length).Raw(value); // SHORT_BINBYTES
        }
        else
        {
            Op('B').UInt32((uint)value.Length).Raw(value); // BINBYTES
        }
    }

    /// <summary>The smallest integer opcode, as Python's pickler chooses it.</summary>
    private CheckpointWriter Int(long value)
    {
        if (value is >= 0 and <= byte.MaxValue)
        {
            return Op('K').Byte((byte)value); // BININT1
        }

        if (value is >= 0 and <= ushort.MaxValue)
        {
            Span<byte> two = stackalloc byte[2];
            BinaryPrimitives.WriteUInt16LittleEndian(two, (ushort)value);
            return Op('M').Raw(two); // BININT2
        }

        if (value is >= int.MinValue and <= int.MaxValue)
        {
            Span<byte> four = stackalloc byte[4];
            BinaryPrimitives.WriteInt32LittleEndian(four, (int)value);
            return Op('J').Raw(four); // BININT
        }

        return Integer(value);
    }

    private CheckpointWriter Integer(BigInteger value)
    {
        if (value >= int.MinValue && value <= int.MaxValue)
        {
            return Int((long)value);
        }

        var bytes = value.ToByteArray(isUnsigned: false, isBigEndian: false);
        return bytes.Length < 256
            ? Op(0x8a).Byte((byte)bytes.Length).Raw(bytes) // LONG1
            : Op(0x8b).UInt32((uint)bytes.Length).Raw(bytes); // LONG4
    }

    private void Float(double value)
    {
        Span<byte> eight = stackalloc byte[8];
        BinaryPrimitives.WriteDoubleBigEndian(eight, value);
        Op('G').Raw(eight); // BINFLOAT
    }

    private CheckpointWriter UInt32(uint value)
    {
        Span<byte> four = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(four, value);
        return Raw(four);
    }

    private CheckpointWriter Op(char opcode) => Byte((byte)opcode);

    private CheckpointWriter Op(byte opcode) => Byte(opcode);

    private CheckpointWriter Byte(byte value)
    {
        _pickle.WriteByte(value);
        return this;
    }

    private CheckpointWriter Raw(ReadOnlySpan<byte> bytes)
    {
        _pickle.Write(bytes);
        return this;
    }
}

/// <summary>
/// Writes a zip archive the way PyTorch's <c>PyTorchStreamWriter</c> does: every record stored uncompressed, its data
/// aligned to 64 bytes by an <c>FB</c> extra field of padding in its local header, fixed timestamps.
/// </summary>
internal static class ZipRecordWriter
{
    private const int Alignment = 64;
    private const ushort DosDate = (0 << 9) | (1 << 5) | 1; // 1980-01-01, the earliest DOS date, so the bytes never depend on the clock

    public static void Write(Stream stream, IReadOnlyList<(string Name, byte[] Data)> records)
    {
        var offset = 0L; // offsets count from the archive's first byte, wherever the stream starts
        var central = new MemoryStream();
        Span<byte> header = stackalloc byte[46];
        foreach (var (name, data) in records)
        {
            var nameBytes = Encoding.UTF8.GetBytes(name);
            var crc = System.IO.Hashing.Crc32.HashToUInt32(data);
            var dataStart = offset + 30 + nameBytes.Length + 4;
            var padding = (int)((Alignment - (dataStart % Alignment)) % Alignment);
            var extra = new byte[4 + padding];
            extra[0] = (byte)'F';
            extra[1] = (byte)'B';
            BinaryPrimitives.WriteUInt16LittleEndian(extra.AsSpan(2), (ushort)padding);
            extra.AsSpan(4).Fill((byte)'Z');
            if (data.LongLength >= uint.MaxValue || offset >= uint.MaxValue)
            {
                throw new ArgumentException($"record {name} does not fit a zip archive without zip64, which this writer does not write.", nameof(records));
            }

            var local = header[..30];
            local.Clear();
            BinaryPrimitives.WriteUInt32LittleEndian(local, 0x04034b50);
            BinaryPrimitives.WriteUInt16LittleEndian(local[4..], 20); // version needed
            BinaryPrimitives.WriteUInt16LittleEndian(local[12..], DosDate);
            BinaryPrimitives.WriteUInt32LittleEndian(local[14..], crc);
            BinaryPrimitives.WriteUInt32LittleEndian(local[18..], (uint)data.Length);
            BinaryPrimitives.WriteUInt32LittleEndian(local[22..], (uint)data.Length);
            BinaryPrimitives.WriteUInt16LittleEndian(local[26..], (ushort)nameBytes.Length);
            BinaryPrimitives.WriteUInt16LittleEndian(local[28..], (ushort)extra.Length);
            stream.Write(local);
            stream.Write(nameBytes);
            stream.Write(extra);
            stream.Write(data);

            var entry = header[..46];
            entry.Clear();
            BinaryPrimitives.WriteUInt32LittleEndian(entry, 0x02014b50);
            BinaryPrimitives.WriteUInt16LittleEndian(entry[4..], 20); // version made by
            BinaryPrimitives.WriteUInt16LittleEndian(entry[6..], 20); // version needed
            BinaryPrimitives.WriteUInt16LittleEndian(entry[14..], DosDate);
            BinaryPrimitives.WriteUInt32LittleEndian(entry[16..], crc);
            BinaryPrimitives.WriteUInt32LittleEndian(entry[20..], (uint)data.Length);
            BinaryPrimitives.WriteUInt32LittleEndian(entry[24..], (uint)data.Length);
            BinaryPrimitives.WriteUInt16LittleEndian(entry[28..], (ushort)nameBytes.Length);
            BinaryPrimitives.WriteUInt32LittleEndian(entry[42..], (uint)offset);
            central.Write(entry);
            central.Write(nameBytes);
            offset += 30 + nameBytes.Length + extra.Length + data.Length;
        }

        var centralBytes = central.ToArray();
        stream.Write(centralBytes);
        Span<byte> end = stackalloc byte[22];
        end.Clear();
        BinaryPrimitives.WriteUInt32LittleEndian(end, 0x06054b50);
        BinaryPrimitives.WriteUInt16LittleEndian(end[8..], (ushort)records.Count);
        BinaryPrimitives.WriteUInt16LittleEndian(end[10..], (ushort)records.Count);
        BinaryPrimitives.WriteUInt32LittleEndian(end[12..], (uint)centralBytes.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(end[16..], (uint)offset);
        stream.Write(end);
    }
}
