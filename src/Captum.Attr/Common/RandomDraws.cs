using TorchSharp;
using static TorchSharp.torch;

namespace Captum.Attr;

/// <summary>
/// The random draws of the sampling methods, from a private seeded generator, the caller's generator, or
/// TorchSharp's global one. Values are drawn on the generator's device (the CPU unless the caller's generator
/// lives elsewhere) and then moved to the inputs' device, so a seed gives the same numbers on every device.
/// </summary>
internal sealed class RandomDraws : IDisposable
{
    private readonly Generator? generator;
    private readonly bool owned;

    private RandomDraws(Generator? generator, bool owned)
    {
        this.generator = generator;
        this.owned = owned;
    }

    /// <summary>Draws from a generator seeded with <paramref name="seed"/>, from <paramref name="generator"/>, or from the global one.</summary>
    /// <exception cref="ArgumentException">Both a seed and a generator were given.</exception>
    public static RandomDraws Create(long? seed, Generator? generator)
    {
        if (seed is not null && generator is not null)
        {
            throw new ArgumentException("Seed and Generator were both given; give one of them (or neither, for the global generator).", "Seed");
        }

        return seed is { } s
            ? new RandomDraws(new Generator(unchecked((ulong)s), torch.CPU), owned: true)
            : new RandomDraws(generator, owned: false);
    }

    private Device DrawDevice => generator?.device ?? torch.CPU;

    /// <summary>Gaussian noise with mean 0 and standard deviation <paramref name="stdev"/>.</summary>
    public Tensor Normal(long[] shape, double stdev, ScalarType dtype, Device device) =>
        (torch.randn(shape, dtype, DrawDevice, generator: generator) * stdev).to(device);

    /// <summary><paramref name="count"/> values uniform in [0, 1).</summary>
    public Tensor Uniform(long count, ScalarType dtype, Device device) =>
        torch.rand([count], dtype, DrawDevice, generator: generator).to(device);

    /// <summary><paramref name="count"/> indices uniform in [0, <paramref name="high"/>).</summary>
    public Tensor Indices(long count, long high, Device device) =>
        torch.randint(high, [count], ScalarType.Int64, DrawDevice, generator: generator).to(device);

    /// <summary>Frees the private generator.</summary>
    public void Dispose()
    {
        if (owned)
        {
            generator?.Dispose();
        }
    }
}
