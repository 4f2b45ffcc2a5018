using System.Text.Json;
using Captum.Explain;
using Captum.Plugins;
using Captum.Plugins.Vqa;
using Captum.Plugins.Vqa.Scenes;
using TorchSharp;
using Xunit;

namespace Captum.Tests.Plugins.Vqa.Commands;

/// <summary><c>captum vqa-words</c>, run in-process by the captum command with the plugins bundled beside it.</summary>
public sealed class VqaWordsCommandTests
{
    [Fact]
    public void VqaWords_OneScene_WritesEveryQuestionsRankingsAndTheFigures()
    {
        using var folder = new TempFolder();
        var json = Path.Combine(folder.Path, "words.json");

        // Seed 2 is the stream the shipped model was checked on: the command warns.
        var (code, output, error) = BundledCli.Run("vqa-words", "--scenes", "1", "--seed", "2", "--steps", "4", "--json", json);

        Assert.True(code == 0, error);
        Assert.Contains("not fresh", error, StringComparison.Ordinal);
        Assert.Contains("IG / Shapley", output, StringComparison.Ordinal);
        using var document = JsonDocument.Parse(File.ReadAllText(json));
        var root = document.RootElement;
        Assert.Equal("captum vqa-words --scenes 1 --seed 2 --steps 4", root.GetProperty("command").GetString());
        Assert.Equal(4, root.GetProperty("steps").GetInt32());
        Assert.InRange(root.GetProperty("efficiencyMaxError").GetDouble(), 0, 1e-9);
        var overall = root.GetProperty("overall");
        Assert.Equal(root.GetProperty("correctQuestions").GetInt32(), overall.GetProperty("questions").GetInt32());
        foreach (var method in new[] { "integratedGradients", "integratedGradientsWordsOnly", "shapley", "drop" })
        {
            Assert.InRange(overall.GetProperty("methods").GetProperty(method).GetProperty("keyWordTop").GetDouble(), 0, 1);
        }

        foreach (var pair in new[] { "integratedGradients/shapley", "integratedGradients/drop", "shapley/drop" })
        {
            var figures = overall.GetProperty("pairs").GetProperty(pair);
            Assert.InRange(figures.GetProperty("topAgreement").GetDouble(), 0, 1);
            Assert.InRange(figures.GetProperty("meanSpearman").GetDouble(), -1, 1);
        }

        var scene = new SceneGenerator().Generate(2, 0);
        var items = root.GetProperty("items").EnumerateArray().ToList();
        Assert.Equal(scene.Questions.Select(q => q.Text), items.Select(i => i.GetProperty("question").GetString()));
        Assert.Equal(items.Count, root.GetProperty("questions").GetInt32());

        // One question recomputed from the model: the drops by direct forward passes, the IG values as vqa-eval gets them.
        var item = items[0];
        var question = scene.Questions[0];
        var values = item.GetProperty("values");
        double[] Values(string method) => values.GetProperty(method).EnumerateArray().Select(v => v.GetDouble()).ToArray();
        using var scope = torch.NewDisposeScope();
        using var model = VqaModel.LoadDefault();
        using var image = scene.ToImage();
        var (original, normalized) = model.Transform.Apply(image);
        var prepared = model.Prepare(original, normalized, question.Text);
        var target = model.AnswerIndices[question.Answer];
        var tokens = prepared.Inputs[1];
        var length = (torch.Tensor)prepared.AdditionalForwardArgs[0]!;
        using (torch.no_grad())
        {
            var full = model.Forward.Invoke(normalized, tokens, length)[0, target].item<float>();
            Assert.Equal(full, item.GetProperty("full").GetDouble(), 1e-5);
            var drops = Values("drop");
            Assert.Equal(question.Words.Count, drops.Length);
            for (var i = 0; i < drops.Length; i++)
            {
                var padded = tokens.clone();
                padded[0, i] = torch.tensor(model.Encoder.PadIndex);
                Assert.Equal(full - model.Forward.Invoke(normalized, padded, length)[0, target].item<float>(), drops[i], 1e-5);
            }
        }

        Assert.Equal(item.GetProperty("full").GetDouble() - item.GetProperty("empty").GetDouble(), Values("shapley").Sum(), 9);
        using var explanation = ModelExplainer.Explain(model, prepared, new ExplanationOptions { Steps = 4, Target = target });
        var integrated = explanation.Inputs.Single(i => i.Display is TextDisplay).TokenAttributions!;
        Assert.Equal(integrated.Select(v => (double)v), Values("integratedGradients"));
    }

    [Theory]
    [InlineData("--scenes", "0", "scenes")]
    [InlineData("--steps", "0", "steps")]
    [InlineData("--checkpoint", "no-such-file.pth", "checkpoint")]
    public void VqaWords_BadOption_ExitsTwoNamingIt(string option, string value, string name)
    {
        using var folder = new TempFolder();
        var json = Path.Combine(folder.Path, "words.json");

        var (code, _, error) = BundledCli.Run("vqa-words", option, value, "--json", json);

        Assert.Equal(2, code);
        Assert.Contains("--" + name, error, StringComparison.Ordinal);
        Assert.False(File.Exists(json));
    }

    [Theory]
    [InlineData("folder")]
    [InlineData("proc")]
    public void VqaWords_JsonThatCannotBeWritten_ExitsTwoNamingJsonBeforeAnyScene(string kind)
    {
        using var folder = new TempFolder();
        var json = kind == "folder" ? folder.Path : "/proc/self/words.json";

        var (code, output, error) = BundledCli.Run("vqa-words", "--scenes", "1", "--steps", "2", "--json", json);

        Assert.Equal(2, code);
        Assert.StartsWith("captum: error: --json: ", error, StringComparison.Ordinal);
        Assert.Single(error.TrimEnd().Split('\n'));
        Assert.Empty(output);
    }
}
