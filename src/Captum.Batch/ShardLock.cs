using System.Globalization;

namespace Captum.Batch;

/// <summary>
/// The claim of one worker on a shard: an exclusive lock on the shard's <c>worker.lock</c> held while the worker
/// runs. On Linux and macOS .NET takes it with <c>flock</c>, which the kernel releases when the process dies (also
/// by kill -9), so a restarted worker gets the shard back and a second live worker is refused.
/// </summary>
internal sealed class ShardLock : IDisposable
{
    public const string FileName = "worker.lock";
    public const string HolderFileName = "worker.json";

    private readonly FileLock held;

    private ShardLock(FileLock held) => this.held = held;

    /// <summary>Claims <paramref name="shardFolder"/> for this process.</summary>
    /// <exception cref="InvalidOperationException">Another worker holds it; the message says which, as far as it is known.</exception>
    /// <exception cref="IOException">The lock file cannot be opened for another reason (it is a folder, a symbolic link loop, on a failing disk); the message names the shard and the file.</exception>
    public static ShardLock Acquire(string shardFolder, ShardAssignment shard)
    {
        var path = Path.Combine(shardFolder, FileName);
        var held = FileLock.TryAcquire(path, shard.ToString()) ?? throw new InvalidOperationException(
            $"{shard} is already being worked on by another worker ({Holder(shardFolder)}; lock {path}): two workers must not claim the same shard.");
        try
        {
            AtomicFile.WriteAllText(
                Path.Combine(shardFolder, HolderFileName),
                string.Create(CultureInfo.InvariantCulture, $"{{\"host\": \"{Environment.MachineName}\", \"pid\": {Environment.ProcessId}, \"since\": \"{DateTime.UtcNow:O}\"}}"));
        }
        catch
        {
            held.Dispose();
            throw;
        }

        return new ShardLock(held);
    }

    public void Dispose() => held.Dispose();

    private static string Holder(string shardFolder) =>
        File.Exists(Path.Combine(shardFolder, HolderFileName)) ? File.ReadAllText(Path.Combine(shardFolder, HolderFileName)).Trim() : "unknown";
}
