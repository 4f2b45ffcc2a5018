using Captum.Golden;
using Xunit;

namespace Captum.Tests.Golden;

/// <summary>Theory data over every discovered golden case file.</summary>
internal static class GoldenData
{
    public static TheoryData<string> FileNames()
    {
        var data = new TheoryData<string>();
        foreach (var file in GoldenCase.DiscoverFiles())
        {
            data.Add(Path.GetFileName(file));
        }

        return data;
    }
}
