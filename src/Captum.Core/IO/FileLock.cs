using System.Diagnostics;
using System.Globalization;

namespace Captum;

/// <summary>
/// An exclusive lock on a lock file (e.g. <c>report.html.lock</c> beside <c>report.html</c>), taken by opening it with
/// <see cref="FileShare.None"/> and held until disposed. On Linux and macOS .NET takes it with <c>flock</c>, which the
/// kernel releases when the process ends, also by kill -9: a crash leaves at most an empty lock file that holds no
/// lock, and nothing needs deleting. On Windows the open itself is exclusive. Other processes, and other threads of
/// this one, that take the same lock wait for it. The lock file stays: deleting it while another waiter has it open
/// would let a third process lock a new file of the same name at the same time.
/// </summary>
internal sealed class FileLock : IDisposable
{
    private static readonly TimeSpan LongestPause = TimeSpan.FromMilliseconds(100);

    private readonly FileStream stream;

    private FileLock(FileStream stream) => this.stream = stream;

    /// <summary>Takes the lock on <paramref name="lockPath"/> (creating the file when it is not there), waiting at most <paramref name="wait"/> while another holds it.</summary>
    /// <param name="lockPath">The lock file.</param>
    /// <param name="wait">How long to wait for another holder; <see cref="TimeSpan.Zero"/> tries once.</param>
    /// <param name="guarded">The file the lock guards, named in the errors.</param>
    /// <exception cref="IOException">
    /// Another holder kept the lock for all of <paramref name="wait"/>, or the lock file cannot be opened at all (see
    /// <see cref="TryAcquire"/>); the message names <paramref name="guarded"/> and <paramref name="lockPath"/>.
    /// </exception>
    public static FileLock Acquire(string lockPath, TimeSpan wait, string guarded)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(wait, TimeSpan.Zero);
        var start = Stopwatch.GetTimestamp();
        var pause = TimeSpan.FromMilliseconds(2);
        while (true)
        {
            if (TryAcquire(lockPath, guarded) is { } taken)
            {
                return taken;
            }

            var waited = Stopwatch.GetElapsedTime(start);
            if (waited >= wait)
            {
                throw new IOException(string.Create(
                    CultureInfo.InvariantCulture,
                    $"{guarded} is being changed by another program or thread: its lock {lockPath} was still held after {waited.TotalSeconds:0.#} s; try again when that one is done (a lock file left by a program that ended holds no lock and needs no deleting)."));
            }

            // Random pauses, so that many waiters do not retry in step; never past the deadline.
            var sleep = TimeSpan.FromTicks(Math.Min(Random.Shared.NextInt64(pause.Ticks / 2, pause.Ticks + 1), (wait - waited).Ticks));
            Thread.Sleep(sleep);
            pause = TimeSpan.FromTicks(Math.Min(pause.Ticks * 2, LongestPause.Ticks));
        }
    }

    /// <summary>Takes the lock on <paramref name="lockPath"/> (creating the file when it is not there) if no other handle holds it.</summary>
    /// <param name="lockPath">The lock file.</param>
    /// <param name="guarded">What the lock guards (a file, a shard), named in the error.</param>
    /// <returns>The lock, or null when another program or thread holds it.</returns>
    /// <exception cref="IOException">
    /// The lock file cannot be opened for another reason, which no waiting clears: it is a folder, a symbolic link loop,
    /// another user's file this one may not write, on a failing disk. The message names <paramref name="guarded"/> and
    /// <paramref name="lockPath"/> and says no other holder is the cause.
    /// </exception>
    public static FileLock? TryAcquire(string lockPath, string guarded)
    {
        ArgumentException.ThrowIfNullOrEmpty(lockPath);
        ArgumentNullException.ThrowIfNull(guarded);
        try
        {
            return new FileLock(new FileStream(lockPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, bufferSize: 1));
        }
        catch (IOException ex) when (IsHeldByAnother(ex))
        {
            return null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new IOException(
                $"{guarded}: its lock file {lockPath} cannot be opened ({ErrorMessages.OneLine(ex)}); no other program holds it: fix or remove {lockPath} and try again.", ex);
        }
    }

    /// <summary>Releases the lock (the lock file stays).</summary>
    public void Dispose() => stream.Dispose();

    /// <summary>
    /// Whether opening a file with <see cref="FileShare.None"/> failed because another handle holds its lock: flock's
    /// EWOULDBLOCK on Linux (11) and macOS (35), whose errno .NET gives as the HResult; ERROR_SHARING_VIOLATION (32) or
    /// ERROR_LOCK_VIOLATION (33) on Windows. Any other failure (a full disk, a missing folder, a symbolic link loop) is
    /// no reason to wait, and no sign of another holder.
    /// </summary>
    private static bool IsHeldByAnother(IOException ex) =>
        OperatingSystem.IsWindows() ? (ex.HResult & 0xFFFF) is 32 or 33
        : ex.HResult == (OperatingSystem.IsLinux() ? 11 : 35);
}
