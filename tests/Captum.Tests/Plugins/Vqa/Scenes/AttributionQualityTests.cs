using System.Text.Json;
using Captum.Cli;
using Captum.Plugins.Vqa.Scenes;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Captum.Tests.Plugins.Vqa.Scenes;

/// <summary>The attribution quality figures: their arithmetic, and a small run of vqa-eval against random weights.</summary>
public sealed class AttributionQualityTests
{
    [Fact]
    public void ImageScores_PeakOnTheMask_PointsAndGivesTheMassShare()
    {
        using var scope = torch.NewDisposeScope();
        var attribution = torch.zeros(3, 8, 8);
        attribution[0, 2, 2] = torch.tensor(3f);   // positive, on the mask
        attribution[1, 2, 3] = torch.tensor(3f);   // positive, on the mask
        attribution[2, 3, 2] = torch.tensor(3f);   // positive, on the mask
        attribution[2, 5, 5] = torch.tensor(-5f);  // the largest magnitude alone, but negative and off the mask
        attribution[0, 0, 7] = torch.tensor(2f);   // positive, off the mask, in a corner
        var mask = new bool[64];
        mask[(2 * 8) + 2] = mask[(2 * 8) + 3] = mask[(3 * 8) + 2] = mask[(3 * 8) + 3] = true;

        var (pointed, mass, area) = AttributionQuality.ImageScores(attribution, mask, window: 3);

        // Averaged over 3 x 3 windows the three pixels on the mask (9 / 9, first around (2, 2)) beat the lone -5 (5 / 9) and the corner (2 / 4).
        Assert.True(pointed);
        Assert.Equal(9.0 / 11.0, mass, 12);
        Assert.Equal(4.0 / 64.0, area, 12);

        var (unsmoothed, _, _) = AttributionQuality.ImageScores(attribution, mask, window: 1);
        Assert.False(unsmoothed);
    }

    [Fact]
    public void ImageScores_MaskOfAnotherSize_ThrowsArgumentExceptionNamingIt()
    {
        using var scope = torch.NewDisposeScope();

        var ex = Assert.Throws<ArgumentException>(() => AttributionQuality.ImageScores(torch.ones(3, 8, 8), new bool[10], 3));

        Assert.Equal("mask", ex.ParamName);
    }

    [Fact]
    public void Figures_OfScores_AreSharesOverTheRightQuestions()
    {
        QuestionScore[] scores =
        [
            new(QuestionKind.Color, true, true, true, 0.8, 0.1, 0.5, true, "circle", 0.2, 0.01),
            new(QuestionKind.Count, true, true, false, 0.4, 0.2, 1.0, false, "many", 0.2, -0.03),
            new(QuestionKind.Count, true, false, false, 0, 0, 0, true, "squares", 0.2, 0.02),
        ];

        var figures = AttributionFigures.Of(scores);

        Assert.Equal(3, figures.Questions);
        Assert.Equal(2, figures.PointingQuestions);
        Assert.Equal(0.5, figures.PointingGame, 12);
        Assert.Equal(0.6, figures.MassOnObjects, 12);
        Assert.Equal(0.15, figures.AreaOfObjects, 12);
        Assert.Equal(0.75, figures.ObjectShare, 12);
        Assert.Equal(2.0 / 3.0, figures.WordTest, 12);
        Assert.Equal(0.02, figures.DeltaMedian, 12);
        Assert.Equal(0.03, figures.DeltaMax, 12);
        Assert.Equal(["circle", "many", "squares"], figures.TopWords.Keys);
        Assert.All(figures.TopWords.Values, share => Assert.Equal(1.0 / 3.0, share, 12));
    }
}

/// <summary>vqa-eval on a few scenes: the trained model's attributions point at the evidence, random weights' do not.</summary>
/// <remarks>Serial: the randomised model is seeded through TorchSharp's global generator.</remarks>
[Collection(Captum.Tests.Attr.SerialCollection.Name)]
public sealed class VqaEvalCommandTests
{
    [Fact]
    public void VqaEval_FiftyScenes_TrainedPointingGameBeatsRandomWeights()
    {
        using var folder = new TempFolder();
        var json = Path.Combine(folder.Path, "quality.json");
        using var output = new StringWriter();
        using var error = new StringWriter();

        var code = CaptumCli.Run(
            ["--plugins", Path.Combine(BuildOutputs.Of(Path.Combine("src", "Captum.Cli")), "plugins"), "vqa-eval", "--scenes", "50", "--seed", "4242", "--steps", "16", "--json", json],
            output,
            error);

        Assert.True(code == 0, error.ToString());
        using var document = JsonDocument.Parse(File.ReadAllText(json));
        var root = document.RootElement;
        foreach (var key in new[] { "accuracy", "pointingGame", "randomPointingGame", "massOnObjects", "areaOfObjects", "wordTest", "randomWordTest" })
        {
            Assert.InRange(root.GetProperty(key).GetDouble(), 0.0, 1.0);
        }

        Assert.True(root.GetProperty("deltaMedian").GetDouble() >= 0);
        Assert.True(root.GetProperty("accuracy").GetDouble() >= 0.9, $"accuracy {root.GetProperty("accuracy").GetDouble()}");
        var trained = root.GetProperty("pointingGame").GetDouble();
        var random = root.GetProperty("randomPointingGame").GetDouble();
        Assert.True(trained > random, $"pointing game {trained:0.000}, random weights {random:0.000}");
        Assert.True(root.GetProperty("massOnObjects").GetDouble() > root.GetProperty("areaOfObjects").GetDouble());
        Assert.Contains("pointing game", output.ToString(), StringComparison.Ordinal);
    }
}
