using System.Globalization;
using System.Xml.Linq;
using Captum.Attr;
using Captum.Explain.Reports;
using TorchSharp;
using Xunit;

namespace Captum.Tests.Explain;

public sealed class LLMAttributionPlotsTests
{
    private static List<XElement> ByClass(string svg, string cls) =>
        XDocument.Parse(svg).Descendants().Where(e => ((string?)e.Attribute("class"))?.Split(' ').Contains(cls) == true).ToList();

    [Fact]
    public void PlotTokenAttribution_ResultWithStepScores_CellsFromTheTensorAndTwoScoreColumns()
    {
        using var scope = torch.NewDisposeScope();
        using var result = new LLMAttributionResult(
            torch.tensor(new[] { 0.75f, -0.5f }),
            torch.tensor(new[] { 0.5f, -0.25f, 0.25f, -0.25f }).reshape(2, 2),
            ["mary", "<pad>"],
            ["gar", "den"],
            [7, 8],
            [new LLMStepScore(0.5, 1.25), new LLMStepScore(0.9, 0.1)]);

        var svg = result.PlotTokenAttribution().ToSvg();

        var values = ByClass(svg, "captum-cell").Select(c => float.Parse((string)c.Attribute("data-value")!, CultureInfo.InvariantCulture));
        Assert.Equal([0.5f, -0.25f, 0.25f, -0.25f], values);
        Assert.Equal(["gar", "den"], ByClass(svg, "captum-output-token").Select(e => e.Value));
        Assert.Equal(["mary", "<pad>"], ByClass(svg, "captum-input-token").Select(e => e.Value));
        Assert.Equal(["0.5000", "0.9000", "1.2500", "0.1000"], ByClass(svg, "captum-score-value").Select(e => e.Value));

        var bars = ByClass(result.PlotSequenceAttribution().ToSvg(), "captum-bar");
        Assert.Equal(["captum-bar captum-bar-positive", "captum-bar captum-bar-negative"], bars.Select(b => (string)b.Attribute("class")!));
    }

    [Fact]
    public void PlotTokenAttribution_ContrastiveResult_LabelsRowsAnswerSlashFoil()
    {
        using var scope = torch.NewDisposeScope();
        using var result = new LLMAttributionResult(torch.ones(1), torch.ones(1, 1), ["a"], ["garden"], [9], foilTokens: ["kitchen"], foilTokenIds: [8]);

        Assert.Equal("garden / kitchen", ByClass(result.PlotTokenAttribution().ToSvg(), "captum-output-token").Single().Value);
    }

    [Fact]
    public void PlotSequenceAttribution_ResultWithStepScoresAndNoTokenAttribution_DrawsTheStepScoresUnderTheBars()
    {
        using var scope = torch.NewDisposeScope();
        using var result = new LLMAttributionResult(
            torch.tensor(new[] { 0.75f, -0.5f }), null, ["mary", "<pad>"], ["gar", "den"], [7, 8], [new LLMStepScore(0.5, 1.25), new LLMStepScore(0.9, 0.1)]);

        var svg = result.PlotSequenceAttribution().ToSvg();
        var without = result.PlotSequenceAttribution(stepScores: false).ToSvg();

        Assert.Equal(["p", "H"], ByClass(svg, "captum-score-header").Select(e => e.Value));
        Assert.Equal(["0.5000", "0.9000", "1.2500", "0.1000"], ByClass(svg, "captum-score-value").Select(e => e.Value));
        Assert.Equal(["gar", "den"], ByClass(svg, "captum-output-token").Select(e => e.Value));
        Assert.Equal(2, ByClass(svg, "captum-bar").Count);
        Assert.Empty(ByClass(without, "captum-score-cell"));
        Assert.Equal(2, ByClass(without, "captum-bar").Count);
    }

    [Fact]
    public void PlotTokenAttribution_NoTokenAttribution_ThrowsSayingToUseTheSequencePlot()
    {
        using var scope = torch.NewDisposeScope();
        using var result = new LLMAttributionResult(torch.ones(2), null, ["a", "b"], ["x"], [1]);

        var ex = Assert.Throws<InvalidOperationException>(() => result.PlotTokenAttribution());
        Assert.Contains("PlotSequenceAttribution", ex.Message, StringComparison.Ordinal);
    }
}
