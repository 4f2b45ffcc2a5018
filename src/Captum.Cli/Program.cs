using Captum.Cli;

return CaptumCli.Run(args, Console.Out, Console.Error);
