using Captum.Attr;
using Captum.Forward;
using FsCheck.Xunit;
using TorchSharp;
using TorchSharp.Modules;
using Xunit;
using static TorchSharp.torch;

namespace Captum.Tests.Attr.Gradient;

public sealed class GuidedGradCamTests
{
    private static readonly InterpolationMode[] Modes = [InterpolationMode.Nearest, InterpolationMode.Bilinear, InterpolationMode.Bicubic, InterpolationMode.Area];

    /// <summary>Captum's definition: GuidedBackprop times the positive part of Grad-CAM, resized to the input, each computed on its own.</summary>
    [Property(MaxTest = 20)]
    public void Attribute_Image_EqualsGuidedBackpropTimesUpsampledPositiveGradCam(int seed, byte targetChoice, byte modeChoice)
    {
        using var scope = torch.NewDisposeScope();
        var model = new ReluCnn(seed);
        var x = TestModels.Normal(seed, 3, 2, 6, 6);
        var target = targetChoice % 3;
        var mode = Modes[modeChoice % Modes.Length];

        using var result = new GuidedGradCam(model, "conv2").Attribute(x, new GuidedGradCamOptions { Target = target, InterpolateMode = mode });

        using var cam = new LayerGradCam(model, "conv2").Attribute(x, new LayerGradCamOptions { Target = target });
        using var guided = new GuidedBackprop(model).Attribute(x, new GuidedBackpropOptions { Target = target });
        var upsampled = LayerAttribution.Interpolate(nn.functional.relu(cam.Attribution), [6, 6], mode);
        Assert.Equal(new long[] { 3, 1, 3, 3 }, cam.Attribution.shape);
        TensorAssert.AllClose(result.Attribution, guided.Attribution * upsampled, 0, 0);
    }

    [Fact]
    public void Attribute_ConvolutionOutput_KeepsGuidedBackpropWherePositiveGradCamCoversIt()
    {
        using var scope = torch.NewDisposeScope();
        var model = new ReluCnn(3);
        var x = TestModels.Normal(4, 2, 2, 6, 6);

        using var result = new GuidedGradCam(model, model.Conv2).Attribute(x, new GuidedGradCamOptions { Target = 1 });

        // By hand: conv2's channels weighted by their mean gradient (fc's weight / 9 where relu2 passes), summed,
        // kept positive, each of the 3x3 positions copied to its 2x2 block of the image.
        using var noGrad = torch.no_grad();
        var features = model.Features(x);
        var gradient = model.Fc.weight![1].reshape(1, 4, 1, 1) * (features > 0).to_type(ScalarType.Float32) / 9;
        var map = nn.functional.relu((gradient.mean([2, 3], keepdim: true) * features).sum(1, keepdim: true));
        var blocks = map.repeat_interleave(2, 2).repeat_interleave(2, 3);
        using var guided = new GuidedBackprop(model).Attribute(x, new GuidedBackpropOptions { Target = 1 });
        TensorAssert.AllClose(result.Attribution, guided.Attribution * blocks, 1e-6, 1e-5);
        Assert.True((map == 0).any().item<bool>() && (map > 0).any().item<bool>(), "the map should have both zero and positive regions");
    }

    [Fact]
    public void Attribute_AttributeToLayerInput_IsGradCamOfTheLayersInput()
    {
        using var scope = torch.NewDisposeScope();
        var model = new ReluCnn(5);
        var x = TestModels.Normal(6, 2, 2, 6, 6);

        // relu2's input is conv2's output.
        using var onInput = new GuidedGradCam(model, "relu2").Attribute(x, new GuidedGradCamOptions { Target = 2, AttributeToLayerInput = true });
        using var onOutput = new GuidedGradCam(model, "conv2").Attribute(x, new GuidedGradCamOptions { Target = 2 });

        TensorAssert.AllClose(onInput.Attribution, onOutput.Attribution, 0, 0);
    }

    [Fact]
    public void Attribute_NonSpatialInput_ThrowsNamingInputs_AndAsAdditionalArgumentLeavesTheImageAttributionAsCaptum()
    {
        using var scope = torch.NewDisposeScope();
        var model = new ImageAndSide(7);
        var image = TestModels.Normal(8, 2, 2, 6, 6);
        var side = TestModels.Normal(9, 2, 5);
        var method = new GuidedGradCam(model, "cnn.conv2");

        var ex = Assert.Throws<ArgumentException>(() => method.Attribute(Inputs.Of(image, side), new GuidedGradCamOptions { Target = 0 }));
        Assert.Equal("inputs", ex.ParamName);
        Assert.Contains("inputs[1]", ex.Message, StringComparison.Ordinal);
        Assert.Equal(0, GradientTestModels.HookCount(model));

        // Captum would return (attribution of image, None); the image's attribution does not depend on whether the
        // side input is attributed.
        using var result = method.Attribute(image, new GuidedGradCamOptions { Target = 0, AdditionalForwardArgs = [side] });
        using var cam = new LayerGradCam(model, "cnn.conv2").Attribute(Inputs.Of(image, side), new LayerGradCamOptions { Target = 0 });
        using var guided = new GuidedBackprop(model).Attribute(Inputs.Of(image, side), new GuidedBackpropOptions { Target = 0 });
        var upsampled = LayerAttribution.Interpolate(nn.functional.relu(cam.Attribution), [6, 6]);
        TensorAssert.AllClose(result.Attribution, guided[0] * upsampled, 0, 0);
    }

    [Fact]
    public void Attribute_LayerOfAnotherRank_ThrowsNamingInputsAndLeavesNoHooks()
    {
        using var scope = torch.NewDisposeScope();
        var model = new ReluCnn(10);
        var x = TestModels.Normal(11, 2, 2, 6, 6);

        // fc's output is [n, 3]: its map [n, 1] has no spatial dimensions to resize to the image's.
        var ex = Assert.Throws<ArgumentException>(() => new GuidedGradCam(model, "fc").Attribute(x, new GuidedGradCamOptions { Target = 0 }));

        Assert.Equal("inputs", ex.ParamName);
        Assert.Equal(0, GradientTestModels.HookCount(model));
    }

    [Fact]
    public void Attribute_ModeOfAnotherRank_ThrowsNamingInterpolateMode()
    {
        using var scope = torch.NewDisposeScope();
        var model = new ReluCnn(12);
        var x = TestModels.Normal(13, 2, 2, 6, 6);

        var ex = Assert.Throws<ArgumentException>(() => new GuidedGradCam(model, "conv2").Attribute(x, new GuidedGradCamOptions { Target = 0, InterpolateMode = InterpolationMode.Trilinear }));

        Assert.Equal("InterpolateMode", ex.ParamName);
    }

    [Fact]
    public void Attribute_FlatInput_ThrowsNamingInputs()
    {
        using var scope = torch.NewDisposeScope();
        var model = GradientTestModels.Mlp(14, "relu");

        var ex = Assert.Throws<ArgumentException>(() => new GuidedGradCam(model, "lin2").Attribute(torch.randn(2, 4), new GuidedGradCamOptions { Target = 0 }));

        Assert.Equal("inputs", ex.ParamName);
    }

    [Fact]
    public void Constructor_ForwardFunctionWithoutModule_ThrowsNamingModel()
    {
        var model = new ReluCnn(15);
        var ex = Assert.Throws<ArgumentException>(() => new GuidedGradCam(ForwardFunction.FromDelegate((Tensor[] a) => model.call(a[0])), model.Conv2));
        Assert.Equal("model", ex.ParamName);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Attribute_AnyRunOrFailure_LeavesTheCallersTensorsAndNoHooks(bool inputRequiresGrad)
    {
        using var scope = torch.NewDisposeScope();
        var model = new ReluCnn(16);
        var x = TestModels.Normal(17, 2, 2, 6, 6).requires_grad_(inputRequiresGrad);
        var copy = x.detach().clone();
        var method = new GuidedGradCam(model, "conv2");

        using (method.Attribute(x, new GuidedGradCamOptions { Target = 1 }))
        {
        }

        Assert.Equal("target", Assert.Throws<ArgumentException>(() => method.Attribute(x, new GuidedGradCamOptions { Target = 7 })).ParamName);
        Assert.Equal(inputRequiresGrad, x.requires_grad);
        Assert.Null(x.grad);
        TensorAssert.AllClose(x.detach(), copy, 0, 0);
        Assert.Equal(0, GradientTestModels.HookCount(model));
    }

    [Fact]
    public void NoiseTunnel_WithoutNoise_EqualsGuidedGradCam()
    {
        using var scope = torch.NewDisposeScope();
        var model = new ReluCnn(18);
        var x = TestModels.Normal(19, 2, 2, 6, 6);
        var method = new GuidedGradCam(model, "conv2");

        using var smoothed = NoiseTunnel.Create(method).Attribute(x, new NoiseTunnelOptions<GuidedGradCamOptions>
        {
            Samples = 3,
            Stdevs = 0.0,
            MethodOptions = new GuidedGradCamOptions { Target = new[] { 0, 2 } },
        });
        using var plain = method.Attribute(x, new GuidedGradCamOptions { Target = new[] { 0, 2 } });

        TensorAssert.AllClose(smoothed.Attribution, plain.Attribution, 1e-7, 1e-6);
    }

    /// <summary>forward(image, side) = cnn(image) + lin(side): an image input aligned with cnn.conv2 and a flat one.</summary>
    private sealed class ImageAndSide : nn.Module<Tensor, Tensor, Tensor>
    {
        private readonly ReluCnn cnn;
        private readonly Linear lin;

        public ImageAndSide(int seed)
            : base(nameof(ImageAndSide))
        {
            cnn = new ReluCnn(seed);
            lin = nn.Linear(5, 3);
            RegisterComponents();
            eval();
        }

        public override Tensor forward(Tensor image, Tensor side) => cnn.call(image) + lin.call(side);
    }
}
