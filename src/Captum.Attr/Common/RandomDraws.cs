using TorchSharp;
using static TorchSharp.torch;

namespace Captum.Attr;

/// <summary>
/// The random source of every random method (GradientShap, LayerGradientShap, NeuronGradientShap, NoiseTunnel,
/// ShapleyValueSampling, FeaturePermutation, Lime, KernelShap, Infidelity, SensitivityMax), resolved from the options'
/// <c>Seed</c> and <c>Generator</c> with one meaning everywhere: a seed draws from a private CPU generator seeded with
/// it (the same seed gives the same numbers on every call and device); a generator is the caller's and every draw
/// advances it; neither draws from TorchSharp's default CPU generator (which <c>torch.manual_seed</c> controls, as
/// Captum draws from PyTorch's global one); both are refused. Values are drawn on the generator's device (the CPU
/// unless the caller's generator lives elsewhere) and then moved to the inputs' device, so a seed gives the same
/// numbers on every device.
/// </summary>
internal sealed class RandomDraws : IDisposable
{
    private readonly Generator? generator;
    private readonly bool owned;
    private Generator? defaultGenerator;

    private RandomDraws(Generator? generator, bool owned)
    {
        this.generator = generator;
        this.owned = owned;
    }

    /// <summary>Draws from a generator seeded with <paramref name="seed"/>, from <paramref name="generator"/>, or from the default one.</summary>
    /// <exception cref="ArgumentException">Both a seed and a generator were given (ParamName <c>Seed</c>).</exception>
    public static RandomDraws Create(long? seed, Generator? generator)
    {
        if (seed is not null && generator is not null)
        {
            throw new ArgumentException("Seed and Generator were both given; give one of them (or neither, for TorchSharp's default generator).", "Seed");
        }

        if (generator is not null && generator.Handle == IntPtr.Zero)
        {
            throw new ArgumentException("Generator has been disposed.", "Generator");
        }

        return seed is { } s
            ? new RandomDraws(new Generator(unchecked((ulong)s), torch.CPU), owned: true)
            : new RandomDraws(generator, owned: false);
    }

    /// <summary>
    /// The generator the draws come from, for functions the caller supplies (perturbation functions): the private
    /// seeded one, the caller's, or TorchSharp's default CPU generator. Draw on <see cref="Device"/>.
    /// </summary>
    public Generator Generator => generator ?? (defaultGenerator ??= torch.Generator.Default);

    /// <summary>The device draws are made on: the generator's.</summary>
    public Device Device => generator?.device ?? torch.CPU;

    /// <summary>Gaussian noise with mean 0 and standard deviation <paramref name="stdev"/>.</summary>
    public Tensor Normal(long[] shape, double stdev, ScalarType dtype, Device device) =>
        (torch.randn(shape, dtype, Device, generator: generator) * stdev).to(device);

    /// <summary><paramref name="count"/> values uniform in [0, 1).</summary>
    public Tensor Uniform(long count, ScalarType dtype, Device device) =>
        torch.rand([count], dtype, Device, generator: generator).to(device);

    /// <summary><paramref name="count"/> indices uniform in [0, <paramref name="high"/>).</summary>
    public Tensor Indices(long count, long high, Device device) =>
        torch.randint(high, [count], ScalarType.Int64, Device, generator: generator).to(device);

    /// <summary>A uniformly random permutation of 0 .. <paramref name="count"/> - 1, as int64 values on the CPU (Python: <c>torch.randperm</c>).</summary>
    public long[] Permutation(long count)
    {
        using var permutation = torch.randperm(count, ScalarType.Int64, Device, generator: generator);
        using var cpu = permutation.cpu();
        return cpu.data<long>().ToArray();
    }

    /// <summary>Frees the private generator, and the handle on the default generator if one was taken (not the generator itself).</summary>
    public void Dispose()
    {
        if (owned)
        {
            generator?.Dispose();
        }

        defaultGenerator?.Dispose();
    }
}
