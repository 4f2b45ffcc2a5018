using Xunit;

// Many tests build models and inputs from TorchSharp's global random generator after torch.manual_seed, as
// Captum's users do; tests running in parallel would interleave its draws. The suite runs in order instead.
[assembly: CollectionBehavior(DisableTestParallelization = true)]

namespace Captum.Tests
{
    internal static class TestAssemblyStart
    {
        // Tests compute references with TorchSharp directly, some before any CaptumSharp entry point has run the
        // kernel check that switches off wrong oneDNN kernels on this CPU (TorchRuntime.EnsureAvailable).
        [System.Runtime.CompilerServices.ModuleInitializer]
        internal static void CheckKernels() => Captum.Runtime.TorchRuntime.EnsureAvailable();
    }
}
