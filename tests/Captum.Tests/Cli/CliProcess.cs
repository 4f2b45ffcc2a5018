using System.Diagnostics;
using Xunit;

namespace Captum.Tests.Cli;

/// <summary>The built captum command run in a process of its own, for what only a process shows (its environment, its natives).</summary>
internal static class CliProcess
{
    /// <summary>The captum.dll of the CLI's build output.</summary>
    public static string BuiltCli => Path.Combine(BuildOutputs.Of(Path.Combine("src", "Captum.Cli")), "captum.dll");

    /// <summary>
    /// Runs <paramref name="cli"/> (a captum.dll) with <paramref name="args"/>, its environment changed by
    /// <paramref name="environment"/> (a null value removes the variable), and returns its exit code and output.
    /// </summary>
    public static (int Code, string Output, string Error) Run(string cli, IReadOnlyDictionary<string, string?> environment, params string[] args)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(cli);
        foreach (var argument in args)
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var (name, value) in environment)
        {
            if (value is null)
            {
                start.Environment.Remove(name);
            }
            else
            {
                start.Environment[name] = value;
            }
        }

        using var process = Process.Start(start)!;
        var error = process.StandardError.ReadToEndAsync();
        var output = process.StandardOutput.ReadToEnd();
        Assert.True(process.WaitForExit(TimeSpan.FromMinutes(2)), "captum did not exit in 2 minutes");
        return (process.ExitCode, output, error.Result);
    }
}
