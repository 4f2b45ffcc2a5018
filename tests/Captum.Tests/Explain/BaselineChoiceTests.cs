using Captum.Explain;
using Captum.Plugins;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Captum.Tests.Explain;

/// <summary>The baselines a user picks per explanation (captum explain --baseline, Insights' baseline field).</summary>
public sealed class BaselineChoiceTests
{
    private static PreparedInput ImageAndTokens(Tensor image)
    {
        var tokens = torch.tensor(new long[] { 4, 7, 2 }).unsqueeze(0);
        return new PreparedInput(
            [image, tokens],
            [torch.full_like(image, 0.25), torch.zeros_like(tokens)],
            [],
            [new ImageDisplay("image", image[0]), new TextDisplay("question", "a b c", ["a", "b", "c"])]);
    }

    [Fact]
    public void Apply_Model_TheModelsOwnBaselines()
    {
        using var scope = torch.NewDisposeScope();
        var input = ImageAndTokens(torch.rand(1, 3, 8, 8));

        Assert.Same(input, BaselineChoice.Model.Apply(input));
    }

    [Fact]
    public void Apply_Zero_ZeroForFloatingInputsAndTheModelsTokens()
    {
        using var scope = torch.NewDisposeScope();
        var input = ImageAndTokens(torch.rand(1, 3, 8, 8));

        var zero = BaselineChoice.Zero.Apply(input);

        TensorAssert.AllClose(zero.Baselines[0].Tensor!, torch.zeros(1, 3, 8, 8), 0, 0);
        Assert.Same(input.Baselines[1].Tensor, zero.Baselines[1].Tensor);
        Assert.Same(input.Inputs, zero.Inputs);
    }

    [Fact]
    public void Apply_BlurOfAConstantImage_TheSameImage()
    {
        using var scope = torch.NewDisposeScope();
        var image = torch.full(1, 3, 20, 12, 0.7f);

        var blurred = BaselineChoice.Blur.Apply(ImageAndTokens(image)).Baselines[0].Tensor!;

        TensorAssert.AllClose(blurred, image, 1e-6, 1e-6);
    }

    [Fact]
    public void Apply_BlurOfNoise_SmootherWithTheSameMean()
    {
        using var scope = torch.NewDisposeScope();
        torch.manual_seed(3);
        var image = torch.rand(1, 3, 32, 32);

        var blurred = BaselineChoice.Blur.Apply(ImageAndTokens(image)).Baselines[0].Tensor!;

        static double Variation(Tensor t) => (t[.., .., 1..] - t[.., .., ..^1]).abs().mean().item<float>() + (t[.., .., .., 1..] - t[.., .., .., ..^1]).abs().mean().item<float>();
        Assert.Equal(image.shape, blurred.shape);
        Assert.True(Variation(blurred) < 0.2 * Variation(image), $"variation {Variation(blurred)} of {Variation(image)}");
        Assert.Equal(image.mean().item<float>(), blurred.mean().item<float>(), 2);
    }

    [Theory]
    [InlineData(1, 16)]
    [InlineData(2, 40)]
    [InlineData(3, 3)]
    public void Apply_BlurOfAnImageThatNeedsGradients_ADetachedBaselineOfItsShapeAndType(int height, int width)
    {
        using var scope = torch.NewDisposeScope();
        var image = torch.rand(1, 3, height, width, ScalarType.Float64).requires_grad_();

        var blurred = BaselineChoice.Blur.Apply(ImageAndTokens(image)).Baselines[0].Tensor!;

        Assert.Equal(image.shape, blurred.shape);
        Assert.Equal(ScalarType.Float64, blurred.dtype);
        Assert.False(blurred.requires_grad);
        Assert.True(image.requires_grad);
    }

    [Fact]
    public void Apply_FewerDisplaysThanInputs_FailsNamingTheInput()
    {
        using var scope = torch.NewDisposeScope();
        var input = ImageAndTokens(torch.rand(1, 3, 8, 8)) is var full ? full with { Displays = [full.Displays[0]] } : null!;

        var error = Assert.Throws<ArgumentException>(() => BaselineChoice.Zero.Apply(input));

        Assert.Equal("input", error.ParamName);
    }

    [Fact]
    public void Apply_BlurOfATabularInput_TheModelsBaseline()
    {
        using var scope = torch.NewDisposeScope();
        var features = torch.rand(1, 5);
        var input = new PreparedInput([features], [torch.ones(1, 5)], [], [new TextDisplay("row", "r", ["a", "b", "c", "d", "e"])]);

        Assert.Same(input.Baselines[0].Tensor, BaselineChoice.Blur.Apply(input).Baselines[0].Tensor);
    }

    [Fact]
    public void FindAndParse_Names_EveryChoiceAndNothingElse()
    {
        Assert.Equal(["model", "zero", "blur"], BaselineChoice.All.Select(b => b.Name));
        Assert.All(BaselineChoice.All, b => Assert.Same(b, BaselineChoice.Find(b.Name)));
        Assert.Null(BaselineChoice.Find("Zero"));
        Assert.Null(BaselineChoice.Find(null));
        Assert.Same(BaselineChoice.Blur, BaselineChoice.Parse("blur", "--baseline"));
        var error = Assert.Throws<ArgumentException>(() => BaselineChoice.Parse("black", "--baseline"));
        Assert.Equal("--baseline", error.ParamName);
        Assert.StartsWith("--baseline must be one of model, zero, blur, not 'black'.", error.Message, StringComparison.Ordinal);
    }
}
