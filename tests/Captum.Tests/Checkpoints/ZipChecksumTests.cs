using Captum.Checkpoints;
using Captum.TestData;
using TorchSharp;
using Xunit;

namespace Captum.Tests.Checkpoints;

/// <summary>
/// Zip checkpoints are checked against their CRC-32s (issue 15, item 1): damage anywhere either fails cleanly, naming
/// the file, or changes nothing that is read; never different weights, keys or values.
/// </summary>
public sealed class ZipChecksumTests
{
    private static string ScenesCheckpoint() =>
        Path.Combine(SharedData.RepositoryRoot(), "plugins", "Vqa", "Scenes", "scenes-vqa.pth");

    [Theory]
    [InlineData("archive/data/13")]
    [InlineData("archive/data.pkl")]
    [InlineData("archive/byteorder")]
    public void Load_OneByteChangedInsideARecord_IsRefusedNamingTheRecord(string record)
    {
        using var scope = torch.NewDisposeScope();
        var bytes = File.ReadAllBytes(ScenesCheckpoint());
        var (start, length) = RecordData(bytes, record);
        bytes[start + (length / 2)] ^= 0x10;

        var ex = Assert.Throws<CheckpointFormatException>(() => TorchCheckpoint.Load(new MemoryStream(bytes), "scenes-vqa.pth"));

        Assert.Contains(record, ex.Message, StringComparison.Ordinal);
        Assert.Contains("CRC-32", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("vqa-tiny-zip.pth", 300, 21)]
    [InlineData("scenes", 60, 22)]
    public void Load_RandomlyDamagedZipCheckpoints_FailCleanlyOrLoadIdentically(string file, int cases, int seed)
    {
        var path = file == "scenes" ? ScenesCheckpoint() : CheckpointFiles.PathOf(file);
        var original = File.ReadAllBytes(path);
        using var reference = TorchCheckpoint.Load(path);
        var random = new Random(seed);
        var refused = 0;
        for (var i = 0; i < cases; i++)
        {
            using var scope = torch.NewDisposeScope();
            var bytes = (byte[])original.Clone();
            for (var j = random.Next(1, 4); j > 0; j--)
            {
                var position = random.Next(bytes.Length);
                bytes[position] = (byte)(bytes[position] ^ random.Next(1, 256));
            }

            CheckpointValue loaded;
            try
            {
                loaded = TorchCheckpoint.Load(new MemoryStream(bytes), $"damaged-{i}");
            }
            catch (CheckpointFormatException ex)
            {
                Assert.Contains($"'damaged-{i}'", ex.Message, StringComparison.Ordinal);
                refused++;
                continue;
            }

            using (loaded)
            {
                // A change the checksums cannot see (a header field nothing reads) must change nothing read.
                Assert.True(CheckpointComparison.Same(reference.Raw, loaded.Raw), $"damaged copy {i} loaded with different contents");
            }
        }

        Assert.True(refused > cases / 2, $"only {refused} of {cases} damaged copies were refused");
    }

    /// <summary>The offset and length of a stored record's data, from its local file header.</summary>
    private static (int Start, int Length) RecordData(byte[] zip, string name)
    {
        var nameBytes = System.Text.Encoding.ASCII.GetBytes(name);
        for (var i = 0; i + 30 + nameBytes.Length < zip.Length; i++)
        {
            if (zip[i] == 'P' && zip[i + 1] == 'K' && zip[i + 2] == 3 && zip[i + 3] == 4
                && BitConverter.ToUInt16(zip, i + 26) == nameBytes.Length
                && zip.AsSpan(i + 30, nameBytes.Length).SequenceEqual(nameBytes))
            {
                var extra = BitConverter.ToUInt16(zip, i + 28);
                var size = BitConverter.ToInt32(zip, i + 18);
                return (i + 30 + nameBytes.Length + extra, size);
            }
        }

        throw new InvalidOperationException($"no record {name}");
    }
}
