using System.Buffers.Binary;
using System.IO.Compression;
using System.Numerics;
using System.Text;

namespace Captum.Tests.Checkpoints;

/// <summary>
/// Writes pickle opcodes by hand, to make synthetic checkpoints (the layouts, dtypes and opcodes that the real test
/// files do not cover) and corrupt ones, without Python.
/// </summary>
internal sealed class PickleBuilder
{
    private readonly MemoryStream _data = new();

    public PickleBuilder Proto(byte version = 2) => Op(0x80).Byte(version);

    public PickleBuilder Op(byte opcode) => Byte(opcode);

    public PickleBuilder Op(char opcode) => Byte((byte)opcode);

    public PickleBuilder Byte(byte value)
    {
        _data.WriteByte(value);
        return this;
    }

    public PickleBuilder Bytes(ReadOnlySpan<byte> bytes)
    {
        _data.Write(bytes);
        return this;
    }

    public PickleBuilder Mark() => Op('(');

    public PickleBuilder Stop() => Op('.');

    public PickleBuilder None() => Op('N');

    public PickleBuilder Bool(bool value) => Op(value ? (byte)0x88 : (byte)0x89);

    /// <summary>BINUNICODE.</summary>
    public PickleBuilder Str(string value)
    {
        var bytes = Encoding.UTF8.GetBytes(value);
        Span<byte> length = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(length, (uint)bytes.Length);
        return Op('X').Bytes(length).Bytes(bytes);
    }

    /// <summary>SHORT_BINUNICODE (protocol 4).</summary>
    public PickleBuilder ShortStr(string value)
    {
        var bytes = Encoding.UTF8.GetBytes(value);
        return Op(0x8c).Byte((byte)bytes.Length).Bytes(bytes);
    }

    /// <summary>The smallest integer opcode for the value (BININT1, BININT2, BININT or LONG1).</summary>
    public PickleBuilder Int(long value)
    {
        if (value is >= 0 and <= 255)
        {
            return Op('K').Byte((byte)value);
        }

        if (value is >= 0 and <= 65535)
        {
            Span<byte> two = stackalloc byte[2];
            BinaryPrimitives.WriteUInt16LittleEndian(two, (ushort)value);
            return Op('M').Bytes(two);
        }

        if (value is >= int.MinValue and <= int.MaxValue)
        {
            Span<byte> four = stackalloc byte[4];
            BinaryPrimitives.WriteInt32LittleEndian(four, (int)value);
            return Op('J').Bytes(four);
        }

        return Long1(value);
    }

    /// <summary>LONG1: a little-endian two's complement integer.</summary>
    public PickleBuilder Long1(BigInteger value)
    {
        var bytes = value.ToByteArray(isUnsigned: false, isBigEndian: false);
        return Op(0x8a).Byte((byte)bytes.Length).Bytes(bytes);
    }

    /// <summary>BINFLOAT (big-endian).</summary>
    public PickleBuilder Float(double value)
    {
        Span<byte> eight = stackalloc byte[8];
        BinaryPrimitives.WriteDoubleBigEndian(eight, value);
        return Op('G').Bytes(eight);
    }

    public PickleBuilder Global(string module, string name) =>
        Op('c').Bytes(Encoding.UTF8.GetBytes(module + "\n" + name + "\n"));

    public PickleBuilder EmptyTuple() => Op(')');

    public PickleBuilder Tuple() => Op('t');

    public PickleBuilder Tuple1() => Op(0x85);

    public PickleBuilder Tuple2() => Op(0x86);

    public PickleBuilder Tuple3() => Op(0x87);

    public PickleBuilder EmptyDict() => Op('}');

    public PickleBuilder EmptyList() => Op(']');

    public PickleBuilder SetItem() => Op('s');

    public PickleBuilder SetItems() => Op('u');

    public PickleBuilder Append() => Op('a');

    public PickleBuilder Appends() => Op('e');

    public PickleBuilder Reduce() => Op('R');

    public PickleBuilder Build() => Op('b');

    public PickleBuilder NewObj() => Op(0x81);

    public PickleBuilder BinPersId() => Op('Q');

    public PickleBuilder BinPut(byte index) => Op('q').Byte(index);

    public PickleBuilder BinGet(byte index) => Op('h').Byte(index);

    public PickleBuilder Memoize() => Op(0x94);

    /// <summary>A tuple of ints (MARK ... TUPLE).</summary>
    public PickleBuilder IntTuple(params long[] values)
    {
        Mark();
        foreach (var v in values)
        {
            Int(v);
        }

        return Tuple();
    }

    /// <summary>The persistent id <c>('storage', torch.&lt;type&gt;, key, location, numel[, view])</c> and BINPERSID.</summary>
    public PickleBuilder StorageRef(string storageType, string key, string location, long numel, bool legacy = false, (string Key, long Offset, long Size)? view = null)
    {
        Mark().Str("storage").Global("torch", storageType).Str(key).Str(location).Int(numel);
        if (view is { } v)
        {
            Str(v.Key).Int(v.Offset).Int(v.Size).Tuple3();
        }
        else if (legacy)
        {
            None();
        }

        return Tuple().BinPersId();
    }

    /// <summary><c>torch._utils._rebuild_tensor_v2(storage, offset, size, stride, requires_grad, OrderedDict())</c>.</summary>
    public PickleBuilder TensorV2(
        string storageType,
        string key,
        long numel,
        long offset,
        long[] size,
        long[] stride,
        string location = "cpu",
        bool legacy = false,
        bool requiresGrad = false,
        (string Key, long Offset, long Size)? view = null)
    {
        Global("torch._utils", "_rebuild_tensor_v2").Mark();
        StorageRef(storageType, key, location, numel, legacy, view);
        Int(offset).IntTuple(size).IntTuple(stride).Bool(requiresGrad);
        Global("collections", "OrderedDict").EmptyTuple().Reduce();
        return Tuple().Reduce();
    }

    public byte[] ToArray() => _data.ToArray();
}

/// <summary>Wraps pickles and storages into the two checkpoint serializations.</summary>
internal static class CheckpointPackager
{
    /// <summary>The legacy magic number 0x1950a86a20f9469cfc6c as its protocol 2 pickle.</summary>
    public static readonly byte[] MagicPickle =
        new PickleBuilder().Proto().Long1(BigInteger.Parse("1950a86a20f9469cfc6c", System.Globalization.NumberStyles.HexNumber)).Stop().ToArray();

    /// <summary>A zip checkpoint: <c>{prefix}/data.pkl</c>, <c>{prefix}/data/{key}</c>, <c>{prefix}/version</c>, optionally <c>{prefix}/byteorder</c>.</summary>
    public static byte[] Zip(byte[]? dataPkl, IReadOnlyDictionary<string, byte[]> storages, string prefix = "archive", string? byteOrder = null)
    {
        using var output = new MemoryStream();
        using (var zip = new ZipArchive(output, ZipArchiveMode.Create, leaveOpen: true))
        {
            if (dataPkl is not null)
            {
                Add(zip, prefix + "/data.pkl", dataPkl);
            }

            if (byteOrder is not null)
            {
                Add(zip, prefix + "/byteorder", Encoding.ASCII.GetBytes(byteOrder));
            }

            foreach (var (key, bytes) in storages)
            {
                Add(zip, prefix + "/data/" + key, bytes);
            }

            Add(zip, prefix + "/version", "3\n"u8.ToArray());
        }

        return output.ToArray();
    }

    /// <summary>A legacy checkpoint: magic, protocol 1001, system info, the object pickle, the key list, the storages.</summary>
    public static byte[] Legacy(byte[] objectPickle, IReadOnlyList<(string Key, long Count, byte[] Bytes)> storages, bool littleEndian = true)
    {
        using var output = new MemoryStream();
        output.Write(MagicPickle);
        output.Write(new PickleBuilder().Proto().Int(1001).Stop().ToArray());
        var sysInfo = new PickleBuilder().Proto().EmptyDict().Mark()
            .Str("protocol_version").Int(1001)
            .Str("little_endian").Bool(littleEndian)
            .Str("type_sizes").EmptyDict().Mark().Str("short").Int(2).Str("int").Int(4).Str("long").Int(8).SetItems()
            .SetItems().Stop();
        output.Write(sysInfo.ToArray());
        output.Write(objectPickle);
        var keys = new PickleBuilder().Proto().EmptyList().Mark();
        foreach (var (key, _, _) in storages)
        {
            keys.Str(key);
        }

        output.Write(keys.Appends().Stop().ToArray());
        Span<byte> count = stackalloc byte[8];
        foreach (var (_, n, bytes) in storages)
        {
            if (littleEndian)
            {
                BinaryPrimitives.WriteInt64LittleEndian(count, n);
            }
            else
            {
                BinaryPrimitives.WriteInt64BigEndian(count, n);
            }

            output.Write(count);
            output.Write(bytes);
        }

        return output.ToArray();
    }

    /// <summary>Float32 values as little-endian (or big-endian) bytes.</summary>
    public static byte[] Floats(IEnumerable<float> values, bool bigEndian = false)
    {
        var list = values.ToList();
        var bytes = new byte[list.Count * 4];
        for (var i = 0; i < list.Count; i++)
        {
            if (bigEndian)
            {
                BinaryPrimitives.WriteSingleBigEndian(bytes.AsSpan(i * 4), list[i]);
            }
            else
            {
                BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(i * 4), list[i]);
            }
        }

        return bytes;
    }

    private static void Add(ZipArchive zip, string name, byte[] bytes)
    {
        var entry = zip.CreateEntry(name, CompressionLevel.NoCompression);
        using var stream = entry.Open();
        stream.Write(bytes);
    }
}
