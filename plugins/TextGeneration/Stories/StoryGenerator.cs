namespace Captum.Plugins.TextGeneration.Stories;

/// <summary>
/// Generates short stories with a question in the style of bAbI's first task (single supporting fact): 2 to 4
/// sentences in which people move to places, then "where is X ?". The supporting fact (X's latest move) is equally
/// likely in every position; some stories move X once before (to another place), so only the latest move counts; the
/// other sentences move other people. Story <c>i</c> of seed <c>s</c> is always the
/// same story, whatever else is generated.
/// </summary>
public static class StoryGenerator
{
    /// <summary>The fewest sentences in a story.</summary>
    public const int MinSentences = 2;

    /// <summary>The most sentences in a story.</summary>
    public const int MaxSentences = 4;

    /// <summary>How often the person asked about moves twice, when the supporting fact is not the first sentence.</summary>
    public const double MovesTwiceShare = 0.35;

    /// <summary>Stories <paramref name="start"/> to <paramref name="start"/> + <paramref name="count"/> - 1 of the stream <paramref name="seed"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="count"/> or <paramref name="start"/> is negative.</exception>
    public static IReadOnlyList<Story> GenerateMany(long seed, int count, long start = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentOutOfRangeException.ThrowIfNegative(start);
        return Enumerable.Range(0, count).Select(i => Generate(seed, start + i)).ToList();
    }

    /// <summary>Story <paramref name="index"/> of the stream <paramref name="seed"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="index"/> is negative.</exception>
    public static Story Generate(long seed, long index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        var random = new Bits(seed, index);
        var count = MinSentences + random.Next(MaxSentences - MinSentences + 1);
        var person = random.Next(StoryWords.People.Count);

        // The supporting fact is anywhere, uniformly: "the last sentence" is no better a guess than any other. Before it,
        // the person may have moved once already (the earlier move is a distractor); after it, only others move.
        var supporting = random.Next(count);
        var mine = new List<int> { supporting };
        if (supporting > 0 && random.Next(1000) < MovesTwiceShare * 1000)
        {
            mine.Add(random.Next(supporting));
        }

        mine.Sort();
        var sentences = new string[count];
        var lastPlace = -1;
        for (var s = 0; s < count; s++)
        {
            int who;
            int place;
            if (mine.Contains(s))
            {
                who = person;

                // A second move goes somewhere else, so that the earlier sentence would give another answer.
                place = lastPlace < 0 ? random.Next(StoryWords.Places.Count) : (lastPlace + 1 + random.Next(StoryWords.Places.Count - 1)) % StoryWords.Places.Count;
                lastPlace = place;
            }
            else
            {
                who = (person + 1 + random.Next(StoryWords.People.Count - 1)) % StoryWords.People.Count;
                place = random.Next(StoryWords.Places.Count);
            }

            sentences[s] = $"{StoryWords.People[who]} {StoryWords.Verbs[random.Next(StoryWords.Verbs.Count)]} to the {StoryWords.Places[place]} .";
        }

        return new Story(seed, index, sentences, StoryWords.People[person], StoryWords.Places[lastPlace], mine[^1]);
    }

    /// <summary>
    /// SplitMix64 seeded from the stream and the index: the same stories on every platform and .NET version, which
    /// <see cref="Random"/> with a seed does not promise.
    /// </summary>
    private sealed class Bits(long seed, long index)
    {
        private ulong state = Mix(Mix(unchecked((ulong)seed)) + unchecked((ulong)index));

        /// <summary>A number in [0, <paramref name="bound"/>) (the modulo bias is below 1e-17 for these bounds).</summary>
        public int Next(int bound)
        {
            state = unchecked(state + 0x9E3779B97F4A7C15UL);
            return (int)(Mix(state) % (ulong)bound);
        }

        private static ulong Mix(ulong z)
        {
            z = unchecked((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL);
            z = unchecked((z ^ (z >> 27)) * 0x94D049BB133111EBUL);
            return z ^ (z >> 31);
        }
    }
}
