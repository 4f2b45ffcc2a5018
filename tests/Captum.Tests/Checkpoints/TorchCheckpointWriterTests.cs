using System.Buffers.Binary;
using System.IO.Compression;
using System.Numerics;
using System.Text;
using Captum.Checkpoints;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Captum.Tests.Checkpoints;

/// <summary>TorchCheckpoint.Save writes what TorchCheckpoint.Load reads back: values, dtypes, shapes and nesting.</summary>
public sealed class TorchCheckpointWriterTests
{
    public static TheoryData<ScalarType> Dtypes => new()
    {
        ScalarType.Float64, ScalarType.Float32, ScalarType.Float16, ScalarType.BFloat16, ScalarType.Int64,
        ScalarType.Int32, ScalarType.Int16, ScalarType.Int8, ScalarType.Byte, ScalarType.Bool,
    };

    [Fact]
    public void Save_NestedPythonValues_LoadGivesThemBack()
    {
        var big = BigInteger.Pow(2, 70) + 12345;
        var inner = new CheckpointDict("collections.OrderedDict") { { "z", 1L }, { "a", 2L } };
        var value = new Dictionary<string, object?>
        {
            ["none"] = null,
            ["true"] = true,
            ["false"] = false,
            ["ints"] = new object?[] { 0, 255, 256, 65535, 65536, -1, int.MinValue, long.MaxValue, long.MinValue, big, -big, (byte)7, (short)-3, 9u },
            ["floats"] = new List<object?> { 1.5, -0.0, 1e300, 3.25f, double.PositiveInfinity },
            ["text"] = "ünïcødé ☃ and a \n newline",
            ["empty"] = string.Empty,
            ["short bytes"] = new byte[] { 0, 1, 255 },
            ["long bytes"] = Enumerable.Range(0, 300).Select(i => (byte)i).ToArray(),
            ["tuples"] = new object?[] { new object?[0], new object?[] { 1L }, new object?[] { 1L, "b" }, new object?[] { 1L, 2L, 3L }, new object?[] { 1L, 2L, 3L, 4L, 5L } },
            ["set"] = new HashSet<object?> { 3L, "x" },
            ["nested"] = new Dictionary<string, object?> { ["level2"] = new Dictionary<string, object?> { ["level3"] = new List<object?> { inner } } },
            ["odd keys"] = new CheckpointDict { { 7L, "seven" }, { new object?[] { 1L, "t" }, "tuple" }, { null, "none" } },
            ["dtype"] = ScalarType.BFloat16,
        };

        using var scope = torch.NewDisposeScope();
        using var loaded = RoundTrip(value);

        Assert.Equal(CheckpointValueKind.Dict, loaded.Kind);
        Assert.Equal(value.Keys, loaded.Keys.Cast<string>());
        Assert.True(loaded["none"].IsNone);
        Assert.True(loaded["true"].AsBoolean());
        Assert.False(loaded["false"].AsBoolean());
        var ints = loaded["ints"];
        Assert.Equal(CheckpointValueKind.Tuple, ints.Kind);
        Assert.Equal(
            new[] { 0L, 255, 256, 65535, 65536, -1, int.MinValue, long.MaxValue, long.MinValue },
            ints.Items.Take(9).Select(i => i.AsInt64()));
        Assert.Equal(big, (BigInteger)ints[9].Raw!);
        Assert.Equal(-big, (BigInteger)ints[10].Raw!);
        Assert.Equal([7L, -3L, 9L], ints.Items.Skip(11).Select(i => i.AsInt64()));
        var floats = loaded["floats"];
        Assert.Equal(CheckpointValueKind.List, floats.Kind);
        Assert.Equal([1.5, -0.0, 1e300, 3.25, double.PositiveInfinity], floats.Items.Select(f => f.AsDouble()));
        Assert.True(double.IsNegative(floats[1].AsDouble()));
        Assert.Equal(value["text"], loaded["text"].AsString());
        Assert.Equal(string.Empty, loaded["empty"].AsString());
        Assert.Equal((byte[])value["short bytes"]!, loaded["short bytes"].AsBytes());
        Assert.Equal((byte[])value["long bytes"]!, loaded["long bytes"].AsBytes());
        Assert.Equal([0, 1, 2, 3, 5], loaded["tuples"].Items.Select(t => { Assert.Equal(CheckpointValueKind.Tuple, t.Kind); return t.Count; }));
        Assert.Equal("b", loaded["tuples"][2][1].AsString());
        Assert.Equal(CheckpointValueKind.Set, loaded["set"].Kind);
        Assert.Equal(new HashSet<object?> { 3L, "x" }, (HashSet<object?>)loaded["set"].Raw!);
        var level3 = loaded["nested"]["level2"]["level3"][0];
        Assert.Equal("collections.OrderedDict", level3.AsDict().TypeName);
        Assert.Equal(["z", "a"], level3.Keys.Cast<string>());
        Assert.Equal(2L, level3["a"].AsInt64());
        Assert.Equal("builtins.dict", loaded["nested"].AsDict().TypeName);
        var odd = loaded["odd keys"];
        Assert.Equal("seven", odd.Get(7L).AsString());
        Assert.Equal("tuple", odd.Get(new object?[] { 1L, "t" }).AsString());
        Assert.Equal("none", odd.Get(null).AsString());
        Assert.Equal(ScalarType.BFloat16, (ScalarType)loaded["dtype"].Raw!);
    }

    [Theory]
    [MemberData(nameof(Dtypes))]
    public void Save_TensorOfEachDtype_LoadGivesSameDtypeShapeAndValues(ScalarType dtype)
    {
        using var scope = torch.NewDisposeScope();
        var values = torch.tensor(new double[] { 0, 1, -2, 3.5, 100, -7, 0.25, 1, 0, 5, 6, -1 }).reshape(2, 3, 2);
        var tensor = dtype == ScalarType.Bool ? values.gt(0) : (dtype == ScalarType.Byte ? values.abs() : values).to_type(dtype);
        var scalar = torch.tensor(3.0).to_type(dtype);
        var empty = torch.zeros(0, 3, dtype);

        using var loaded = RoundTrip(new Dictionary<string, object?> { ["t"] = tensor, ["scalar"] = scalar, ["empty"] = empty });

        AssertSameTensor(tensor, loaded["t"].AsTensor());
        AssertSameTensor(scalar, loaded["scalar"].AsTensor());
        AssertSameTensor(empty, loaded["empty"].AsTensor());
    }

    [Fact]
    public void Save_NonContiguousTensorAndParameter_SavesTheirValues()
    {
        using var scope = torch.NewDisposeScope();
        var transposed = torch.arange(12, ScalarType.Float32).reshape(3, 4).t();
        var strided = torch.arange(10, ScalarType.Int64)[TensorIndex.Slice(1, null, 3)];
        var parameter = new TorchSharp.Modules.Parameter(torch.ones(2, 2));

        using var loaded = RoundTrip(new object?[] { transposed, strided, parameter });

        AssertSameTensor(transposed, loaded[0].AsTensor());
        AssertSameTensor(strided, loaded[1].AsTensor());
        AssertSameTensor(parameter.detach(), loaded[2].AsTensor());
    }

    [Fact]
    public void Save_StateDictOfAModule_LoadsIntoAFreshModuleThatComputesTheSame()
    {
        using var scope = torch.NewDisposeScope();
        var source = nn.Sequential(("conv", nn.Conv2d(3, 4, 3)), ("bn", nn.BatchNorm2d(4)), ("flatten", nn.Flatten()), ("fc", nn.Linear(4 * 6 * 6, 5)));
        source.train();
        source.call(torch.randn(8, 3, 8, 8)); // moves the batch norm's running statistics off their initial values
        source.eval();
        var weights = new CheckpointDict("collections.OrderedDict");
        foreach (var (name, tensor) in source.state_dict())
        {
            weights.Add(name, tensor);
        }

        using var loaded = RoundTrip(new Dictionary<string, object?> { ["weights"] = weights });
        var target = nn.Sequential(("conv", nn.Conv2d(3, 4, 3)), ("bn", nn.BatchNorm2d(4)), ("flatten", nn.Flatten()), ("fc", nn.Linear(4 * 6 * 6, 5)));
        TorchCheckpoint.LoadStateDict(target, TorchCheckpoint.StateDict(loaded, "weights"));
        target.eval();

        var input = torch.randn(2, 3, 8, 8);
        Assert.Equal(source.state_dict().Keys, TorchCheckpoint.StateDict(loaded, "weights").Keys);
        Assert.Equal(source.call(input).data<float>().ToArray(), target.call(input).data<float>().ToArray());
    }

    [Fact]
    public void Save_SameTensorTwice_WritesOneSharedStorage()
    {
        using var scope = torch.NewDisposeScope();
        var shared = torch.arange(6, ScalarType.Float32);
        var bytes = ToBytes(new List<object?> { shared, shared, torch.ones(2) });

        using var zip = new ZipArchive(new MemoryStream(bytes), ZipArchiveMode.Read);
        Assert.Equal(["archive/data.pkl", "archive/byteorder", "archive/data/0", "archive/data/1", "archive/version"], zip.Entries.Select(e => e.FullName));
        using var loaded = TorchCheckpoint.Load(new MemoryStream(bytes));
        AssertSameTensor(shared, loaded[0].AsTensor());
        AssertSameTensor(shared, loaded[1].AsTensor());
    }

    [Fact]
    public void Save_Archive_IsStoredAndAlignedAsPyTorchWritesIt()
    {
        using var scope = torch.NewDisposeScope();
        var bytes = ToBytes(new Dictionary<string, object?> { ["a"] = torch.ones(3), ["bb"] = torch.zeros(5, ScalarType.Int64), ["name"] = "x" });

        // Walk the local headers: every record stored (method 0), sizes equal, data at a multiple of 64 bytes.
        var position = 0;
        var records = new List<string>();
        while (BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(position)) == 0x04034b50)
        {
            var span = bytes.AsSpan(position);
            Assert.Equal(0, BinaryPrimitives.ReadUInt16LittleEndian(span[8..]));
            var size = BinaryPrimitives.ReadUInt32LittleEndian(span[18..]);
            Assert.Equal(size, BinaryPrimitives.ReadUInt32LittleEndian(span[22..]));
            var nameLength = BinaryPrimitives.ReadUInt16LittleEndian(span[26..]);
            var extraLength = BinaryPrimitives.ReadUInt16LittleEndian(span[28..]);
            records.Add(Encoding.UTF8.GetString(span.Slice(30, nameLength)));
            Assert.Equal("FB", Encoding.ASCII.GetString(span.Slice(30 + nameLength, 2)));
            var dataStart = position + 30 + nameLength + extraLength;
            Assert.Equal(0, dataStart % 64);
            position = dataStart + (int)size;
        }

        Assert.Equal(["archive/data.pkl", "archive/byteorder", "archive/data/0", "archive/data/1", "archive/version"], records);
        using var zip = new ZipArchive(new MemoryStream(bytes), ZipArchiveMode.Read);
        foreach (var entry in zip.Entries)
        {
            using var stream = entry.Open();
            stream.CopyTo(Stream.Null); // the CRC is checked as the entry is read to its end
            Assert.Equal(entry.Length, entry.CompressedLength);
        }

        Assert.Equal("little", new StreamReader(zip.GetEntry("archive/byteorder")!.Open()).ReadToEnd());
        Assert.Equal("3\n", new StreamReader(zip.GetEntry("archive/version")!.Open()).ReadToEnd());
    }

    [Fact]
    public void Save_SameValueTwice_GivesIdenticalBytes()
    {
        using var scope = torch.NewDisposeScope();
        var value = new Dictionary<string, object?> { ["w"] = torch.linspace(0, 1, 7), ["vocab"] = new Dictionary<string, object?> { ["red"] = 1L } };

        Assert.Equal(ToBytes(value), ToBytes(value));
    }

    [Fact]
    public void Save_ToFile_LoadReadsTheFileAndLeavesNoTemporaryFile()
    {
        using var scope = torch.NewDisposeScope();
        using var folder = new TempFolder();
        var path = Path.Combine(folder.Path, "model.pth");
        File.WriteAllText(path, "an older file that gets replaced");

        TorchCheckpoint.Save(new Dictionary<string, object?> { ["x"] = torch.full(2, 2, 4.0f) }, path);

        Assert.Equal(CheckpointFormat.Zip, TorchCheckpoint.DetectFormat(path));
        using var loaded = TorchCheckpoint.Load(path);
        Assert.Equal([4f, 4f, 4f, 4f], loaded["x"].AsTensor().data<float>().ToArray());
        Assert.Equal(["model.pth"], Directory.GetFiles(folder.Path).Select(Path.GetFileName));
    }

    [Fact]
    public void Save_ValueThatPythonCannotHold_ThrowsArgumentExceptionNamingItsPlace()
    {
        var value = new Dictionary<string, object?> { ["config"] = new Dictionary<string, object?> { ["when"] = DateTime.UnixEpoch } };

        var ex = Assert.Throws<ArgumentException>(() => TorchCheckpoint.Save(value, new MemoryStream()));

        Assert.Equal("value", ex.ParamName);
        Assert.Contains("$['config']['when']", ex.Message, StringComparison.Ordinal);
        Assert.Contains("System.DateTime", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Save_ReadOnlyStream_ThrowsArgumentExceptionNamingIt()
    {
        using var readOnly = new MemoryStream([], writable: false);

        var ex = Assert.Throws<ArgumentException>(() => TorchCheckpoint.Save(1L, readOnly));

        Assert.Equal("stream", ex.ParamName);
    }

    private static byte[] ToBytes(object? value)
    {
        using var stream = new MemoryStream();
        TorchCheckpoint.Save(value, stream);
        return stream.ToArray();
    }

    private static CheckpointValue RoundTrip(object? value)
    {
        var bytes = ToBytes(value);
        return TorchCheckpoint.Load(new MemoryStream(bytes), "round trip");
    }

    private static void AssertSameTensor(Tensor expected, Tensor actual)
    {
        Assert.Equal(expected.dtype, actual.dtype);
        Assert.Equal(expected.shape, actual.shape);
        Assert.True(actual.is_contiguous());
        Assert.Equal(expected.contiguous().bytes.ToArray(), actual.bytes.ToArray());
    }
}
