using Captum.Cli;
using Captum.Runtime;

// Opt-in, an application's choice and not a library's: freed tensors go back to the system at a time cost
// (NativeAllocator; measured in docs/performance.md).
if (Environment.GetEnvironmentVariable("CAPTUM_RETURN_LARGE_BLOCKS") == "1")
{
    NativeAllocator.ReturnLargeBlocks();
}

return CaptumCli.Run(args, Console.Out, Console.Error);
