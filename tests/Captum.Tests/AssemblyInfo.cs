using Xunit;

// Many tests build models and inputs from TorchSharp's global random generator after torch.manual_seed, as
// Captum's users do; tests running in parallel would interleave its draws. The suite runs in order instead.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
