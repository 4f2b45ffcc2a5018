using Captum.Attr;
using TorchSharp;
using TorchSharp.Modules;
using Xunit;
using static TorchSharp.torch;

namespace Captum.Tests.Attr.Layer;

public sealed class LayerGradCamTests
{
    // Input 0..8 as a 3x3 image. conv channel 0 sums each 2x2 window, channel 1 takes its bottom-right pixel:
    //   A0 = [[8, 12], [20, 24]], A1 = [[4, 5], [7, 8]].
    // The head reads the flattened maps; for class 0 the weights are [1, 2, 3, 4] on A0 and -6 on every pixel of
    // A1, so the channel weights (mean gradients) are 2.5 and -6 and the map is 2.5 A0 - 6 A1 = [[-4, 0], [8, 12]].
    private static readonly float[,] Expected = { { -4, 0 }, { 8, 12 } };

    [Fact]
    public void Attribute_HandComputedConvNet_WeighsChannelsByMeanGradient()
    {
        using var scope = torch.NewDisposeScope();
        var model = new TinyConvNet();
        var image = torch.arange(9, dtype: ScalarType.Float32).reshape(1, 1, 3, 3);

        using var result = new LayerGradCam(model, "conv").Attribute(image, new LayerGradCamOptions { Target = 0 });

        TensorAssert.AllClose(result.Attribution, torch.tensor(Expected).reshape(1, 1, 2, 2), 1e-5, 1e-6);
    }

    [Fact]
    public void Attribute_Relu_DropsNegativeEvidence()
    {
        using var scope = torch.NewDisposeScope();
        var image = torch.arange(9, dtype: ScalarType.Float32).reshape(1, 1, 3, 3);

        using var result = new LayerGradCam(new TinyConvNet(), "conv").Attribute(image, new LayerGradCamOptions { Target = 0, ReluAttributions = true });

        TensorAssert.AllClose(result.Attribution, torch.tensor(new float[,] { { 0, 0 }, { 8, 12 } }).reshape(1, 1, 2, 2), 1e-5, 1e-6);
    }

    [Fact]
    public void Attribute_WithoutChannelSummation_KeepsOneWeightedMapPerChannel()
    {
        using var scope = torch.NewDisposeScope();
        var image = torch.arange(9, dtype: ScalarType.Float32).reshape(1, 1, 3, 3);

        using var result = new LayerGradCam(new TinyConvNet(), "conv").Attribute(image, new LayerGradCamOptions { Target = 0, AttrDimSummation = false });

        var expected = torch.tensor(new float[] { 20, 30, 50, 60, -24, -30, -42, -48 }).reshape(1, 2, 2, 2);
        TensorAssert.AllClose(result.Attribution, expected, 1e-5, 1e-6);
        TensorAssert.AllClose(result.Attribution.sum(1, keepdim: true), torch.tensor(Expected).reshape(1, 1, 2, 2), 1e-5, 1e-6);
    }

    [Fact]
    public void Attribute_ThenInterpolate_GivesAMapOfTheInputSize()
    {
        using var scope = torch.NewDisposeScope();
        var image = torch.arange(9, dtype: ScalarType.Float32).reshape(1, 1, 3, 3).expand(2, 1, 3, 3).contiguous();

        using var result = new LayerGradCam(new TinyConvNet(), "conv").Attribute(image, new LayerGradCamOptions { Target = 1 });
        var upsampled = LayerAttribution.Interpolate(result.Attribution, [4, 4]);

        Assert.Equal(new long[] { 2, 1, 2, 2 }, result.Attribution.shape);
        Assert.Equal(new long[] { 2, 1, 4, 4 }, upsampled.shape);
        TensorAssert.AllClose(upsampled[TensorIndex.Colon, TensorIndex.Colon, TensorIndex.Slice(0, 4, 2), TensorIndex.Slice(0, 4, 2)], result.Attribution, 0, 0);
    }

    [Fact]
    public void Attribute_TwoDimensionalLayer_IsSummedGradientTimesActivation()
    {
        using var scope = torch.NewDisposeScope();
        var model = new LinearStack(seed: 5);
        var x = torch.randn(3, 4);

        // With no positions to average over, every feature is weighted by its own gradient.
        using var gradCam = new LayerGradCam(model, model.Lin1).Attribute(x, new LayerGradCamOptions { Target = 1 });
        using var product = new LayerGradientXActivation(model, model.Lin1).Attribute(x, new LayerGradientXActivationOptions { Target = 1 });

        Assert.Equal(new long[] { 3, 1 }, gradCam.Attribution.shape);
        TensorAssert.AllClose(gradCam.Attribution, product.Attribution.sum(1, keepdim: true), 1e-6, 1e-5);
    }

    [Fact]
    public void Attribute_PathOfAnotherModel_ThrowsNamingLayer()
    {
        using var scope = torch.NewDisposeScope();
        var ex = Assert.Throws<ArgumentException>(() => new LayerGradCam(new TinyConvNet(), "backbone.conv2"));
        Assert.Equal("layer", ex.ParamName);
        Assert.Contains("conv, head", ex.Message, StringComparison.Ordinal);
    }

    /// <summary>conv (2 channels, 2x2, no bias) then a linear head on the flattened maps, with fixed weights.</summary>
    private sealed class TinyConvNet : nn.Module<Tensor, Tensor>
    {
        private readonly Conv2d conv;
        private readonly Linear head;

        public TinyConvNet()
            : base(nameof(TinyConvNet))
        {
            conv = nn.Conv2d(1, 2, 2, bias: false);
            head = nn.Linear(8, 2, hasBias: false);
            RegisterComponents();
            using var noGrad = torch.no_grad();
            conv.weight!.copy_(torch.tensor(new float[] { 1, 1, 1, 1, 0, 0, 0, 1 }).reshape(2, 1, 2, 2));
            head.weight!.copy_(torch.tensor(new float[] { 1, 2, 3, 4, -6, -6, -6, -6, 0, 1, 0, 1, 1, 0, 1, 0 }).reshape(2, 8));
            eval();
        }

        public override Tensor forward(Tensor x) => head.call(conv.call(x).flatten(1));
    }
}
