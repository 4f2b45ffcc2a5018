namespace Captum.Plugins.TextGeneration.Stories;

/// <summary>Token sequences of different lengths padded on the right into one [rows, longest] batch; causal attention keeps the padding out of every real position.</summary>
internal sealed class StoryBatch : IDisposable
{
    private StoryBatch(Tensor ids, Tensor last)
    {
        Ids = ids;
        Last = last;
    }

    /// <summary>The padded ids, [rows, longest].</summary>
    public Tensor Ids { get; }

    /// <summary>Each row's last real position, [rows].</summary>
    public Tensor Last { get; }

    /// <exception cref="ArgumentException">A sequence is empty or longer than <paramref name="positions"/>; the message names it.</exception>
    public static StoryBatch Create(IReadOnlyList<IReadOnlyList<long>> sequences, long pad, long positions)
    {
        var longest = sequences.Max(s => s.Count);
        if (sequences.Any(s => s.Count == 0) || longest > positions)
        {
            throw new ArgumentException($"sequences: every one needs 1 to {positions} tokens (the model's positions); the longest has {longest}.", nameof(sequences));
        }

        var ids = new long[sequences.Count * longest];
        Array.Fill(ids, pad);
        for (var r = 0; r < sequences.Count; r++)
        {
            for (var t = 0; t < sequences[r].Count; t++)
            {
                ids[(r * longest) + t] = sequences[r][t];
            }
        }

        return new StoryBatch(
            torch.tensor(ids, [sequences.Count, longest]),
            torch.tensor(sequences.Select(s => (long)s.Count - 1).ToArray()));
    }

    public void Dispose()
    {
        Ids.Dispose();
        Last.Dispose();
    }
}
