using Captum.Golden;
using Xunit;

namespace Captum.Tests.Golden;

/// <summary>Theory data over every discovered golden case file.</summary>
internal static class GoldenData
{
    /// <summary>The attribution cases' file names (in <see cref="GoldenCase.GoldenDirectory"/>).</summary>
    public static TheoryData<string> FileNames() => Names(GoldenCase.GoldenDirectory());

    /// <summary>The other modules' case file names (in <see cref="GoldenCase.ModulesDirectory"/>).</summary>
    public static TheoryData<string> ModuleFileNames() => Names(GoldenCase.ModulesDirectory());

    private static TheoryData<string> Names(string directory)
    {
        var data = new TheoryData<string>();
        foreach (var file in GoldenCase.DiscoverFiles(directory))
        {
            data.Add(Path.GetFileName(file));
        }

        return data;
    }
}
