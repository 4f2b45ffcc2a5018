using Captum.Plugins;
using Captum.Plugins.Vqa;
using Captum.Plugins.Vqa.Scenes;
using Captum.Plugins.Vqa.Tutorial;
using Captum.Tests.Plugins.Vqa.Tutorial;
using TorchSharp;
using Xunit;

namespace Captum.Tests.Plugins.Vqa.Scenes;

/// <summary>The scenes dataset (the plugin's <see cref="IExampleDatasetProvider"/>) and images prepared from memory.</summary>
public sealed class SceneDatasetTests
{
    [Fact]
    public void Get_SameSeedAndIndex_SameExampleInAnyOrder()
    {
        var provider = new SceneDataset();
        using var first = provider.Open(new ExampleDatasetOptions { Count = 8, Seed = 5 });
        using var second = provider.Open(new ExampleDatasetOptions { Count = 8, Seed = 5 });

        var late = second.Get(7);
        var early = first.Get(7);

        Assert.Equal(early.Id, late.Id);
        Assert.Equal(early.ExpectedLabel, late.ExpectedLabel);
        Assert.Equal(early.Inputs[VqaModel.QuestionInput].Text, late.Inputs[VqaModel.QuestionInput].Text);
        Assert.Equal(early.Inputs[VqaModel.ImageInput].Content.ToArray(), late.Inputs[VqaModel.ImageInput].Content.ToArray());
    }

    [Fact]
    public void Get_Example_IsTheGeneratorsSceneWithItsQuestionAndAnswer()
    {
        using var dataset = new SceneDataset().Open(new ExampleDatasetOptions { Count = 4, Seed = 3 });
        var generator = new SceneGenerator();

        for (var k = 0; k < 4; k++)
        {
            var scene = generator.Generate(3, k);
            var question = scene.Questions[k % scene.Questions.Count];
            var example = dataset.Get(k);

            Assert.Equal($"scene-3-{k}", example.Id);
            Assert.Equal(question.Text, example.Inputs[VqaModel.QuestionInput].Text);
            Assert.Equal(question.Answer, example.ExpectedLabel);
            using var image = ImageFiles.Load(example.Inputs[VqaModel.ImageInput].Content, "scene");
            using var expected = scene.ToImage();
            Assert.Equal(expected.Width, image.Width);
            Assert.Equal(expected[10, 20], image[10, 20]);
            Assert.Equal(expected[40, 33], image[40, 33]);
        }
    }

    [Fact]
    public void Open_DefaultOptions_GivesDefaultCount()
    {
        var provider = new SceneDataset();
        using var dataset = provider.Open(new ExampleDatasetOptions());

        Assert.Equal(provider.DefaultCount, dataset.Count);
        Assert.Throws<ArgumentOutOfRangeException>(() => dataset.Get(provider.DefaultCount));
        Assert.Throws<ArgumentOutOfRangeException>(() => dataset.Get(-1));
    }

    [Fact]
    public void Open_ZeroCountOrUnknownSetting_RefusedNamingIt()
    {
        var provider = new SceneDataset();

        Assert.Throws<ArgumentOutOfRangeException>(() => provider.Open(new ExampleDatasetOptions { Count = 0 }));
        var ex = Assert.Throws<ArgumentException>(() => provider.Open(new ExampleDatasetOptions { Settings = new Dictionary<string, string> { ["size"] = "9" } }));
        Assert.Contains("'size'", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Prepare_ImageContentInMemory_SameTensorsAsFromTheFile()
    {
        using var model = VqaModel.LoadDefault();
        using var dataset = new SceneDataset().Open(new ExampleDatasetOptions { Count = 1, Seed = 11 });
        var example = dataset.Get(0);
        using var folder = new TempFolder();
        var path = Path.Combine(folder.Path, "scene.png");
        File.WriteAllBytes(path, example.Inputs[VqaModel.ImageInput].Content.ToArray());
        var question = example.Inputs[VqaModel.QuestionInput].Text!;

        var fromMemory = ((IInterpretableModel)model).Prepare(example.Inputs);
        var fromFile = model.Prepare(new Dictionary<string, string> { [VqaModel.ImageInput] = path, [VqaModel.QuestionInput] = question });

        Assert.Equal(fromFile.Inputs[0].shape, fromMemory.Inputs[0].shape);
        Assert.True(torch.equal(fromMemory.Inputs[0], fromFile.Inputs[0]).all().item<bool>());
        Assert.Equal(fromFile.Inputs[1].shape, fromMemory.Inputs[1].shape);
        Assert.True(torch.equal(fromMemory.Inputs[1], fromFile.Inputs[1]).all().item<bool>());
        foreach (var t in fromMemory.Inputs.Concat(fromFile.Inputs))
        {
            t.Dispose();
        }
    }

    [Fact]
    public void Prepare_TruncatedJpegInMemory_RefusedNamingTheUpload()
    {
        using var model = VqaModel.LoadDefault();
        using var folder = new TempFolder();
        var bytes = TestImages.Jpeg(Path.Combine(folder.Path, "whole.jpg"));
        var inputs = new Dictionary<string, RawInputValue>
        {
            [VqaModel.ImageInput] = RawInputValue.FromContent(bytes[..(bytes.Length / 2)], "upload.jpg"),
            [VqaModel.QuestionInput] = "what color is the circle",
        };

        var ex = Assert.Throws<ArgumentException>(() => ((IInterpretableModel)model).Prepare(inputs));

        Assert.StartsWith("cannot read image upload.jpg: the JPEG file is truncated", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Prepare_DefaultImplementation_PassesTextOnAndRefusesContent()
    {
        IInterpretableModel model = new TextOnlyModel();

        var prepared = model.Prepare(new Dictionary<string, RawInputValue> { ["text"] = "hello" });
        var ex = Assert.Throws<NotSupportedException>(() => model.Prepare(new Dictionary<string, RawInputValue> { ["text"] = RawInputValue.FromContent(new byte[] { 1 }, "x.bin") }));

        Assert.Equal("hello", ((TextDisplay)prepared.Displays[0]).Text);
        Assert.Contains("'text'", ex.Message, StringComparison.Ordinal);
    }

    private sealed class TextOnlyModel : IInterpretableModel
    {
        public string Name => "text-only";

        public IReadOnlyList<RawInputSpec> RawInputs { get; } = [new("text", RawInputKind.Text, "text")];

        public Captum.Forward.ForwardFunction Forward => throw new NotSupportedException();

        public IReadOnlyList<Captum.Layers.LayerReference> AttributionLayers => [];

        public IReadOnlyList<string> Labels => [];

        public PreparedInput Prepare(IReadOnlyDictionary<string, string> rawInputs) =>
            new([], [], [], [new TextDisplay("text", rawInputs["text"], [rawInputs["text"]])]);

        public void Dispose()
        {
        }
    }
}
