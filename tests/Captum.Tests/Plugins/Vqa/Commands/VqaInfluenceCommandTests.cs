using System.Text.Json;
using Captum.Influence;
using Captum.Plugins.Vqa;
using Captum.Plugins.Vqa.Commands;
using Captum.Plugins.Vqa.Scenes;
using Captum.Tests.Checkpoints;
using TorchSharp;
using Xunit;

namespace Captum.Tests.Plugins.Vqa.Commands;

/// <summary><c>captum vqa-influence</c>, run in-process by the captum command with the plugins bundled beside it.</summary>
public sealed class VqaInfluenceCommandTests
{
    private static (int Code, string Output, string Error) Run(params string[] args) => BundledCli.Run(args);

    [Fact]
    public void VqaInfluence_ShippedModel_RanksTheRegeneratedTrainingQuestionsAsTracInCPFastDoes()
    {
        using var folder = new TempFolder();

        var (code, output, error) = Run("vqa-influence", "--training-scenes", "30", "--test-scenes", "200", "--wrong", "1", "--k", "3", "--batch-size", "16", "--out", folder.Path);

        Assert.True(code == 0, error);
        Assert.Contains("Report:", output, StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(folder.Path, "report.html")));
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder.Path, "influence.json")));
        var root = json.RootElement;
        var training = new SceneGenerator().GenerateMany(root.GetProperty("trainingSeed").GetInt64(), 30)
            .SelectMany(s => s.Questions.Select(q => new SceneItem(s, q))).ToList();
        Assert.Equal(training.Count, root.GetProperty("trainingQuestions").GetInt32());
        var wrong = Assert.Single(root.GetProperty("wrongAnswers").EnumerateArray());
        Assert.NotEqual(wrong.GetProperty("answer").GetString(), wrong.GetProperty("predicted").GetString());

        // The same scores from the library in one batch: the command's batching and labels change nothing.
        using var scope = torch.NewDisposeScope();
        using var model = VqaModel.LoadDefault(new VqaModelOptions());
        model.Net.eval();
        var test = new SceneGenerator().GenerateMany(root.GetProperty("testSeed").GetInt64(), 200)
            .SelectMany(s => s.Questions.Select(q => new SceneItem(s, q)))
            .First(i => i.Scene.Index == wrong.GetProperty("scene").GetInt32() && i.Question.Text == wrong.GetProperty("question").GetString());
        var asked = SceneInfluenceData.Batch([test]);
        var batch = asked with { Labels = torch.tensor(new[] { model.AnswerIndices[wrong.GetProperty("predicted").GetString()!] }) };
        var state = model.Net.state_dict().ToDictionary(p => p.Key, p => p.Value.detach().clone());
        var tracin = new TracInCPFast(model.Net, VqaInfluenceCommand.FinalLayer, new SceneInfluenceData(training, training.Count), [TrainingCheckpoint.FromStateDict(state)]);
        var scores = tracin.Influence(batch)[0].data<float>().ToArray();
        var order = Enumerable.Range(0, scores.Length).OrderByDescending(i => scores[i]).ToList();

        var proponents = wrong.GetProperty("proponents").EnumerateArray().ToList();
        Assert.Equal(3, proponents.Count);
        for (var j = 0; j < 3; j++)
        {
            var index = proponents[j].GetProperty("trainingIndex").GetInt32();
            Assert.Equal(order[j], index);
            Assert.Equal(scores[index], proponents[j].GetProperty("score").GetSingle(), 3);
            Assert.Equal(training[index].Question.Text, proponents[j].GetProperty("question").GetString());
            Assert.Equal(training[index].Question.Answer, proponents[j].GetProperty("answer").GetString());
        }

        var opponents = wrong.GetProperty("opponents").EnumerateArray().Select(o => o.GetProperty("trainingIndex").GetInt32()).ToList();
        Assert.Equal(order.AsEnumerable().Reverse().Take(3), opponents);
    }

    [Theory]
    [InlineData("--k", "0", "k")]
    [InlineData("--training-scenes", "0", "training-scenes")]
    public void VqaInfluence_OptionOutOfRange_ExitsTwoNamingIt(string option, string value, string name)
    {
        using var folder = new TempFolder();

        var (code, _, error) = Run("vqa-influence", option, value, "--out", folder.Path);

        Assert.Equal(2, code);
        Assert.Contains("--" + name, error, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(folder.Path, "report.html")));
    }

    [Fact]
    public void VqaInfluence_KLargerThanTheTrainingQuestions_ExitsTwoNamingK()
    {
        using var folder = new TempFolder();

        var (code, _, error) = Run("vqa-influence", "--k", "100", "--training-scenes", "1", "--out", folder.Path);

        Assert.Equal(2, code);
        Assert.Contains("--k: 100 proponents and opponents asked of", error, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(folder.Path, "report.html")));
    }

    [Fact]
    public void VqaInfluence_OutIsAFile_ExitsTwoNamingOut()
    {
        using var folder = new TempFolder();
        var file = Path.Combine(folder.Path, "taken");
        File.WriteAllText(file, "mine");

        var (code, _, error) = Run("vqa-influence", "--out", file);

        Assert.Equal(2, code);
        Assert.Contains("--out: ", error, StringComparison.Ordinal);
        Assert.Equal("mine", File.ReadAllText(file));
    }

    [Fact]
    public void VqaInfluence_TutorialCheckpoint_ExitsTwoNamingCheckpoint()
    {
        using var folder = new TempFolder();

        var (code, _, error) = Run("vqa-influence", "--checkpoint", CheckpointFiles.PathOf("e2e/vqa.pth"), "--out", folder.Path);

        Assert.Equal(2, code);
        Assert.Contains("--checkpoint", error, StringComparison.Ordinal);
        Assert.Contains("not a scenes checkpoint", error, StringComparison.Ordinal);
    }
}
