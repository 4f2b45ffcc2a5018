using System.IO.Compression;
using Captum.Checkpoints;
using TorchSharp;
using Xunit;

namespace Captum.Tests.Checkpoints;

/// <summary>Corrupt, truncated and foreign inputs: each fails with a CheckpointFormatException naming the file.</summary>
public sealed class TorchCheckpointCorruptInputTests
{
    /// <summary>
    /// Cut points of vqa-tiny-legacy.pth (8400 bytes): inside the magic number (0-14), the protocol version (15-20),
    /// the system info (21-136), the object pickle (137-3115), the key list (3116-3395) and the storages (3396-).
    /// </summary>
    public static TheoryData<int> LegacyCutPoints => new() { 1, 5, 14, 15, 18, 21, 60, 137, 500, 3000, 3115, 3116, 3200, 3395, 3396, 3400, 3404, 3500, 5000, 8399 };

    public static TheoryData<int> ZipCutPoints => new() { 1, 4, 30, 100, 3000, 10000, 10900, 11024 };

    [Fact]
    public void Load_EmptyFile_ThrowsNamingTheFile()
    {
        using var scope = torch.NewDisposeScope();
        using var file = CheckpointFiles.Temp([]);

        var ex = Assert.Throws<CheckpointFormatException>(() => TorchCheckpoint.Load(file.Path));

        Assert.Contains(file.Path, ex.Message, StringComparison.Ordinal);
        Assert.Contains("empty", ex.Message, StringComparison.Ordinal);
        Assert.Equal(file.Path, ex.SourceName);
    }

    [Fact]
    public void Load_RandomBytes_ThrowsUnknownMagic()
    {
        using var scope = torch.NewDisposeScope();
        var bytes = new byte[4096];
        new Random(1234).NextBytes(bytes);
        bytes[0] = 0x42;
        using var file = CheckpointFiles.Temp(bytes);

        var ex = Assert.Throws<CheckpointFormatException>(() => TorchCheckpoint.Load(file.Path));

        Assert.Contains(file.Path, ex.Message, StringComparison.Ordinal);
        Assert.Contains("not a PyTorch checkpoint: unknown magic", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("Module.save", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    public void Load_RandomBytesStartingLikeAPickle_ThrowsNamingTheFile(int seed)
    {
        using var scope = torch.NewDisposeScope();
        var bytes = new byte[2048];
        new Random(seed).NextBytes(bytes);
        bytes[0] = 0x80;
        bytes[1] = 0x02;
        using var file = CheckpointFiles.Temp(bytes);

        var ex = Assert.Throws<CheckpointFormatException>(() => TorchCheckpoint.Load(file.Path));

        Assert.Contains(file.Path, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_TorchSharpModuleSaveFile_ThrowsSayingHowToLoadOrWriteIt()
    {
        using var scope = torch.NewDisposeScope();
        var path = Path.Combine(Path.GetTempPath(), $"module-save-{Guid.NewGuid():N}.dat");
        try
        {
            torch.nn.Sequential(("fc1", torch.nn.Linear(2, 3))).save(path);

            var ex = Assert.Throws<CheckpointFormatException>(() => TorchCheckpoint.Load(path));

            Assert.Contains("not a PyTorch checkpoint: unknown magic", ex.Message, StringComparison.Ordinal);
            Assert.Contains("TorchSharp's Module.save format", ex.Message, StringComparison.Ordinal);
            Assert.Contains("TorchCheckpoint.Save", ex.Message, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Load_PngImage_ThrowsUnknownMagic()
    {
        using var scope = torch.NewDisposeScope();
        var path = CheckpointFiles.PathOf("e2e/image.png");

        var ex = Assert.Throws<CheckpointFormatException>(() => TorchCheckpoint.Load(path));

        Assert.Contains(path, ex.Message, StringComparison.Ordinal);
        Assert.Contains("not a PyTorch checkpoint: unknown magic (the data starts with 89 50 4E 47", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_PlainPickle_ThrowsUnknownMagicNumber()
    {
        using var scope = torch.NewDisposeScope();
        var pickle = new PickleBuilder().Proto().EmptyDict().Str("a").Int(1).SetItem().Stop().ToArray();
        using var file = CheckpointFiles.Temp(pickle);

        var ex = Assert.Throws<CheckpointFormatException>(() => TorchCheckpoint.Load(file.Path));

        Assert.Contains(file.Path, ex.Message, StringComparison.Ordinal);
        Assert.Contains("not a PyTorch checkpoint: unknown magic number (a pickled builtins.dict)", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_TarArchive_ThrowsUnsupportedTarFormat()
    {
        using var scope = torch.NewDisposeScope();
        var tar = new byte[1024];
        "sys_info"u8.CopyTo(tar);
        "ustar\0"u8.CopyTo(tar.AsSpan(257));
        using var file = CheckpointFiles.Temp(tar);

        var ex = Assert.Throws<CheckpointFormatException>(() => TorchCheckpoint.Load(file.Path));

        Assert.Contains(file.Path, ex.Message, StringComparison.Ordinal);
        Assert.Contains("tar serialization", ex.Message, StringComparison.Ordinal);
        Assert.Equal(CheckpointFormat.Tar, TorchCheckpoint.DetectFormat(file.Path));
    }

    [Theory]
    [MemberData(nameof(LegacyCutPoints))]
    public void Load_TruncatedLegacyFile_ThrowsNamingTheFile(int length)
    {
        using var scope = torch.NewDisposeScope();
        var bytes = File.ReadAllBytes(CheckpointFiles.PathOf("vqa-tiny-legacy.pth"));
        using var file = CheckpointFiles.Temp(bytes[..length]);

        var ex = Assert.Throws<CheckpointFormatException>(() => TorchCheckpoint.Load(file.Path));

        Assert.Contains(file.Path, ex.Message, StringComparison.Ordinal);
        Assert.Contains("truncated", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_LegacyFileCutInsideAStorage_ReportsWhichStorageAndTheByteCounts()
    {
        using var scope = torch.NewDisposeScope();
        var bytes = File.ReadAllBytes(CheckpointFiles.PathOf("vqa-tiny-legacy.pth"));

        // The first storage (key 548356864, 70 floats) starts at 3396 with its 8-byte count: keep 100 of its 280 bytes.
        using var file = CheckpointFiles.Temp(bytes[..(3396 + 8 + 100)]);

        var ex = Assert.Throws<CheckpointFormatException>(() => TorchCheckpoint.Load(file.Path));

        Assert.Contains("truncated storage 1 of 17 (key '548356864': expected 280 bytes, got 100)", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(ZipCutPoints))]
    public void Load_TruncatedZipFile_ThrowsNamingTheFile(int length)
    {
        using var scope = torch.NewDisposeScope();
        var bytes = File.ReadAllBytes(CheckpointFiles.PathOf("vqa-tiny-zip.pth"));
        using var file = CheckpointFiles.Temp(bytes[..length]);

        var ex = Assert.Throws<CheckpointFormatException>(() => TorchCheckpoint.Load(file.Path));

        Assert.Contains(file.Path, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_ZipWithoutDataPkl_ThrowsNamingTheMissingRecord()
    {
        using var scope = torch.NewDisposeScope();
        var zip = CheckpointPackager.Zip(null, new Dictionary<string, byte[]> { ["0"] = new byte[16] });
        using var file = CheckpointFiles.Temp(zip);

        var ex = Assert.Throws<CheckpointFormatException>(() => TorchCheckpoint.Load(file.Path));

        Assert.Contains(file.Path, ex.Message, StringComparison.Ordinal);
        Assert.Contains("a zip archive without a data.pkl record", ex.Message, StringComparison.Ordinal);
        Assert.Contains("archive/data/0", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_ZipWithATruncatedStorageRecord_ReportsExpectedAndActualBytes()
    {
        using var scope = torch.NewDisposeScope();
        var pickle = new PickleBuilder().Proto().TensorV2("FloatStorage", "0", 1024, 0, [1024], [1]).Stop().ToArray();
        var zip = CheckpointPackager.Zip(pickle, new Dictionary<string, byte[]> { ["0"] = new byte[100] });

        var ex = Assert.Throws<CheckpointFormatException>(() => TorchCheckpoint.Load(new MemoryStream(zip), "synthetic.pth"));

        Assert.Contains("'synthetic.pth'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("truncated storage '0' (archive/data/0: expected 4096 bytes, got 100)", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_ZipWithAMissingStorageRecord_ThrowsNamingTheRecord()
    {
        using var scope = torch.NewDisposeScope();
        var pickle = new PickleBuilder().Proto().TensorV2("FloatStorage", "7", 4, 0, [4], [1]).Stop().ToArray();
        var zip = CheckpointPackager.Zip(pickle, new Dictionary<string, byte[]>());

        var ex = Assert.Throws<CheckpointFormatException>(() => TorchCheckpoint.Load(new MemoryStream(zip), "missing.pth"));

        Assert.Contains("storage '7' is missing from the archive (no record archive/data/7)", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_ZipWithCorruptPickle_ThrowsNamingThePickleAndOffset()
    {
        using var scope = torch.NewDisposeScope();
        var zip = CheckpointPackager.Zip([0x80, 0x02, 0xff], new Dictionary<string, byte[]>());

        var ex = Assert.Throws<CheckpointFormatException>(() => TorchCheckpoint.Load(new MemoryStream(zip), "bad.pth"));

        Assert.Contains("archive/data.pkl: unknown pickle opcode 0xff (opcode at byte 2)", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_TensorReachingPastItsStorage_Throws()
    {
        using var scope = torch.NewDisposeScope();
        var pickle = new PickleBuilder().Proto().TensorV2("FloatStorage", "0", 4, 1, [2, 2], [2, 1]).Stop().ToArray();
        var zip = CheckpointPackager.Zip(pickle, new Dictionary<string, byte[]> { ["0"] = new byte[16] });

        var ex = Assert.Throws<CheckpointFormatException>(() => TorchCheckpoint.Load(new MemoryStream(zip), "past.pth"));

        Assert.Contains("needs 5 elements, but its storage '0' has 4", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(new long[] { -1 }, new long[] { 1 })]
    [InlineData(new long[] { 2 }, new long[] { -1 })]
    [InlineData(new long[] { 2, 2 }, new long[] { 1 })]
    public void Load_TensorWithInvalidLayout_Throws(long[] size, long[] stride)
    {
        using var scope = torch.NewDisposeScope();
        var pickle = new PickleBuilder().Proto().TensorV2("FloatStorage", "0", 4, 0, size, stride).Stop().ToArray();
        var zip = CheckpointPackager.Zip(pickle, new Dictionary<string, byte[]> { ["0"] = new byte[16] });

        var ex = Assert.Throws<CheckpointFormatException>(() => TorchCheckpoint.Load(new MemoryStream(zip), "layout.pth"));

        Assert.Contains("layout.pth", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_HugeStringLength_ThrowsTruncatedWithoutAllocating()
    {
        using var scope = torch.NewDisposeScope();
        var pickle = new PickleBuilder().Proto(4).Op(0x8d).Bytes(BitConverter.GetBytes(1L << 62)).Bytes("abc"u8).Stop().ToArray();
        var zip = CheckpointPackager.Zip(pickle, new Dictionary<string, byte[]>());

        var ex = Assert.Throws<CheckpointFormatException>(() => TorchCheckpoint.Load(new MemoryStream(zip), "huge.pth"));

        Assert.Contains("truncated pickle: needs 4611686018427387904 more bytes", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_HugeStorageElementCount_ThrowsWithoutAllocating()
    {
        using var scope = torch.NewDisposeScope();
        var pickle = new PickleBuilder().Proto().TensorV2("DoubleStorage", "0", long.MaxValue / 4, 0, [1], [1]).Stop().ToArray();
        var zip = CheckpointPackager.Zip(pickle, new Dictionary<string, byte[]> { ["0"] = new byte[8] });

        var ex = Assert.Throws<CheckpointFormatException>(() => TorchCheckpoint.Load(new MemoryStream(zip), "count.pth"));

        Assert.Contains("impossible size", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_LegacyStorageCountDisagreeingWithThePickle_Throws()
    {
        using var scope = torch.NewDisposeScope();
        var pickle = new PickleBuilder().Proto().TensorV2("FloatStorage", "k", 4, 0, [4], [1], "cuda:0", legacy: true).Stop().ToArray();
        var legacy = CheckpointPackager.Legacy(pickle, [("k", 3, new byte[12])]);

        var ex = Assert.Throws<CheckpointFormatException>(() => TorchCheckpoint.Load(new MemoryStream(legacy), "count.pth"));

        Assert.Contains("storage 1 of 1 (key 'k') holds 3 elements, but the object pickle expects 4", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_LegacyStorageMissingFromTheKeyList_Throws()
    {
        using var scope = torch.NewDisposeScope();
        var pickle = new PickleBuilder().Proto().TensorV2("FloatStorage", "k", 4, 0, [4], [1], legacy: true).Stop().ToArray();
        var legacy = CheckpointPackager.Legacy(pickle, []);

        var ex = Assert.Throws<CheckpointFormatException>(() => TorchCheckpoint.Load(new MemoryStream(legacy), "keys.pth"));

        Assert.Contains("storage 'k' is referenced by the object pickle but missing from the storage list", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_LegacyWithWrongProtocolVersion_Throws()
    {
        using var scope = torch.NewDisposeScope();
        var bytes = File.ReadAllBytes(CheckpointFiles.PathOf("vqa-tiny-legacy.pth"));
        bytes[18] = 0xea; // 1001 -> 1002 (BININT2 at offset 17)

        var ex = Assert.Throws<CheckpointFormatException>(() => TorchCheckpoint.Load(new MemoryStream(bytes), "version.pth"));

        Assert.Contains("unsupported legacy protocol version 1002", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(new byte[] { 0x80, 0x02, (byte)'h', 5, (byte)'.' }, "memo entry 5 was never stored")]
    [InlineData(new byte[] { 0x80, 0x02, (byte)'a', (byte)'.' }, "stack underflow")]
    [InlineData(new byte[] { 0x80, 0x02, (byte)'u', (byte)'.' }, "no MARK on the stack")]
    [InlineData(new byte[] { 0x80, 0x02, (byte)'K', 1, (byte)'K', 2, (byte)'R', (byte)'.' }, "REDUCE with int arguments")]
    [InlineData(new byte[] { 0x80, 0x02, (byte)'K', 1, (byte)'K', 2, 0x93, (byte)'.' }, "STACK_GLOBAL")]
    [InlineData(new byte[] { 0x80, 0x02, 0x82, 1, (byte)'.' }, "extension registry")]
    [InlineData(new byte[] { 0x80, 0x05, 0x97, (byte)'.' }, "out-of-band buffers")]
    [InlineData(new byte[] { 0x80, 0x09, (byte)'.' }, "unsupported pickle protocol 9")]
    [InlineData(new byte[] { 0x80, 0x02, (byte)'K', 1 }, "truncated pickle")]
    [InlineData(new byte[] { 0x80, 0x02, (byte)'}', (byte)'(', (byte)'K', 1, (byte)'K', 2, (byte)'K', 3, (byte)'u', (byte)'.' }, "odd number of items")]
    public void Load_MalformedPickle_ThrowsDescribingTheProblem(byte[] pickle, string expected)
    {
        using var scope = torch.NewDisposeScope();
        var zip = CheckpointPackager.Zip(pickle, new Dictionary<string, byte[]>());

        var ex = Assert.Throws<CheckpointFormatException>(() => TorchCheckpoint.Load(new MemoryStream(zip), "malformed.pth"));

        Assert.Contains("malformed.pth", ex.Message, StringComparison.Ordinal);
        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_ZipWithCorruptLocalHeader_ThrowsNamingTheFile()
    {
        using var scope = torch.NewDisposeScope();
        var bytes = File.ReadAllBytes(CheckpointFiles.PathOf("vqa-tiny-zip.pth"));
        using (var zip = new ZipArchive(new MemoryStream(bytes), ZipArchiveMode.Read))
        {
            Assert.Equal("vqa-tiny-zip/data.pkl", zip.Entries[0].FullName);
        }

        // Break the signature of the second local header (the first storage record); the central directory is intact.
        var second = bytes.AsSpan(4).IndexOf("PK\u0003\u0004"u8) + 4;
        Assert.True(second > 4);
        bytes[second] = (byte)'X';
        using var file = CheckpointFiles.Temp(bytes);

        var ex = Assert.Throws<CheckpointFormatException>(() => TorchCheckpoint.Load(file.Path));

        Assert.Contains(file.Path, ex.Message, StringComparison.Ordinal);
    }
}
