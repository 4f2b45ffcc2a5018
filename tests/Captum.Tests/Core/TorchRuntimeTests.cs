using Captum.Runtime;
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
}
