using Captum.Runtime;
using TorchSharp;
using Xunit;

namespace Captum.Tests.Core;

/// <summary>The allocator setting applications make at start (docs/performance.md, Memory).</summary>
[Collection(Captum.Tests.Attr.SerialCollection.Name)]
public sealed class NativeAllocatorTests
{
    [Fact]
    public void ReturnLargeBlocks_OnLinux_FreedTensorsOfAMiBOrMoreLeaveResidentMemory()
    {
        Assert.True(OperatingSystem.IsLinux(), "the suite runs on Linux (glibc)");
        Assert.True(NativeAllocator.ReturnLargeBlocks());

        // Without the setting, freeing the 24 MiB tensor raises glibc's threshold above 8 MiB, the 8 MiB tensor then
        // comes from the heap and its pages stay resident after it is freed.
        torch.ones(6L << 20).Dispose();
        var before = Resident();
        var tensor = torch.ones(2L << 20);
        var held = Resident();
        tensor.Dispose();
        var after = Resident();

        Assert.True(held - before > 6L << 20, $"resident {before >> 20} MiB before, {held >> 20} MiB holding 8 MiB");
        Assert.True(held - after > 6L << 20, $"resident {held >> 20} MiB holding the tensor, {after >> 20} MiB after freeing it");
    }

    [Theory]
    [InlineData(4095L)]
    [InlineData((32L << 20) + 1)]
    public void ReturnLargeBlocks_ThresholdOutOfRange_RefusedNamingIt(long threshold)
    {
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => NativeAllocator.ReturnLargeBlocks(threshold));

        Assert.Equal("thresholdBytes", ex.ParamName);
    }

    [Fact]
    public void ReturnLargeBlocks_UserSetMallocVariable_LeavesTheirChoice()
    {
        Environment.SetEnvironmentVariable("MALLOC_MMAP_THRESHOLD_", "65536");
        try
        {
            Assert.False(NativeAllocator.ReturnLargeBlocks());
        }
        finally
        {
            Environment.SetEnvironmentVariable("MALLOC_MMAP_THRESHOLD_", null);
        }
    }

    private static long Resident()
    {
        var line = File.ReadLines("/proc/self/status").First(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
        return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture) * 1024;
    }
}
