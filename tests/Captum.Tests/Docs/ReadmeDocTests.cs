using Captum.Attr;
using Captum.Samples.GettingStarted;
using TorchSharp;
using Xunit;

namespace Captum.Tests.Docs;

/// <summary>README.md's first attribution is this test's code, with the README's usings, and it runs.</summary>
public sealed class ReadmeDocTests
{
    [Fact]
    public void Readme_FirstAttribution_CompilesWithItsUsingsAndRuns()
    {
        var output = new StringWriter();
        var console = Console.Out;
        Console.SetOut(output);
        try
        {
            FirstAttribution(new ToyModel(), torch.rand(2, 3));
        }
        finally
        {
            Console.SetOut(console);
        }

        var rows = output.ToString().Trim().Split('\n');
        Assert.Equal(2, rows.Length);
        Assert.StartsWith("[[", rows[0], StringComparison.Ordinal);
        DocExamples.AreTestedCode("../README.md", Path.Combine("Docs", "ReadmeDocTests.cs"), 1);
    }

    private static void FirstAttribution(ToyModel model, torch.Tensor input)
    {
        using var scope = torch.NewDisposeScope();
        var ig = new IntegratedGradients(model);                 // any Module<Tensor, ..., Tensor> or delegate
        using var result = ig.Attribute(input, new IntegratedGradientsOptions
        {
            Baselines = torch.zeros_like(input),
            Target = 0,
            ReturnConvergenceDelta = true,
        });
        Console.WriteLine(result.Attribution.ToString(TensorStringStyle.Numpy));
    }
}
