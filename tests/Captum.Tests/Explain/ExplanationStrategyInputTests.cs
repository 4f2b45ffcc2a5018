using Captum.Explain;
using Captum.Plugins;
using Captum.Plugins.Vqa;
using Captum.Tests.Checkpoints;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Captum.Tests.Explain;

/// <summary>What the strategies (the CLI's explain, vqa, Insights) do with inputs a plugin prepares wrongly.</summary>
public sealed class ExplanationStrategyInputTests
{
    [Theory]
    [InlineData("layer-ig", ScalarType.Float16)]
    [InlineData("occlusion", ScalarType.Float16)]
    [InlineData("interpretable-embedding", ScalarType.Float16)]
    [InlineData("layer-ig", ScalarType.Float64)]
    public void Explain_ImagePreparedInAnotherFloatTypeThanTheModel_ThrowsNamingInputsAndBothDtypes(string method, ScalarType dtype)
    {
        using var scope = torch.NewDisposeScope();
        using var model = VqaModel.LoadDefault();
        var prepared = model.Prepare(new Dictionary<string, string> { [VqaModel.ImageInput] = CheckpointFiles.PathOf("e2e/image.png"), [VqaModel.QuestionInput] = "what color is the circle" });
        var image = prepared.Displays.Select((d, i) => (d, i)).Single(p => p.d is ImageDisplay).i;
        var inputs = prepared.Inputs.Select((t, i) => i == image ? t.to(dtype) : t).ToArray();
        var wrong = prepared with { Inputs = inputs };

        var ex = Assert.Throws<ArgumentException>(() => ExplanationStrategies.BuiltIn.Get(method).Explain(model, wrong, new ExplanationOptions { Steps = 2 }).Dispose());

        Assert.Equal("inputs", ex.ParamName);
        Assert.Contains($"the inputs are {dtype} but the model's parameters are Float32", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', ex.Message);
    }
}
