using Captum.Cli;

namespace Captum.Tests.Plugins.Vqa.Commands;

/// <summary>The captum command run in-process with the plugins bundled beside it (the VQA plugin among them).</summary>
internal static class BundledCli
{
    public static string Plugins => Path.Combine(BuildOutputs.Of(Path.Combine("src", "Captum.Cli")), "plugins");

    public static (int Code, string Output, string Error) Run(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = CaptumCli.Run(["--plugins", Plugins, .. args], output, error);
        return (code, output.ToString(), error.ToString());
    }
}
