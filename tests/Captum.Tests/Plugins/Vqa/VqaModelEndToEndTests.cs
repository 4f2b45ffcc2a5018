using System.Text.Json;
using Captum.Explain;
using Captum.Plugins.Vqa;
using Captum.Tests.Checkpoints;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Captum.Tests.Plugins.Vqa;

/// <summary>
/// The tutorial's whole flow on shared/checkpoints/e2e, against what PyTorch and Captum 0.8.0 gave: the answer,
/// its probability, the logits, the per-token attributions and the text and image contributions.
/// </summary>
public sealed class VqaModelEndToEndTests
{
    public static TheoryData<string> Methods => ["layer-ig", "interpretable-embedding"];

    [Theory]
    [MemberData(nameof(Methods))]
    public void Explain_E2eCheckpoint_MatchesCaptum(string method)
    {
        using var scope = torch.NewDisposeScope();
        using var expected = JsonDocument.Parse(File.ReadAllText(CheckpointFiles.PathOf("e2e/expected.json")));
        var root = expected.RootElement;
        using var model = VqaModel.Load(
            CheckpointFiles.PathOf("e2e/vqa.pth"),
            CheckpointFiles.PathOf("e2e/resnet.pth"),
            new VqaModelOptions { ImageSize = root.GetProperty("imageSize").GetInt32(), CentralFraction = root.GetProperty("centralFraction").GetDouble() });
        var steps = root.GetProperty("steps").GetInt32();

        foreach (var result in root.GetProperty("results").EnumerateArray())
        {
            var question = result.GetProperty("question").GetString()!;
            using var explanation = model.Explain(CheckpointFiles.PathOf("e2e/image.png"), question, ExplanationStrategies.BuiltIn.Get(method), new ExplanationOptions { Steps = steps });

            Assert.Equal(result.GetProperty("answer").GetString(), explanation.Label);
            Assert.Equal(result.GetProperty("answerIndex").GetInt64(), explanation.LabelIndex);
            Near(result.GetProperty("probability").GetDouble(), explanation.Probability, question + " probability");
            var logits = result.GetProperty("logits").EnumerateArray().Select(l => l.GetDouble()).ToArray();
            Assert.Equal(logits.Length, explanation.Logits.Count);
            for (var i = 0; i < logits.Length; i++)
            {
                Near(logits[i], explanation.Logits[i], $"{question} logit {i}");
            }

            var text = explanation.Inputs[1];
            Assert.Equal(result.GetProperty("tokens").EnumerateArray().Select(t => t.GetString()), ((Captum.Plugins.TextDisplay)text.Display).Tokens);
            var tokens = result.GetProperty("tokenAttributions").EnumerateArray().Select(t => t.GetDouble()).ToArray();
            Assert.Equal(tokens.Length, text.TokenAttributions!.Count);
            for (var i = 0; i < tokens.Length; i++)
            {
                Near(tokens[i], text.TokenAttributions[i], $"{question} token {i}");
            }

            Near(result.GetProperty("textContribution").GetDouble(), text.Contribution, question + " text contribution");
            Near(result.GetProperty("imageContribution").GetDouble(), explanation.Inputs[0].Contribution, question + " image contribution");
            Assert.Equal([3L, 64, 64], explanation.Inputs[0].Attribution.shape);
            var shown = ((Captum.Plugins.ImageDisplay)explanation.Inputs[0].Display).Image;
            Assert.False(shown.IsInvalid);
            Assert.Equal([3L, 64, 64], shown.shape);
        }
    }

    private static void Near(double expected, double actual, string what) =>
        Assert.True(Math.Abs(actual - expected) <= 1e-4 * Math.Abs(expected), $"{what}: {actual:G9}, Captum {expected:G9} (|diff| {Math.Abs(actual - expected):G3})");
}
