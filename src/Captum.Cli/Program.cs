using Captum.Cli;
using Captum.Runtime;

// An application's choice, not a library's: freed tensors go back to the system (see NativeAllocator).
NativeAllocator.ReturnLargeBlocks();
return CaptumCli.Run(args, Console.Out, Console.Error);
