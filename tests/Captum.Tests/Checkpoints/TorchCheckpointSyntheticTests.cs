using System.Buffers.Binary;
using System.Numerics;
using System.Text;
using Captum.Checkpoints;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Captum.Tests.Checkpoints;

/// <summary>
/// Hand-written checkpoints for what the real files do not cover: views of shared storages, every dtype, big-endian
/// data, pickle protocol 0 and 4 opcodes, unknown globals and the other allow-listed globals.
/// </summary>
public sealed class TorchCheckpointSyntheticTests
{
    public static TheoryData<bool> Formats => new() { true, false };

    public static TheoryData<string, ScalarType> Dtypes => new()
    {
        { "DoubleStorage", ScalarType.Float64 },
        { "FloatStorage", ScalarType.Float32 },
        { "HalfStorage", ScalarType.Float16 },
        { "BFloat16Storage", ScalarType.BFloat16 },
        { "LongStorage", ScalarType.Int64 },
        { "IntStorage", ScalarType.Int32 },
        { "ShortStorage", ScalarType.Int16 },
        { "CharStorage", ScalarType.Int8 },
        { "ByteStorage", ScalarType.Byte },
        { "BoolStorage", ScalarType.Bool },
    };

    [Theory]
    [MemberData(nameof(Formats))]
    public void Load_TensorsSharingOneStorage_EachGetsItsOwnView(bool zip)
    {
        using var scope = torch.NewDisposeScope();
        var pickle = new PickleBuilder().Proto().EmptyDict().Mark()
            .Str("full").TensorV2("FloatStorage", "0", 12, 0, [3, 4], [4, 1], legacy: !zip)
            .Str("transposed").TensorV2("FloatStorage", "0", 12, 0, [4, 3], [1, 4], legacy: !zip)
            .Str("strided").TensorV2("FloatStorage", "0", 12, 5, [3], [2], legacy: !zip)
            .Str("scalar").TensorV2("FloatStorage", "0", 12, 11, [], [], legacy: !zip)
            .Str("empty").TensorV2("FloatStorage", "0", 12, 0, [0, 3], [3, 1], legacy: !zip)
            .Str("expanded").TensorV2("FloatStorage", "0", 12, 2, [2, 3], [0, 1], legacy: !zip)
            .SetItems().Stop().ToArray();
        var data = CheckpointPackager.Floats(Enumerable.Range(0, 12).Select(i => (float)i));
        var checkpoint = Load(zip, pickle, ("0", 12, data));

        var full = checkpoint["full"].AsTensor();
        Assert.Equal([3L, 4L], full.shape);
        Assert.Equal(Enumerable.Range(0, 12).Select(i => (float)i), full.data<float>().ToArray());
        var transposed = checkpoint["transposed"].AsTensor();
        Assert.Equal([4L, 3L], transposed.shape);
        Assert.True(transposed.is_contiguous());
        Assert.Equal([0f, 4f, 8f, 1f, 5f, 9f, 2f, 6f, 10f, 3f, 7f, 11f], transposed.data<float>().ToArray());
        Assert.Equal([5f, 7f, 9f], checkpoint["strided"].AsTensor().data<float>().ToArray());
        var scalar = checkpoint["scalar"].AsTensor();
        Assert.Empty(scalar.shape);
        Assert.Equal(11f, scalar.item<float>());
        Assert.Equal([0L, 3L], checkpoint["empty"].AsTensor().shape);
        Assert.Equal([2f, 3f, 4f, 2f, 3f, 4f], checkpoint["expanded"].AsTensor().data<float>().ToArray());

        // Independent copies: writing one leaves the others alone.
        full.fill_(-1);
        Assert.Equal(5f, checkpoint["strided"].AsTensor()[0].item<float>());
    }

    [Theory]
    [MemberData(nameof(Dtypes))]
    public void Load_StorageOfEachDtype_GivesTensorsOfThatDtype(string storageType, ScalarType dtype)
    {
        using var scope = torch.NewDisposeScope();
        double[] values = dtype switch
        {
            ScalarType.Bool => [1, 0, 1, 1],
            ScalarType.Byte => [0, 7, 200, 255],
            ScalarType.Int8 => [-128, -1, 0, 127],
            ScalarType.Float16 or ScalarType.BFloat16 or ScalarType.Float32 or ScalarType.Float64 => [1.5, -2, 0, 3.25],
            _ => [-3, 0, 1, 30000],
        };
        var bytes = Encode(values, dtype);
        var pickle = new PickleBuilder().Proto().TensorV2(storageType, "0", values.Length, 0, [2, 2], [2, 1]).Stop().ToArray();

        foreach (var zip in new[] { true, false })
        {
            var legacyPickle = new PickleBuilder().Proto().TensorV2(storageType, "0", values.Length, 0, [2, 2], [2, 1], legacy: true).Stop().ToArray();
            var tensor = Load(zip, zip ? pickle : legacyPickle, ("0", values.Length, bytes)).AsTensor();

            Assert.Equal(dtype, tensor.dtype);
            Assert.Equal([2L, 2L], tensor.shape);
            Assert.Equal(values, tensor.to_type(ScalarType.Float64).data<double>().ToArray());
        }
    }

    [Theory]
    [MemberData(nameof(Formats))]
    public void Load_BigEndianData_SwapsEveryElement(bool zip)
    {
        using var scope = torch.NewDisposeScope();
        var pickle = new PickleBuilder().Proto().TensorV2("FloatStorage", "0", 3, 0, [3], [1], legacy: !zip).Stop().ToArray();
        var data = CheckpointPackager.Floats([1.5f, -2.25f, 1e6f], bigEndian: true);

        var checkpoint = zip
            ? TorchCheckpoint.Load(new MemoryStream(CheckpointPackager.Zip(pickle, new Dictionary<string, byte[]> { ["0"] = data }, byteOrder: "big")), "big.pth")
            : TorchCheckpoint.Load(new MemoryStream(CheckpointPackager.Legacy(pickle, [("0", 3, data)], littleEndian: false)), "big.pth");

        Assert.Equal([1.5f, -2.25f, 1e6f], checkpoint.AsTensor().data<float>().ToArray());
    }

    [Fact]
    public void Load_LegacyStorageView_ReadsTheViewOfItsRoot()
    {
        using var scope = torch.NewDisposeScope();
        var pickle = new PickleBuilder().Proto().EmptyList().Mark()
            .TensorV2("FloatStorage", "root", 10, 0, [3], [1], "cuda:1", legacy: true, view: ("view", 4, 3))
            .TensorV2("FloatStorage", "root", 10, 8, [2], [1], "cuda:1", legacy: true)
            .Appends().Stop().ToArray();
        var data = CheckpointPackager.Floats(Enumerable.Range(0, 10).Select(i => i * 10f));

        var checkpoint = TorchCheckpoint.Load(new MemoryStream(CheckpointPackager.Legacy(pickle, [("root", 10, data)])), "view.pth");

        Assert.Equal([40f, 50f, 60f], checkpoint[0].AsTensor().data<float>().ToArray());
        Assert.Equal([80f, 90f], checkpoint[1].AsTensor().data<float>().ToArray());
    }

    [Fact]
    public void Load_ZipWithCustomRecordFolder_FindsDataPkl()
    {
        using var scope = torch.NewDisposeScope();
        var pickle = new PickleBuilder().Proto().TensorV2("LongStorage", "5", 2, 0, [2], [1]).Stop().ToArray();
        var data = new byte[16];
        BinaryPrimitives.WriteInt64LittleEndian(data, -7);
        BinaryPrimitives.WriteInt64LittleEndian(data.AsSpan(8), long.MaxValue);

        var checkpoint = TorchCheckpoint.Load(new MemoryStream(CheckpointPackager.Zip(pickle, new Dictionary<string, byte[]> { ["5"] = data }, prefix: "my_model")));

        Assert.Equal([-7L, long.MaxValue], checkpoint.AsTensor().data<long>().ToArray());
        Assert.Equal("<stream>", checkpoint.Source);
    }

    [Fact]
    public void Load_RebuildParameter_GivesATensorThatRequiresGrad()
    {
        using var scope = torch.NewDisposeScope();
        var pickle = new PickleBuilder().Proto()
            .Global("torch._utils", "_rebuild_parameter").Mark()
            .TensorV2("FloatStorage", "0", 2, 0, [2], [1])
            .Bool(true).Global("collections", "OrderedDict").EmptyTuple().Reduce()
            .Tuple().Reduce().Stop().ToArray();

        var tensor = Load(true, pickle, ("0", 2, CheckpointPackager.Floats([1f, 2f]))).AsTensor();

        Assert.True(tensor.requires_grad);
        Assert.Equal([1f, 2f], tensor.detach().data<float>().ToArray());
    }

    [Fact]
    public void Load_RebuildTensorV3WithUntypedStorage_ReinterpretsTheBytes()
    {
        using var scope = torch.NewDisposeScope();
        var pickle = new PickleBuilder().Proto()
            .Global("torch._utils", "_rebuild_tensor_v3").Mark()
            .StorageRef("UntypedStorage", "0", "cpu", 8)
            .Int(1).IntTuple(1).IntTuple(1).Bool(false)
            .Global("collections", "OrderedDict").EmptyTuple().Reduce()
            .Global("torch", "float32")
            .Tuple().Reduce().Stop().ToArray();

        var tensor = Load(true, pickle, ("0", 8, CheckpointPackager.Floats([0.5f, -4f]))).AsTensor();

        Assert.Equal(ScalarType.Float32, tensor.dtype);
        Assert.Equal([-4f], tensor.data<float>().ToArray());
    }

    [Fact]
    public void Load_Protocol4Opcodes_AreDecoded()
    {
        using var scope = torch.NewDisposeScope();
        var body = new PickleBuilder()
            .EmptyDict().Memoize().Mark()
            .ShortStr("negative").Int(-5)
            .ShortStr("big").Long1(BigInteger.Pow(2, 70))
            .ShortStr("small_long").Long1(-3)
            .ShortStr("float").Float(-0.125)
            .ShortStr("bytes").Op('C').Byte(2).Bytes([0, 255])
            .ShortStr("set").Op(0x8f).Memoize().Mark().Int(1).Int(2).Int(1).Op(0x90)
            .ShortStr("frozenset").Mark().ShortStr("x").Op(0x91)
            .ShortStr("dtype").ShortStr("torch").ShortStr("float16").Op(0x93)
            .ShortStr("long_text").Op(0x8d).Bytes(BitConverter.GetBytes(4L)).Bytes("long"u8)
            .ShortStr("triple").Int(1).None().Bool(true).Tuple3()
            .ShortStr("self").Op('h').Byte(0)
            .SetItems().Stop().ToArray();
        var pickle = new PickleBuilder().Proto(4).Op(0x95).Bytes(BitConverter.GetBytes((long)body.Length)).Bytes(body).ToArray();

        var value = Load(true, pickle);

        Assert.Equal(-5L, value["negative"].AsInt64());
        Assert.Equal(BigInteger.Pow(2, 70), value["big"].Raw);
        Assert.Equal(-3L, value["small_long"].AsInt64());
        Assert.Equal(-0.125, value["float"].AsDouble());
        Assert.Equal(new byte[] { 0, 255 }, value["bytes"].AsBytes());
        Assert.Equal(CheckpointValueKind.Set, value["set"].Kind);
        Assert.Equal(2, value["set"].Count);
        Assert.Equal(["x"], value["frozenset"].Items.Select(v => v.AsString()));
        Assert.Equal(ScalarType.Float16, value["dtype"].Raw);
        Assert.Equal("long", value["long_text"].AsString());
        Assert.Equal(CheckpointValueKind.Tuple, value["triple"].Kind);
        Assert.True(value["triple"][1].IsNone);
        Assert.True(value["triple"][2].AsBoolean());
        Assert.Same(value.Raw, value["self"].Raw);
        Assert.Contains("  ['self']: dict (11 entries)", value.Describe(2), StringComparison.Ordinal);
    }

    [Fact]
    public void Load_Protocol0TextOpcodes_AreDecoded()
    {
        using var scope = torch.NewDisposeScope();
        var text = "(dp0\nS'name'\np1\nS'it\\'s'\np2\nsVunicode \\u00e9\np3\nI42\nsS'flag'\np4\nI01\nsS'big'\np5\nL123456789012345678901234567890L\nsS'x'\nF-1.5\nsS'again'\ng2\nsS'list'\n(lp6\nI1\nas.";
        var pickle = Encoding.ASCII.GetBytes(text);

        var value = Load(true, pickle);

        Assert.Equal("it's", value["name"].AsString());
        Assert.Equal(42L, value["unicode é"].AsInt64());
        Assert.True(value["flag"].AsBoolean());
        Assert.Equal(BigInteger.Parse("123456789012345678901234567890", System.Globalization.CultureInfo.InvariantCulture), value["big"].Raw);
        Assert.Equal(-1.5, value["x"].AsDouble());
        Assert.Equal("it's", value["again"].AsString());
        Assert.Equal([1L], value["list"].Items.Select(v => v.AsInt64()));
    }

    [Fact]
    public void Load_UnknownGlobals_BecomePlaceholdersAndNothingRuns()
    {
        using var scope = torch.NewDisposeScope();
        var marker = Path.Combine(Path.GetTempPath(), $"captum-ckpt-marker-{Guid.NewGuid():N}");
        var pickle = new PickleBuilder().Proto().EmptyDict().Mark()
            .Str("args").Global("argparse", "Namespace").EmptyTuple().NewObj()
            .EmptyDict().Mark().Str("lr").Float(0.1).Str("epochs").Int(30).SetItems().Build()
            .Str("evil").Global("os", "system").Str("touch " + marker).Tuple1().Reduce()
            .Str("eval").Global("builtins", "eval").Str("1+1").Tuple1().Reduce()
            .Str("defaults").Global("collections", "defaultdict").Global("builtins", "list").Tuple1().Reduce()
            .Mark().Str("k").Int(1).SetItems()
            .SetItems().Stop().ToArray();

        var value = Load(true, pickle);

        var args = value["args"].AsUnknownObject();
        Assert.Equal("argparse.Namespace", args.FullName);
        var state = Assert.IsType<CheckpointDict>(args.State);
        Assert.Equal(0.1, state["lr"]);
        Assert.Equal(30L, state["epochs"]);
        var evil = value["evil"].AsUnknownObject();
        Assert.Equal("os", evil.Module);
        Assert.Equal("system", evil.Name);
        Assert.Equal(["touch " + marker], evil.Arguments);
        Assert.False(File.Exists(marker));
        Assert.Equal(CheckpointValueKind.Unknown, value["eval"].Kind);
        var defaults = value["defaults"].AsUnknownObject();
        Assert.Equal(new GlobalReference("builtins", "list"), defaults.Arguments[0]);
        Assert.Equal("k", defaults.DictItems[0].Key);
    }

    [Fact]
    public void Load_UnsupportedStorageType_LeavesAReadablePlaceholder()
    {
        using var scope = torch.NewDisposeScope();
        var pickle = new PickleBuilder().Proto().EmptyDict().Mark()
            .Str("odd").TensorV2("Float8Storage", "0", 4, 0, [4], [1])
            .Str("fine").TensorV2("FloatStorage", "1", 1, 0, [1], [1])
            .SetItems().Stop().ToArray();

        var value = Load(true, pickle, ("1", 1, CheckpointPackager.Floats([3f])));

        var odd = value["odd"].AsUnknownObject();
        Assert.Equal("torch._utils._rebuild_tensor_v2", odd.FullName);
        Assert.Equal("torch.Float8Storage", Assert.IsType<UnknownObject>(odd.Arguments[0]).FullName);
        Assert.Equal(3f, value["fine"].AsTensor().item<float>());
        var ex = Assert.Throws<ArgumentException>(() => TorchCheckpoint.StateDict(value));
        Assert.Contains("$['odd'] in synthetic.pth is <unknown torch._utils._rebuild_tensor_v2", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_TorchSizeDeviceAndCodecsBytes_BecomePlainValues()
    {
        using var scope = torch.NewDisposeScope();
        var pickle = new PickleBuilder().Proto().EmptyList().Mark()
            .Global("torch", "Size").IntTuple(2, 3).Tuple1().Reduce()
            .Global("torch", "device").Str("cuda").Int(1).Tuple2().Reduce()
            .Global("torch", "device").Str("cpu").Tuple1().Reduce()
            .Global("_codecs", "encode").Str("\u0000\u00ff").Str("latin1").Tuple2().Reduce()
            .Global("builtins", "set").EmptyList().Mark().Int(4).Int(5).Appends().Tuple1().Reduce()
            .Global("collections", "OrderedDict").EmptyList().Mark().Str("a").Int(1).Tuple2().Appends().Tuple1().Reduce()
            .Global("builtins", "complex").Float(1).Float(-2).Tuple2().Reduce()
            .Appends().Stop().ToArray();

        var value = Load(false, pickle);

        Assert.Equal(new object[] { 2L, 3L }, value[0].Raw);
        Assert.Equal("cuda:1", value[1].AsString());
        Assert.Equal("cpu", value[2].AsString());
        Assert.Equal(new byte[] { 0, 255 }, value[3].AsBytes());
        Assert.Equal(2, value[4].Count);
        Assert.Equal(1L, value[5]["a"].AsInt64());
        Assert.Equal(new Complex(1, -2), value[6].Raw);
    }

    [Fact]
    public void Load_NumpyScalars_BecomeNumbers()
    {
        using var scope = torch.NewDisposeScope();
        var pickle = new PickleBuilder().Proto().EmptyList().Mark();
        foreach (var (descr, order, bytes) in new (string, string, byte[])[]
                 {
                     ("f8", "<", BitConverter.GetBytes(0.75)),
                     ("i8", "<", BitConverter.GetBytes(-12L)),
                     ("f4", ">", BitConverter.GetBytes(2.5f).Reverse().ToArray()),
                     ("b1", "|", [1]),
                 })
        {
            pickle.Global("numpy.core.multiarray", "scalar")
                .Global("numpy", "dtype").Str(descr).Bool(false).Bool(true).Tuple3().Reduce()
                .Mark().Int(3).Str(order).None().None().None().Int(-1).Int(-1).Int(0).Tuple().Build()
                .Global("_codecs", "encode").Str(Encoding.Latin1.GetString(bytes)).Str("latin1").Tuple2().Reduce()
                .Tuple2().Reduce();
        }

        var value = Load(true, pickle.Appends().Stop().ToArray());

        Assert.Equal(0.75, value[0].AsDouble());
        Assert.Equal(-12L, value[1].AsInt64());
        Assert.Equal(2.5, value[2].AsDouble());
        Assert.True(value[3].AsBoolean());
    }

    [Fact]
    public void Get_TupleAndNumericKeys_UsePythonEquality()
    {
        using var scope = torch.NewDisposeScope();
        var pickle = new PickleBuilder().Proto().EmptyDict().Mark()
            .Int(1).Str("a").Tuple2().Str("tuple key")
            .Int(7).Str("int key")
            .None().Str("none key")
            .SetItems().Stop().ToArray();

        var value = Load(true, pickle);

        Assert.Equal("tuple key", value.Get(new object?[] { 1L, "a" }).AsString());
        Assert.Equal("int key", value.Get(7L).AsString());
        Assert.Equal("int key", value.Get(7.0).AsString());
        Assert.Equal("none key", value.Get(null).AsString());
        Assert.False(value.TryGet("missing", out _));
    }

    [Fact]
    public void Load_DeeplyNestedLists_DoesNotOverflowTheStack()
    {
        using var scope = torch.NewDisposeScope();
        const int depth = 200_000;
        var pickle = new PickleBuilder().Proto();
        for (var i = 0; i < depth; i++)
        {
            pickle.EmptyList();
        }

        for (var i = 1; i < depth; i++)
        {
            pickle.Append();
        }

        var value = Load(true, pickle.Stop().ToArray());

        Assert.Equal(CheckpointValueKind.List, value.Kind);
        Assert.Equal(1, value.Count);
        Assert.NotEmpty(value.Describe());
        value.Dispose();
    }

    [Fact]
    public void Load_NonSeekableStream_IsCopiedAndRead()
    {
        using var scope = torch.NewDisposeScope();
        var bytes = File.ReadAllBytes(CheckpointFiles.PathOf("vqa-tiny-legacy.pth"));

        var checkpoint = TorchCheckpoint.Load(new ForwardOnlyStream(bytes), "forward-only");

        Assert.Equal("forward-only", checkpoint.Source);
        Assert.Equal(14, TorchCheckpoint.StateDict(checkpoint, "weights").Count);
    }

    [Fact]
    public void Accessors_WrongKindOrMissingKey_ThrowNamingThePath()
    {
        using var scope = torch.NewDisposeScope();
        var checkpoint = TorchCheckpoint.Load(CheckpointFiles.PathOf("vqa-tiny-zip.pth"));

        var cast = Assert.Throws<InvalidCastException>(() => checkpoint["config"]["image_size"].AsTensor());
        Assert.Contains("$['config']['image_size'] in ", cast.Message, StringComparison.Ordinal);
        Assert.Contains("is number 448, not a tensor", cast.Message, StringComparison.Ordinal);

        var missing = Assert.Throws<KeyNotFoundException>(() => checkpoint["state_dict"]);
        Assert.Contains("'name', 'tracker', 'config', 'weights', 'eval', 'vocab'", missing.Message, StringComparison.Ordinal);

        var missingEntry = Assert.Throws<KeyNotFoundException>(() => TorchCheckpoint.StateDict(checkpoint, "model"));
        Assert.Contains("no key 'model'", missingEntry.Message, StringComparison.Ordinal);

        var notStateDict = Assert.Throws<ArgumentException>(() => TorchCheckpoint.StateDict(checkpoint, "config"));
        Assert.Contains("$['config']['image_size']", notStateDict.Message, StringComparison.Ordinal);

        Assert.Throws<ArgumentOutOfRangeException>(() => checkpoint["tracker"]["val_acc"][3]);
    }

    [Fact]
    public void Dispose_LoadedCheckpoint_DisposesEveryTensorItHolds()
    {
        using var scope = torch.NewDisposeScope();
        var checkpoint = TorchCheckpoint.Load(CheckpointFiles.PathOf("vqa-tiny-zip.pth"));
        var tensors = TorchCheckpoint.StateDict(checkpoint, "weights").Values.ToList();
        Assert.All(tensors, t => Assert.False(t.IsInvalid));

        checkpoint.Dispose();

        Assert.All(tensors, t => Assert.True(t.IsInvalid));
    }

    private static CheckpointValue Load(bool zip, byte[] pickle, params (string Key, long Count, byte[] Bytes)[] storages)
    {
        var bytes = zip
            ? CheckpointPackager.Zip(pickle, storages.ToDictionary(s => s.Key, s => s.Bytes))
            : CheckpointPackager.Legacy(pickle, storages);
        return TorchCheckpoint.Load(new MemoryStream(bytes), "synthetic.pth");
    }

    private static byte[] Encode(double[] values, ScalarType dtype)
    {
        var size = dtype switch
        {
            ScalarType.Float64 or ScalarType.Int64 => 8,
            ScalarType.Float32 or ScalarType.Int32 => 4,
            ScalarType.Float16 or ScalarType.BFloat16 or ScalarType.Int16 => 2,
            _ => 1,
        };
        var bytes = new byte[values.Length * size];
        for (var i = 0; i < values.Length; i++)
        {
            var span = bytes.AsSpan(i * size, size);
            var v = values[i];
            switch (dtype)
            {
                case ScalarType.Float64: BinaryPrimitives.WriteDoubleLittleEndian(span, v); break;
                case ScalarType.Float32: BinaryPrimitives.WriteSingleLittleEndian(span, (float)v); break;
                case ScalarType.Float16: BinaryPrimitives.WriteHalfLittleEndian(span, (Half)v); break;
                case ScalarType.BFloat16: BinaryPrimitives.WriteUInt16LittleEndian(span, (ushort)(BitConverter.SingleToUInt32Bits((float)v) >> 16)); break;
                case ScalarType.Int64: BinaryPrimitives.WriteInt64LittleEndian(span, (long)v); break;
                case ScalarType.Int32: BinaryPrimitives.WriteInt32LittleEndian(span, (int)v); break;
                case ScalarType.Int16: BinaryPrimitives.WriteInt16LittleEndian(span, (short)v); break;
                case ScalarType.Int8: span[0] = (byte)(sbyte)v; break;
                default: span[0] = (byte)v; break;
            }
        }

        return bytes;
    }

    /// <summary>A stream that can only be read forwards (like a network stream).</summary>
    private sealed class ForwardOnlyStream(byte[] data) : Stream
    {
        private readonly MemoryStream _inner = new(data);

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position
        {
            get => throw new NotSupportedException();
            set => throw new NotSupportedException();
        }

        public override int Read(byte[] buffer, int offset, int count) => _inner.Read(buffer, offset, count);

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                _inner.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}
