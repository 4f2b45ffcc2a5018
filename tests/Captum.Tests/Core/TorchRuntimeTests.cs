using Captum.Runtime;
using TorchSharp;
using Xunit;

namespace Captum.Tests.Core;

public sealed class TorchRuntimeTests
{
    [Fact]
    public void Explain_MissingGlibcxx_NamesTheRuntimeAndTheFix()
    {
        var loaderError = new DllNotFoundException(
            "Unable to load shared library 'LibTorchSharp': /usr/lib/x86_64-linux-gnu/libstdc++.so.6: version `GLIBCXX_3.4.32' not found (required by libLibTorchSharp.so)");

        var ex = TorchRuntime.Explain(new TypeInitializationException("TorchSharp.torch", loaderError));

        Assert.Contains("GLIBCXX_3.4.32", ex.Message, StringComparison.Ordinal);
        Assert.Contains("scripts/setup.sh", ex.Message, StringComparison.Ordinal);
        Assert.Contains("libstdc++", ex.Message, StringComparison.Ordinal);
        Assert.Same(loaderError, ex.InnerException!.InnerException);
    }

    [Fact]
    public void Explain_OtherLoaderFailure_NamesTheBackendPackages()
    {
        var ex = TorchRuntime.Explain(new DllNotFoundException("libtorch_cpu.so: cannot open shared object file"));

        Assert.Contains("TorchSharp-cpu", ex.Message, StringComparison.Ordinal);
        Assert.Contains("cannot open shared object file", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void EnsureAvailable_OnThisMachine_DoesNotThrow() => TorchRuntime.EnsureAvailable();

    [Fact]
    public void WithThreads_WorkThrows_RunsWithTheCountAndRestoresThePreviousOne()
    {
        var previous = torch.get_num_threads();
        var requested = previous == 1 ? 2 : 1;
        var seen = 0;

        Assert.Throws<InvalidOperationException>(() => TorchRuntime.WithThreads<int>(requested, () =>
        {
            seen = torch.get_num_threads();
            throw new InvalidOperationException("work failed");
        }));

        Assert.Equal(requested, seen);
        Assert.Equal(previous, torch.get_num_threads());
    }

    [Fact]
    public void WithThreads_NoCount_RunsWithTheCountAsItIs()
    {
        var previous = torch.get_num_threads();

        var seen = TorchRuntime.WithThreads((int?)null, torch.get_num_threads);

        Assert.Equal(previous, seen);
        Assert.Equal(previous, torch.get_num_threads());
    }

    [Fact]
    public void WithThreads_ZeroThreads_ThrowsNamingThreads() =>
        Assert.Equal("threads", Assert.Throws<ArgumentOutOfRangeException>(() => TorchRuntime.WithThreads(0, () => 1)).ParamName);
}
