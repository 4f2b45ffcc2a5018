using Captum.Explain;
using Captum.Plugins;
using Captum.Plugins.TextGeneration;
using Captum.Plugins.TextGeneration.Stories;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Captum.Tests.Plugins.TextGeneration;

/// <summary>
/// The story model as the host's <c>story</c> model (<see cref="StoryAnswerModel"/>, <see cref="StoryModelProvider"/>)
/// and its <c>stories</c> dataset: what captum explain, captum insights and captum attribute-dataset run on.
/// </summary>
public sealed class StoryAnswerModelTests
{
    private static Dictionary<string, string> Prompt(string text) => new() { [StoryAnswerModel.PromptInput] = text };

    /// <summary>Held-out story <paramref name="index"/> (stream 777) and its prompt prepared by <paramref name="model"/>.</summary>
    private static (Story Story, PreparedInput Input) Prepared(StoryAnswerModel model, int index)
    {
        var story = StoryGenerator.Generate(777, index);
        return (story, model.Prepare(Prompt(story.Prompt)));
    }

    [Fact]
    public void Forward_HeldOutStories_PredictsTheStoryModelsAnswer()
    {
        using var model = StoryAnswerModel.Load();
        var stories = StoryGenerator.GenerateMany(777, 12);
        var answers = model.Story.Answer(stories);

        for (var i = 0; i < stories.Count; i++)
        {
            using var scope = torch.NewDisposeScope();
            var prepared = model.Prepare(Prompt(stories[i].Prompt));
            using var noGrad = torch.no_grad();
            var logits = model.Forward.Invoke([.. prepared.Inputs]);

            Assert.Equal([1L, model.Labels.Count], logits.shape);
            Assert.Equal(answers[i], model.Labels[(int)logits.argmax(1).item<long>()]);
        }
    }

    [Fact]
    public void Explain_Occlusion_EachTokensDropOfTheAnswersLogit()
    {
        using var model = StoryAnswerModel.Load();
        using var scope = torch.NewDisposeScope();
        var (story, prepared) = Prepared(model, 5);

        using var explanation = ExplanationStrategies.Occlusion.Explain(model, prepared, new ExplanationOptions());

        Assert.Equal(story.Answer, explanation.Label);
        var ids = prepared.Inputs[0];
        var tokens = explanation.Inputs[0].TokenAttributions!;
        Assert.Equal(ids.shape[1], tokens.Count);
        using var noGrad = torch.no_grad();
        var full = model.Forward.Invoke([ids])[0, explanation.LabelIndex].item<float>();
        for (var t = 0; t < tokens.Count; t++)
        {
            var removed = ids.clone();
            removed[0, t] = model.Story.Tokenizer.PadId;
            var drop = full - model.Forward.Invoke([removed])[0, explanation.LabelIndex].item<float>();
            Assert.Equal(drop, tokens[t], 4);
        }
    }

    [Fact]
    public void Explain_LayerIntegratedGradients_ConvergesOnThePromptTokens()
    {
        using var model = StoryAnswerModel.Load();
        using var scope = torch.NewDisposeScope();
        var (story, prepared) = Prepared(model, 9);

        using var explanation = ExplanationStrategies.LayerIntegratedGradients.Explain(model, prepared, new ExplanationOptions { Steps = 50 });

        var display = Assert.IsType<TextDisplay>(explanation.Inputs[0].Display);
        Assert.Equal(model.Story.Tokenizer.ConvertIdsToTokens(model.Story.Tokenizer.Encode(story.Prompt)), display.Tokens);
        Assert.Equal(display.Tokens.Count, explanation.Inputs[0].TokenAttributions!.Count);
        Assert.True(Math.Abs(explanation.Delta) < 0.02 * Math.Abs(explanation.TotalContribution), $"delta {explanation.Delta} of {explanation.TotalContribution}");
    }

    [Fact]
    public void Explain_InterpretableEmbedding_TheNumbersOfLayerIntegratedGradients()
    {
        using var model = StoryAnswerModel.Load();
        using var scope = torch.NewDisposeScope();
        var (_, prepared) = Prepared(model, 4);

        using var viaLayer = ExplanationStrategies.LayerIntegratedGradients.Explain(model, prepared, new ExplanationOptions { Steps = 16 });
        using var viaEmbedding = ExplanationStrategies.InterpretableEmbedding.Explain(model, prepared, new ExplanationOptions { Steps = 16 });

        Assert.Equal(viaLayer.Label, viaEmbedding.Label);
        TensorAssert.AllClose(torch.tensor(viaEmbedding.Inputs[0].TokenAttributions!.ToArray()), torch.tensor(viaLayer.Inputs[0].TokenAttributions!.ToArray()), 1e-4, 1e-3);
        Assert.Equal(viaLayer.Delta, viaEmbedding.Delta, 3);
    }

    [Theory]
    [InlineData("", "empty")]
    [InlineData("xyzzy plugh", "none of its words")]
    public void Prepare_BadPrompt_FailsNamingThePrompt(string prompt, string expected)
    {
        using var model = StoryAnswerModel.Load();

        var error = Assert.Throws<ArgumentException>(() => model.Prepare(Prompt(prompt)));

        Assert.StartsWith("prompt: ", error.Message, StringComparison.Ordinal);
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Prepare_PromptLongerThanThePositions_FailsBeforeAnyPass()
    {
        using var model = StoryAnswerModel.Load();
        var prompt = string.Join(" ", Enumerable.Repeat("mary went to the garden .", 20));

        var error = Assert.Throws<ArgumentException>(() => model.Prepare(Prompt(prompt)));

        Assert.Contains($"at most {model.Story.Network.Config.Positions}", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_MissingFolderOrASetting_FailsNamingIt()
    {
        var provider = new StoryModelProvider();

        var folder = Assert.Throws<ArgumentException>(() => provider.Load(new Dictionary<string, string> { [StoryModelProvider.FolderFile] = "/nonexistent/story" }, new Dictionary<string, string>()));
        var setting = Assert.Throws<ArgumentException>(() => provider.Load(new Dictionary<string, string>(), new Dictionary<string, string> { ["image-size"] = "64" }));

        Assert.StartsWith("story-model: folder not found", folder.Message, StringComparison.Ordinal);
        using var empty = new TempFolder();
        var notAModel = Assert.Throws<ArgumentException>(() => provider.Load(new Dictionary<string, string> { [StoryModelProvider.FolderFile] = empty.Path }, new Dictionary<string, string>()));
        Assert.StartsWith("story-model: ", notAModel.Message, StringComparison.Ordinal);
        Assert.Equal(StoryModelProvider.FolderFile, notAModel.ParamName);
        Assert.Contains("'image-size'", setting.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Open_Stories_TheGeneratorsStoriesWithTheirAnswers()
    {
        using var dataset = new StoryDataset().Open(new ExampleDatasetOptions { Count = 5, Seed = 3 });
        using var model = StoryAnswerModel.Load();

        for (var i = 0; i < dataset.Count; i++)
        {
            var example = dataset.Get(i);
            var story = StoryGenerator.Generate(3, i);
            Assert.Equal($"story-3-{i}", example.Id);
            Assert.Equal(story.Prompt, example.Inputs[StoryAnswerModel.PromptInput].Text);
            Assert.Equal(story.Answer, example.ExpectedLabel);
            Assert.Contains(example.ExpectedLabel, model.Labels);
            Assert.Equal(story.Sentences[story.SupportingFact], example.Annotations["supportingFact"]);
        }

        Assert.Throws<ArgumentOutOfRangeException>(() => dataset.Get(5));
        Assert.Throws<ArgumentOutOfRangeException>(() => new StoryDataset().Open(new ExampleDatasetOptions { Count = 0 }));
        Assert.Throws<ArgumentException>(() => new StoryDataset().Open(new ExampleDatasetOptions { Settings = new Dictionary<string, string> { ["x"] = "1" } }));
    }
}
