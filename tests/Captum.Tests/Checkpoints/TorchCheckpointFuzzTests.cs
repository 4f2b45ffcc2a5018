using Captum.Checkpoints;
using TorchSharp;
using Xunit;

namespace Captum.Tests.Checkpoints;

/// <summary>Randomly damaged copies of the real checkpoints: each loads or fails cleanly, never otherwise.</summary>
public sealed class TorchCheckpointFuzzTests
{
    [Theory]
    [InlineData("vqa-tiny-legacy.pth", 11)]
    [InlineData("vqa-tiny-zip.pth", 12)]
    [InlineData("e2e/vqa.pth", 13)]
    public void Load_RandomlyDamagedCopies_LoadOrThrowCheckpointFormatException(string file, int seed)
    {
        var original = File.ReadAllBytes(CheckpointFiles.PathOf(file));
        var random = new Random(seed);
        var failures = 0;
        for (var i = 0; i < 300; i++)
        {
            using var scope = torch.NewDisposeScope();
            var bytes = (byte[])original.Clone();
            var changes = random.Next(1, 6);
            for (var j = 0; j < changes; j++)
            {
                // Mostly in the pickles at the front, where a change alters the structure rather than a value.
                var position = random.Next(2) == 0 ? random.Next(Math.Min(bytes.Length, 3200)) : random.Next(bytes.Length);
                bytes[position] = (byte)random.Next(256);
            }

            try
            {
                TorchCheckpoint.Load(new MemoryStream(bytes), $"damaged-{i}");
            }
            catch (CheckpointFormatException ex)
            {
                Assert.Contains($"'damaged-{i}'", ex.Message, StringComparison.Ordinal);
                failures++;
            }
        }

        Assert.InRange(failures, 1, 300);
    }
}
