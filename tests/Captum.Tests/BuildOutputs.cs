using Captum.TestData;

namespace Captum.Tests;

/// <summary>The build output folders of the solution's other projects, in the configuration the tests run in.</summary>
internal static class BuildOutputs
{
    /// <summary>The configuration the tests were built in (Debug or Release).</summary>
    public static string Configuration { get; } =
        new DirectoryInfo(AppContext.BaseDirectory).Parent?.Name ?? throw new InvalidOperationException("unexpected test output layout");

    /// <summary>The output folder of the project in <paramref name="projectDirectory"/> (relative to the repository root).</summary>
    public static string Of(string projectDirectory)
    {
        var folder = Path.Combine(SharedData.RepositoryRoot(), projectDirectory, "bin", Configuration, "net10.0");
        return Directory.Exists(folder)
            ? folder
            : throw new DirectoryNotFoundException($"{folder} does not exist: build the solution first (scripts/test.sh does).");
    }

    /// <summary>Copies a folder (recursively) to <paramref name="target"/>.</summary>
    public static void Copy(string source, string target)
    {
        Directory.CreateDirectory(target);
        foreach (var file in Directory.EnumerateFiles(source, "*", SearchOption.AllDirectories))
        {
            var destination = Path.Combine(target, Path.GetRelativePath(source, file));
            Directory.CreateDirectory(Path.GetDirectoryName(destination)!);
            File.Copy(file, destination, overwrite: true);
        }
    }
}

/// <summary>A temporary folder deleted on dispose.</summary>
internal sealed class TempFolder : IDisposable
{
    public TempFolder()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "captum-test-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
            // Best effort: a loaded plugin assembly may still be mapped.
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
