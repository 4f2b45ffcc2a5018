using Captum.Attr;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Captum.Tests.Attr.Layer;

public sealed class LayerAttributionInterpolateTests
{
    [Fact]
    public void Interpolate_NearestDoubling_RepeatsEveryValueInA2x2Block()
    {
        using var scope = torch.NewDisposeScope();
        var map = torch.tensor(new float[,] { { 1, 2 }, { 3, 4 } }).reshape(1, 1, 2, 2);

        var up = LayerAttribution.Interpolate(map, [4, 4]);

        var expected = torch.tensor(new float[,] { { 1, 1, 2, 2 }, { 1, 1, 2, 2 }, { 3, 3, 4, 4 }, { 3, 3, 4, 4 } }).reshape(1, 1, 4, 4);
        TensorAssert.AllClose(up, expected, 0, 0);
    }

    [Theory]
    [InlineData(InterpolationMode.Bilinear, 4)]
    [InlineData(InterpolationMode.Bicubic, 4)]
    [InlineData(InterpolationMode.Linear, 3)]
    [InlineData(InterpolationMode.Trilinear, 5)]
    public void Interpolate_LinearFamily_PrintsNoLibtorchWarning(InterpolationMode mode, int rank)
    {
        using var scope = torch.NewDisposeScope();
        var map = torch.rand([1, 1, .. Enumerable.Repeat(2L, rank - 2)]);
        var sizes = Enumerable.Repeat(4L, rank - 2).ToArray();

        // libtorch's C++ interpolate warns "Default upsampling behavior when mode=... is changed to align_corners=False"
        // on standard error at every call that leaves align_corners unset; Python's passes False without a word.
        var printed = NativeStandardError.Capture(() => LayerAttribution.Interpolate(map, sizes, mode).Dispose());

        Assert.DoesNotContain("align_corners", printed, StringComparison.Ordinal);
    }

    [Fact]
    public void Interpolate_Bilinear_MatchesPyTorchWithoutAlignedCorners()
    {
        using var scope = torch.NewDisposeScope();
        var map = torch.tensor(new float[,] { { 0, 1 }, { 2, 3 } }).reshape(1, 1, 2, 2);

        var up = LayerAttribution.Interpolate(map, [4, 4], InterpolationMode.Bilinear);

        // Without aligned corners, 2 -> 4 samples the source at -0.25, 0.25, 0.75, 1.25 (clamped): 0, .25, .75, 1.
        var t = new[] { 0, 0.25f, 0.75f, 1 };
        var expected = new float[4, 4];
        for (var i = 0; i < 4; i++)
        {
            for (var j = 0; j < 4; j++)
            {
                expected[i, j] = (2 * t[i]) + t[j];
            }
        }

        TensorAssert.AllClose(up, torch.tensor(expected).reshape(1, 1, 4, 4), 1e-6, 0);
    }

    [Fact]
    public void Interpolate_OneSizeForEverySpatialDimension_KeepsBatchAndChannels()
    {
        using var scope = torch.NewDisposeScope();
        var map = torch.randn(2, 3, 4, 5);

        var up = LayerAttribution.Interpolate(map, 7, InterpolationMode.Bicubic);

        Assert.Equal(new long[] { 2, 3, 7, 7 }, up.shape);
        Assert.Equal(new long[] { 2, 3, 4, 5 }, map.shape);
    }

    [Theory]
    [InlineData(3, InterpolationMode.Linear)]
    [InlineData(5, InterpolationMode.Trilinear)]
    [InlineData(5, InterpolationMode.Area)]
    public void Interpolate_RankOfMode_GivesRequestedSize(int rank, InterpolationMode mode)
    {
        using var scope = torch.NewDisposeScope();
        var shape = new long[] { 1, 2, 3, 3, 3 }[..rank];
        var sizes = Enumerable.Repeat(6L, rank - 2).ToArray();

        var up = LayerAttribution.Interpolate(torch.randn(shape), sizes, mode);

        Assert.Equal(new long[] { 1, 2 }.Concat(sizes).ToArray(), up.shape);
    }

    [Fact]
    public void Interpolate_BilinearOnThreeDimensions_ThrowsNamingMode()
    {
        using var scope = torch.NewDisposeScope();
        var ex = Assert.Throws<ArgumentException>(() => LayerAttribution.Interpolate(torch.randn(1, 1, 4), [8], InterpolationMode.Bilinear));
        Assert.Equal("interpolateMode", ex.ParamName);
    }

    [Fact]
    public void Interpolate_WrongNumberOfSizes_ThrowsNamingDims()
    {
        using var scope = torch.NewDisposeScope();
        var ex = Assert.Throws<ArgumentException>(() => LayerAttribution.Interpolate(torch.randn(1, 1, 4, 4), [8]));
        Assert.Equal("interpolateDims", ex.ParamName);
    }

    [Fact]
    public void Interpolate_TwoDimensionalTensor_ThrowsNamingAttribution()
    {
        using var scope = torch.NewDisposeScope();
        var ex = Assert.Throws<ArgumentException>(() => LayerAttribution.Interpolate(torch.randn(2, 4), 8));
        Assert.Equal("layerAttribution", ex.ParamName);
    }
}
