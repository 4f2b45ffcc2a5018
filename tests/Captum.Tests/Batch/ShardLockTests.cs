using Captum.Batch;
using Xunit;

namespace Captum.Tests.Batch;

/// <summary>A shard's lock: only another handle holding it means another worker; any other failure to open it says what it is.</summary>
public sealed class ShardLockTests
{
    [Theory]
    [InlineData("a symbolic link to itself")]
    [InlineData("a symbolic link into a missing folder")]
    [InlineData("a folder")]
    public void Acquire_LockFileThatCannotBeOpenedForAnotherReason_ThrowsIOExceptionNamingTheFileNotAnotherWorker(string lockFile)
    {
        using var temp = new TempFolder();
        var shard = new ShardAssignment(1, 2);
        var path = Path.Combine(temp.Path, ShardLock.FileName);
        switch (lockFile)
        {
            case "a folder":
                Directory.CreateDirectory(path);
                break;
            case "a symbolic link to itself":
                File.CreateSymbolicLink(path, path);
                break;
            default:
                File.CreateSymbolicLink(path, Path.Combine(temp.Path, "missing", ShardLock.FileName));
                break;
        }

        // Each fails for root too (no permission is involved), so the test means the same under any user.
        var ex = Assert.Throws<IOException>(() => ShardLock.Acquire(temp.Path, shard));

        Assert.StartsWith($"shard 1 of 2: its lock file {path} cannot be opened (", ex.Message, StringComparison.Ordinal);
        Assert.Contains("no other program holds it", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("already being worked on", ex.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(temp.Path, ShardLock.HolderFileName)));
    }

    [Fact]
    public void Acquire_LockHeldByAnotherHandle_IsAnotherWorkerAndFreeAgainOnceReleased()
    {
        using var temp = new TempFolder();
        var shard = new ShardAssignment(0, 1);

        using (ShardLock.Acquire(temp.Path, shard))
        {
            var ex = Assert.Throws<InvalidOperationException>(() => ShardLock.Acquire(temp.Path, shard));
            Assert.StartsWith("shard 0 of 1 is already being worked on by another worker (", ex.Message, StringComparison.Ordinal);
        }

        using var again = ShardLock.Acquire(temp.Path, shard);
    }
}
