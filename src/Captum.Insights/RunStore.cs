using System.Security.Cryptography;

namespace Captum.Insights;

/// <summary>The last finished runs, by id, oldest dropped first; safe for concurrent use.</summary>
internal sealed class RunStore(int capacity)
{
    private readonly Lock gate = new();
    private readonly Dictionary<string, InsightsRun> runs = new(StringComparer.Ordinal);
    private readonly Queue<string> order = new();

    /// <summary>A new unguessable run id: 32 lowercase hexadecimal digits.</summary>
    public static string NewId() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));

    /// <summary>Whether <paramref name="id"/> has the form of a run id (so nothing else is ever looked up).</summary>
    public static bool IsId(string id) => id.Length == 32 && id.All(c => c is >= '0' and <= '9' or >= 'a' and <= 'f');

    public void Add(InsightsRun run)
    {
        lock (gate)
        {
            runs[run.Id] = run;
            order.Enqueue(run.Id);
            while (order.Count > capacity)
            {
                runs.Remove(order.Dequeue());
            }
        }
    }

    public InsightsRun? Find(string id)
    {
        if (!IsId(id))
        {
            return null;
        }

        lock (gate)
        {
            return runs.GetValueOrDefault(id);
        }
    }
}
