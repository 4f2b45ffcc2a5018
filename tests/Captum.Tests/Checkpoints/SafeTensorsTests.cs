using System.Buffers.Binary;
using System.Text;
using Captum.Checkpoints;
using FsCheck.Xunit;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Captum.Tests.Checkpoints;

/// <summary>safetensors: round trips, the state dict path, and every malformed file refused cleanly before allocating.</summary>
public sealed class SafeTensorsTests
{
    private static readonly ScalarType[] Types =
    [
        ScalarType.Bool, ScalarType.Byte, ScalarType.Int8, ScalarType.Int16, ScalarType.Int32, ScalarType.Int64,
        ScalarType.Float16, ScalarType.BFloat16, ScalarType.Float32, ScalarType.Float64,
    ];

    [Property(MaxTest = 40)]
    public void SaveThenLoad_AnyDtypesAndShapes_GivesTheSameTensorsAndMetadata(int seed, byte count)
    {
        using var scope = torch.NewDisposeScope();
        var random = new Random(seed);
        var generator = new torch.Generator((ulong)(uint)seed);
        var tensors = new Dictionary<string, Tensor>();
        for (var i = 0; i < 1 + (count % 5); i++)
        {
            var shape = Enumerable.Range(0, random.Next(0, 4)).Select(_ => (long)random.Next(0, 4)).ToArray();
            var values = torch.randn(shape, generator: generator) * 10;
            var type = Types[random.Next(Types.Length)];
            // Non-contiguous sometimes: a transposed view is written as its contiguous copy.
            var t = type == ScalarType.Bool ? values > 0 : values.to_type(type);
            tensors[$"layer{random.Next(100)}.{(char)('a' + i)}"] = t.dim() == 2 ? t.t() : t;
        }

        var metadata = new Dictionary<string, string> { ["format"] = "pt", ["note"] = $"seed {seed}" };
        using var stream = new MemoryStream();
        SafeTensors.Save(tensors, stream, metadata);
        stream.Position = 0;
        using var loaded = SafeTensors.Load(stream, "round-trip");

        Assert.Equal(tensors.Keys.Order(StringComparer.Ordinal), loaded.Tensors.Keys);
        foreach (var (name, t) in tensors)
        {
            var back = loaded.Tensors[name];
            Assert.Equal(t.dtype, back.dtype);
            Assert.Equal(t.shape, back.shape);
            Assert.True(t.numel() == 0 || t.equal(back).all().item<bool>(), name);
        }

        Assert.Equal(metadata, loaded.Metadata);
        Assert.Equal(0, (8 + BinaryPrimitives.ReadInt64LittleEndian(stream.ToArray())) % 8); // the data starts aligned
    }

    [Fact]
    public void TorchCheckpointLoad_SafeTensorsFile_IsAStateDictAModuleLoads()
    {
        using var scope = torch.NewDisposeScope();
        var source = nn.Linear(3, 2);
        var target = nn.Linear(3, 2);
        var path = Path.Combine(Path.GetTempPath(), $"captum-{Guid.NewGuid():N}.safetensors");
        try
        {
            SafeTensors.Save(source.state_dict(), path);

            Assert.Equal(CheckpointFormat.SafeTensors, TorchCheckpoint.DetectFormat(path));
            using var value = TorchCheckpoint.Load(path);
            TorchCheckpoint.LoadStateDict(target, TorchCheckpoint.StateDict(value));

            Assert.True(source.weight!.equal(target.weight!).all().item<bool>());
            Assert.True(source.bias!.equal(target.bias!).all().item<bool>());
        }
        finally
        {
            System.IO.File.Delete(path);
        }
    }

    public static TheoryData<string, string, string> MalformedHeaders => new()
    {
        { "not json", "{\"a\": ", "not valid JSON" },
        { "unknown dtype", "{\"a\":{\"dtype\":\"F8_E4M3\",\"shape\":[1],\"data_offsets\":[0,1]}}", "'F8_E4M3'" },
        { "size mismatch", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,4]}}", "needs 8 bytes" },
        { "negative dimension", "{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", "non-negative" },
        { "overflowing shape", "{\"a\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,4]}}", "more elements than can exist" },
        { "overlap", "{\"a\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4]},\"b\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[2,6]}}", "overlaps" },
        { "hole", "{\"a\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[2,4]}}", "belong to no tensor" },
        { "beyond the file", "{\"a\":{\"dtype\":\"U8\",\"shape\":[1000000000],\"data_offsets\":[0,1000000000]}}", "truncated" },
        { "missing offsets", "{\"a\":{\"dtype\":\"U8\",\"shape\":[4]}}", "data_offsets" },
        { "bad metadata", "{\"__metadata__\":{\"k\":3}}", "not a string" },
    };

    [Theory]
    [MemberData(nameof(MalformedHeaders))]
    public void Load_MalformedHeader_ThrowsCheckpointFormatExceptionNamingTheProblem(string what, string header, string expected)
    {
        using var scope = torch.NewDisposeScope();
        var bytes = SafeTensorsBytes(header, new byte[4]);

        var ex = Assert.Throws<CheckpointFormatException>(() => SafeTensors.Load(new MemoryStream(bytes), what));

        Assert.Contains($"'{what}'", ex.Message, StringComparison.Ordinal);
        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_HeaderLengthBeyondTheFile_ThrowsWithoutAllocatingIt()
    {
        var bytes = new byte[16];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, ulong.MaxValue / 2);

        var ex = Assert.Throws<CheckpointFormatException>(() => SafeTensors.Load(new MemoryStream(bytes), "huge"));

        Assert.Contains("header claims", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_RandomlyDamagedCopies_LoadOrThrowCheckpointFormatException()
    {
        using var outer = torch.NewDisposeScope();
        using var stream = new MemoryStream();
        SafeTensors.Save(new Dictionary<string, Tensor> { ["w"] = torch.randn(5, 3), ["b"] = torch.arange(7), ["m"] = torch.ones(2) > 0 }, stream, new Dictionary<string, string> { ["k"] = "v" });
        var original = stream.ToArray();
        var random = new Random(31);
        var refused = 0;
        for (var i = 0; i < 300; i++)
        {
            using var scope = torch.NewDisposeScope();
            var bytes = (byte[])original.Clone();
            for (var j = random.Next(1, 4); j > 0; j--)
            {
                // Mostly in the header, where a change alters the structure rather than a value.
                var position = random.Next(2) == 0 ? random.Next(Math.Min(bytes.Length, 200)) : random.Next(bytes.Length);
                bytes[position] = (byte)random.Next(256);
            }

            if (random.Next(4) == 0)
            {
                Array.Resize(ref bytes, random.Next(bytes.Length));
            }

            try
            {
                SafeTensors.Load(new MemoryStream(bytes), $"damaged-{i}").Dispose();
            }
            catch (CheckpointFormatException ex)
            {
                Assert.Contains($"'damaged-{i}'", ex.Message, StringComparison.Ordinal);
                refused++;
            }
        }

        Assert.InRange(refused, 1, 300);
    }

    [Fact]
    public void Save_UnsupportedDtypeOrReservedName_ThrowsNamingTensorsAndLeavesNoFile()
    {
        using var scope = torch.NewDisposeScope();
        var path = Path.Combine(Path.GetTempPath(), $"captum-{Guid.NewGuid():N}.safetensors");

        Assert.Equal("tensors", Assert.Throws<ArgumentException>(() => SafeTensors.Save(new Dictionary<string, Tensor> { ["c"] = torch.zeros(2, ScalarType.ComplexFloat32) }, path)).ParamName);
        Assert.Equal("tensors", Assert.Throws<ArgumentException>(() => SafeTensors.Save(new Dictionary<string, Tensor> { ["__metadata__"] = torch.zeros(2) }, path)).ParamName);
        Assert.False(System.IO.File.Exists(path));
    }

    private static byte[] SafeTensorsBytes(string header, byte[] data)
    {
        var json = Encoding.UTF8.GetBytes(header);
        var bytes = new byte[8 + json.Length + data.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)json.Length);
        json.CopyTo(bytes, 8);
        data.CopyTo(bytes, 8 + json.Length);
        return bytes;
    }
}
