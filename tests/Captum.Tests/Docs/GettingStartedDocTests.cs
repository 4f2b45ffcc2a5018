using System.Text.RegularExpressions;
using Captum.Samples.GettingStarted;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Captum.Tests.Docs;

/// <summary>docs/getting-started.md shows code that exists, compiles and gives Captum's published answer.</summary>
/// <remarks>Serial: the example seeds TorchSharp's global generator, which other tests draw from.</remarks>
[Collection(Captum.Tests.Attr.SerialCollection.Name)]
public sealed class GettingStartedDocTests
{
    [Theory]
    [InlineData("GettingStartedExample.cs")]
    [InlineData("Program.cs")]
    public void GettingStartedDoc_CodeBlock_IsTheSampleThatRuns(string file)
    {
        var root = RepositoryRoot();
        var doc = File.ReadAllText(Path.Combine(root, "docs", "getting-started.md"));
        var match = Regex.Match(doc, $@"<!-- begin: samples/GettingStarted/{Regex.Escape(file)} -->\s*```csharp\n(?<code>.*?)```\s*<!-- end", RegexOptions.Singleline);
        Assert.True(match.Success, $"docs/getting-started.md lost its marked code block of {file}");

        var sample = File.ReadAllText(Path.Combine(root, "samples", "GettingStarted", file));
        Assert.Equal(sample.ReplaceLineEndings("\n"), match.Groups["code"].Value.ReplaceLineEndings("\n"));
    }

    [Fact]
    public void Run_CaptumToyModel_GivesCaptumsPublishedAttributions()
    {
        using var scope = torch.NewDisposeScope();
        using var result = GettingStartedExample.Run();

        // Captum's README prints these for the same model, seed and call.
        var captum = torch.tensor(new float[,] { { -0.5922f, -1.5497f, -1.0067f }, { 0.0000f, -0.2219f, -5.1991f } });
        TensorAssert.AllClose(result.Attribution, captum, 1e-4, 0);
        Assert.True(result.Delta!.abs().max().item<float>() < 1e-5);
    }

    internal static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "CaptumSharp.sln")))
            {
                return dir.FullName;
            }
        }

        throw new DirectoryNotFoundException("CaptumSharp.sln not found above " + AppContext.BaseDirectory);
    }
}
