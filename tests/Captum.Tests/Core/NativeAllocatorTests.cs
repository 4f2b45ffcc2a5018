using Captum.Runtime;
using Xunit;

namespace Captum.Tests.Core;

/// <summary>The allocator setting applications make at start (docs/performance.md, Memory).</summary>
[Collection(Captum.Tests.Attr.SerialCollection.Name)]
public sealed class NativeAllocatorTests
{
    [Fact]
    public void ReturnLargeBlocks_OnLinuxGlibc_IsAcceptedByTheAllocator()
    {
        // mallopt answers 1 only when glibc took the setting. Its effect on resident memory is measured by the
        // benchmark from a fresh process (docs/performance.md): inside this long-running test process, blocks freed
        // earlier sit in the heap's bins and are reused whatever the threshold, so resident memory proves nothing here.
        Assert.True(OperatingSystem.IsLinux(), "the suite runs on Linux (glibc)");
        Assert.True(NativeAllocator.ReturnLargeBlocks());
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
}
