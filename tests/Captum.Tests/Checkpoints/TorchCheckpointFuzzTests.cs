using Captum.Checkpoints;
using TorchSharp;
using Xunit;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace Captum.Tests.Checkpoints;

/// <summary>
/// Randomly damaged copies of the real checkpoints. A zip checkpoint's records carry CRC-32s, so every damaged copy
/// loads identically or is refused. A legacy checkpoint (PyTorch 0.4 to 1.5) has no checksums: damage to a tensor's raw
/// bytes cannot be seen, and loads with those elements changed, as in PyTorch; damage to a storage's size header is
/// always refused; damage to the pickles is refused or, where it leaves a valid pickle (a letter of a key, a number),
/// loads with that change, as in PyTorch.
/// </summary>
public sealed class TorchCheckpointFuzzTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData("vqa-tiny-zip.pth", 12)]
    public void Load_RandomlyDamagedZipCopies_LoadIdenticallyOrThrowCheckpointFormatException(string file, int seed)
    {
        using var reference = TorchCheckpoint.Load(CheckpointFiles.PathOf(file));
        var refused = 0;

        foreach (var (i, bytes, _) in Damaged(file, seed))
        {
            using var scope = torch.NewDisposeScope();
            if (LoadOrRefuse(bytes, i) is { } loaded)
            {
                using (loaded)
                {
                    Assert.True(CheckpointComparison.Same(reference.Raw, loaded.Raw), $"damaged copy {i} loaded with different contents");
                }
            }
            else
            {
                refused++;
            }
        }

        Assert.InRange(refused, 1, Cases);
    }

    [Theory]
    [InlineData("vqa-tiny-legacy.pth", 11)]
    [InlineData("e2e/vqa.pth", 13)]
    public void Load_RandomlyDamagedLegacyCopies_RefuseOrLoadChangedOnlyWhereTheFormatCannotTell(string file, int seed)
    {
        var original = File.ReadAllBytes(CheckpointFiles.PathOf(file));
        using var reference = TorchCheckpoint.Load(CheckpointFiles.PathOf(file));
        var layout = StorageLayout.Of(original, reference.Raw);
        var (refused, identical, valuesChanged, elsewhereValues, elsewhereStructure) = (0, 0, 0, 0, 0);

        foreach (var (i, bytes, changed) in Damaged(file, seed))
        {
            using var scope = torch.NewDisposeScope();
            var loaded = LoadOrRefuse(bytes, i);
            if (changed.Any(layout.InHeader))
            {
                Assert.True(loaded is null, $"damaged copy {i} changed a storage's size header at {string.Join(", ", changed)} and loaded");
            }
            else if (changed.Count > 0 && changed.All(layout.InData))
            {
                // Raw tensor bytes: no checksum can tell. Everything else loads as it was, and only elements holding a changed byte differ.
                Assert.NotNull(loaded);
                Assert.True(CheckpointComparison.SameStructure(reference.Raw, loaded.Raw), $"damaged copy {i} changed only tensor bytes but loaded another structure");
                Assert.InRange(DifferingElements(reference.Raw, loaded.Raw), 0, changed.Count);
            }

            using (loaded)
            {
                if (loaded is null)
                {
                    refused++;
                }
                else if (CheckpointComparison.Same(reference.Raw, loaded.Raw))
                {
                    identical++;
                }
                else if (changed.All(layout.InData))
                {
                    valuesChanged++;
                }
                else if (CheckpointComparison.SameStructure(reference.Raw, loaded.Raw))
                {
                    elsewhereValues++;
                }
                else
                {
                    elsewhereStructure++;
                }
            }
        }

        output.WriteLine(
            $"{file}: {refused} refused, {identical} identical, {valuesChanged} with tensor values changed by damage to tensor bytes, "
            + $"and from damage elsewhere (the pickles, or tensors too small to place) {elsewhereValues} with values changed, {elsewhereStructure} with keys, types or shapes changed");
        Assert.True(refused > 0 && valuesChanged > 0, $"{refused} refused, {valuesChanged} with tensor values changed: the damage missed a region");
    }

    [Theory]
    [InlineData("vqa-tiny-legacy.pth")]
    [InlineData("e2e/vqa.pth")]
    public void Load_LegacyCopyWithAStoragesSizeHeaderChanged_IsRefusedNamingTheStorage(string file)
    {
        var original = File.ReadAllBytes(CheckpointFiles.PathOf(file));
        using var reference = TorchCheckpoint.Load(CheckpointFiles.PathOf(file));
        var headers = StorageLayout.Of(original, reference.Raw).Headers;

        Assert.NotEmpty(headers);
        foreach (var header in headers)
        {
            using var scope = torch.NewDisposeScope();
            var bytes = (byte[])original.Clone();
            bytes[header + 1] ^= 0x01;

            var ex = Assert.Throws<CheckpointFormatException>(() => TorchCheckpoint.Load(new MemoryStream(bytes), "damaged"));

            Assert.Contains("elements, but the object pickle expects", ex.Message, StringComparison.Ordinal);
        }
    }

    private const int Cases = 300;

    /// <summary>
    /// The seeded damaged copies of <paramref name="file"/>: 1 to 5 bytes set to random values, mostly in the pickles at
    /// the front, where a change alters the structure rather than a value; with the positions whose byte actually changed.
    /// </summary>
    private static IEnumerable<(int Index, byte[] Bytes, List<int> Changed)> Damaged(string file, int seed)
    {
        var original = File.ReadAllBytes(CheckpointFiles.PathOf(file));
        var random = new Random(seed);
        for (var i = 0; i < Cases; i++)
        {
            var bytes = (byte[])original.Clone();
            var changes = random.Next(1, 6);
            for (var j = 0; j < changes; j++)
            {
                var position = random.Next(2) == 0 ? random.Next(Math.Min(bytes.Length, 3200)) : random.Next(bytes.Length);
                bytes[position] = (byte)random.Next(256);
            }

            yield return (i, bytes, Enumerable.Range(0, bytes.Length).Where(p => bytes[p] != original[p]).ToList());
        }
    }

    /// <summary>The checkpoint loaded, or null when it is refused with a <see cref="CheckpointFormatException"/> naming it; any other exception fails the test.</summary>
    private static CheckpointValue? LoadOrRefuse(byte[] bytes, int index)
    {
        try
        {
            return TorchCheckpoint.Load(new MemoryStream(bytes), $"damaged-{index}");
        }
        catch (CheckpointFormatException ex)
        {
            Assert.Contains($"'damaged-{index}'", ex.Message, StringComparison.Ordinal);
            return null;
        }
    }

    /// <summary>How many tensor elements differ between two values of the same structure (NaN counting as differing).</summary>
    private static long DifferingElements(object? a, object? b) =>
        Tensors(a).Zip(Tensors(b)).Sum(p => p.First.numel() == 0 ? 0 : p.First.ne(p.Second).sum().item<long>());

    private static List<Tensor> Tensors(object? value) => [.. TorchCheckpoint.CollectDisposables(value).OfType<Tensor>()];

    /// <summary>
    /// Where a legacy checkpoint keeps its storages: each is an 8-byte element count, then the raw elements. Found by
    /// looking up each loaded tensor's bytes (those of at least 32 bytes that occur once in the file); a tensor whose
    /// bytes follow its own element count starts a storage, so those 8 bytes are its size header.
    /// </summary>
    private sealed class StorageLayout
    {
        private readonly bool[] data;
        private readonly bool[] header;

        private StorageLayout(int length)
        {
            data = new bool[length];
            header = new bool[length];
        }

        /// <summary>The first byte of every size header found.</summary>
        public List<int> Headers { get; } = [];

        public static StorageLayout Of(byte[] file, object? loaded)
        {
            var layout = new StorageLayout(file.Length);
            foreach (var tensor in Tensors(loaded))
            {
                var bytes = tensor.contiguous().bytes.ToArray();
                var at = file.AsSpan().IndexOf(bytes);
                if (bytes.Length < 32 || at < 0 || file.AsSpan().LastIndexOf(bytes) != at)
                {
                    continue;
                }

                Array.Fill(layout.data, true, at, bytes.Length);
                if (at >= 8 && BitConverter.ToInt64(file, at - 8) == tensor.numel())
                {
                    Array.Fill(layout.header, true, at - 8, 8);
                    layout.Headers.Add(at - 8);
                }
            }

            return layout;
        }

        public bool InData(int position) => data[position];

        public bool InHeader(int position) => header[position];
    }
}
