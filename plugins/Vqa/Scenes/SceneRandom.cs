namespace Captum.Plugins.Vqa.Scenes;

/// <summary>
/// A small deterministic random generator (SplitMix64) for scene generation: the same seed gives the same numbers
/// on every platform and .NET version, which <see cref="Random"/> does not promise.
/// </summary>
public sealed class SceneRandom
{
    private ulong state;

    /// <summary>Creates a generator from a seed.</summary>
    public SceneRandom(ulong seed)
    {
        state = seed;
    }

    /// <summary>The generator of scene <paramref name="index"/> of the stream <paramref name="seed"/>: independent of every other index.</summary>
    public static SceneRandom ForScene(long seed, long index) =>
        new(Mix(Mix(unchecked((ulong)seed)) ^ unchecked((ulong)index * 0xD1B54A32D192ED03UL)));

    /// <summary>The next 64 random bits.</summary>
    public ulong NextUInt64()
    {
        state = unchecked(state + 0x9E3779B97F4A7C15UL);
        return Mix(state);
    }

    /// <summary>A uniform integer in [0, <paramref name="maxExclusive"/>).</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxExclusive"/> is not positive.</exception>
    public int Next(int maxExclusive)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxExclusive);

        // Rejection sampling keeps every value equally likely.
        var bound = (ulong)maxExclusive;
        var limit = ulong.MaxValue - (ulong.MaxValue % bound);
        ulong value;
        do
        {
            value = NextUInt64();
        }
        while (value >= limit);
        return (int)(value % bound);
    }

    /// <summary>A uniform integer in [<paramref name="min"/>, <paramref name="maxInclusive"/>].</summary>
    public int Next(int min, int maxInclusive) => min + Next(maxInclusive - min + 1);

    /// <summary>A uniform double in [0, 1).</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// <summary>A uniformly chosen item.</summary>
    public T Pick<T>(IReadOnlyList<T> items)
    {
        ArgumentNullException.ThrowIfNull(items);
        return items[Next(items.Count)];
    }

    private static ulong Mix(ulong z)
    {
        z = unchecked((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL);
        z = unchecked((z ^ (z >> 27)) * 0x94D049BB133111EBUL);
        return z ^ (z >> 31);
    }
}
