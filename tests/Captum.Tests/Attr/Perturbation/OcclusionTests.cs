using Captum.Attr;
using Captum.Forward;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Captum.Tests.Attr.Perturbation;

public sealed class OcclusionTests
{
    private static T Throws<T>(Action act, string parameter, string fragment)
        where T : ArgumentException
    {
        var ex = Assert.Throws<T>(act);
        Assert.Equal(parameter, ex.ParamName);
        Assert.Contains(fragment, ex.Message, StringComparison.OrdinalIgnoreCase);
        return ex;
    }

    [Fact]
    public void Attribute_OverlappingWindowsOnAVector_AveragesTheDropsByHand()
    {
        using var scope = torch.NewDisposeScope();

        // F(x) = x0 + 2 x1 + 3 x2 at x = (1, 1, 1), baseline 0, window 2, stride 1: the window over (x0, x1)
        // drops the output by 3, the one over (x1, x2) by 5; x1 is covered by both and gets (3 + 5) / 2.
        ForwardFunction f = (Func<Tensor, Tensor>)(x => x.matmul(torch.tensor(new[] { 1f, 2f, 3f })));
        using var result = new Occlusion(f).Attribute(torch.ones(1, 3), new OcclusionOptions { SlidingWindowShapes = new long[] { 2 } });

        TensorAssert.AllClose(result.Attribution, torch.tensor(new[] { 3f, 4f, 5f }).reshape(1, 3), 1e-6, 0);
    }

    [Fact]
    public void Attribute_WindowCutOffAtTheEdge_LastPatchCoversWhatIsLeft()
    {
        using var scope = torch.NewDisposeScope();

        // Length 5, window 2, stride 2: patches [0, 2), [2, 4) and the cut-off [4, 5); no element is shared.
        ForwardFunction f = (Func<Tensor, Tensor>)(x => x.matmul(torch.tensor(new[] { 1f, 10f, 100f, 1000f, 10000f })));
        using var result = new Occlusion(f).Attribute(torch.ones(2, 5) * 2, new OcclusionOptions
        {
            SlidingWindowShapes = new long[] { 2 },
            Strides = 2,
            Baselines = 1.0,
        });

        var row = torch.tensor(new[] { 11f, 11f, 1100f, 1100f, 10000f });
        TensorAssert.AllClose(result.Attribution, torch.stack([row, row]), 1e-6, 1e-6);
    }

    [Theory]
    [InlineData(2, 2)]
    [InlineData(2, 1)]
    [InlineData(3, 2)]
    [InlineData(4, 4)]
    public void Attribute_SmallImage_MatchesReferenceComputedWindowByWindow(int window, int stride)
    {
        using var scope = torch.NewDisposeScope();
        var model = new LinearImageModel(2, 4, 5, 3, seed: 1);
        var x = torch.randn(2, 2, 4, 5);

        using var result = new Occlusion(model).Attribute(x, new OcclusionOptions
        {
            SlidingWindowShapes = new long[] { 1, window, window },
            Strides = new long[] { 1, stride, stride },
            Target = new[] { 0, 2 },
        });

        // Reference: for a linear model a patch's drop is the sum of w * x over the patch; each element gets
        // the mean drop of the patches covering it. Positions per dimension: ceil((size - window) / stride) + 1.
        var w = new[] { model.WeightImage(0, 2, 4, 5), model.WeightImage(2, 2, 4, 5) };
        var expected = new double[2, 2, 4, 5];
        for (var n = 0; n < 2; n++)
        {
            var contribution = (w[n] * x[n]).to_type(ScalarType.Float64);
            var sums = new double[2, 4, 5];
            var counts = new int[2, 4, 5];
            for (var c = 0; c < 2; c++)
            {
                for (var top = 0; top < 4; top += stride)
                {
                    for (var left = 0; left < 5; left += stride)
                    {
                        var drop = contribution[c, top..Math.Min(top + window, 4), left..Math.Min(left + window, 5)].sum().item<double>();
                        for (var h = top; h < Math.Min(top + window, 4); h++)
                        {
                            for (var v = left; v < Math.Min(left + window, 5); v++)
                            {
                                sums[c, h, v] += drop;
                                counts[c, h, v]++;
                            }
                        }

                        if (left + window >= 5)
                        {
                            break;
                        }
                    }

                    if (top + window >= 4)
                    {
                        break;
                    }
                }
            }

            for (var c = 0; c < 2; c++)
            {
                for (var h = 0; h < 4; h++)
                {
                    for (var v = 0; v < 5; v++)
                    {
                        expected[n, c, h, v] = sums[c, h, v] / counts[c, h, v];
                    }
                }
            }
        }

        TensorAssert.AllClose(result.Attribution, torch.tensor(expected).to_type(ScalarType.Float32), 1e-5, 1e-4);
    }

    [Fact]
    public void Attribute_TokenIdsWithPaddingBaseline_OccludesEachWindowOfIds()
    {
        using var scope = torch.NewDisposeScope();
        var model = new BagOfWords(seed: 3);
        var tokens = torch.tensor(new long[,] { { 4, 8, 2, 6 } });

        using var result = new Occlusion(model).Attribute(tokens, new OcclusionOptions { SlidingWindowShapes = new long[] { 2 }, Strides = 2, Target = 1 });

        using var noGrad = torch.no_grad();
        var full = model.call(tokens)[0, 1].item<float>();
        var left = model.call(torch.tensor(new long[,] { { 0, 0, 2, 6 } }))[0, 1].item<float>();
        var right = model.call(torch.tensor(new long[,] { { 4, 8, 0, 0 } }))[0, 1].item<float>();
        TensorAssert.AllClose(result.Attribution, torch.tensor(new[] { full - left, full - left, full - right, full - right }).reshape(1, 4), 1e-6, 1e-5);
        Assert.Equal(ScalarType.Int64, tokens.dtype);
    }

    [Fact]
    public void Attribute_TwoInputsWithAdditionalArgs_EachInputOccludedSeparately()
    {
        using var scope = torch.NewDisposeScope();
        var model = new TwoInputModel(seed: 4);
        var a = torch.randn(3, 2);
        var b = torch.randn(3, 3);
        var scale = torch.rand(3, 1) + 0.5;
        var options = new OcclusionOptions
        {
            SlidingWindowShapes = new[] { new long[] { 1 }, new long[] { 1 } },
            Target = 1,
            AdditionalForwardArgs = [scale],
        };

        using var occlusion = new Occlusion(model).Attribute(Inputs.Of(a, b), options);
        using var ablation = new FeatureAblation(model).Attribute(Inputs.Of(a, b), new FeatureAblationOptions { Target = 1, AdditionalForwardArgs = [scale] });
        using var batched = new Occlusion(model).Attribute(Inputs.Of(a, b), options with { PerturbationsPerEval = 4 });

        TensorAssert.AllClose(occlusion[0], ablation[0], 1e-6, 1e-5);
        TensorAssert.AllClose(occlusion[1], ablation[1], 1e-6, 1e-5);
        TensorAssert.AllClose(batched[0], occlusion[0], 1e-6, 1e-5);
        TensorAssert.AllClose(batched[1], occlusion[1], 1e-6, 1e-5);
    }

    [Fact]
    public void Attribute_WindowLargerThanInput_ThrowsNamingSlidingWindowShapes()
    {
        using var scope = torch.NewDisposeScope();
        var occlusion = new Occlusion(new LinearImageModel(1, 3, 3, 2, seed: 5));
        Throws<ArgumentException>(
            () => occlusion.Attribute(torch.randn(1, 1, 3, 3), new OcclusionOptions { SlidingWindowShapes = new long[] { 1, 4, 2 }, Target = 0 }),
            "SlidingWindowShapes",
            "cannot exceed");
    }

    [Fact]
    public void Attribute_WindowWithWrongNumberOfDimensions_ThrowsNamingSlidingWindowShapes()
    {
        using var scope = torch.NewDisposeScope();
        var occlusion = new Occlusion(new LinearImageModel(1, 3, 3, 2, seed: 5));
        Throws<ArgumentException>(
            () => occlusion.Attribute(torch.randn(1, 1, 3, 3), new OcclusionOptions { SlidingWindowShapes = new long[] { 2, 2 }, Target = 0 }),
            "SlidingWindowShapes",
            "one size per dimension");
    }

    [Fact]
    public void Attribute_WindowShapesForTooFewInputs_ThrowsNamingSlidingWindowShapes()
    {
        using var scope = torch.NewDisposeScope();
        var occlusion = new Occlusion(new TwoInputModel(1));
        Throws<ArgumentException>(
            () => occlusion.Attribute(Inputs.Of(torch.randn(1, 2), torch.randn(1, 3)), new OcclusionOptions { SlidingWindowShapes = new long[] { 1 }, Target = 0, AdditionalForwardArgs = [torch.ones(1, 1)] }),
            "SlidingWindowShapes",
            "one window shape per input");
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-2)]
    public void Attribute_StrideBelowOne_ThrowsNamingStrides(int stride)
    {
        using var scope = torch.NewDisposeScope();
        var occlusion = new Occlusion(new LinearImageModel(1, 3, 3, 2, seed: 5));
        Throws<ArgumentOutOfRangeException>(
            () => occlusion.Attribute(torch.randn(1, 1, 3, 3), new OcclusionOptions { SlidingWindowShapes = new long[] { 1, 2, 2 }, Strides = stride, Target = 0 }),
            "Strides",
            "at least 1");
    }

    [Fact]
    public void Attribute_StrideLargerThanWindow_ThrowsNamingStrides()
    {
        using var scope = torch.NewDisposeScope();
        var occlusion = new Occlusion(new LinearImageModel(1, 5, 5, 2, seed: 5));
        Throws<ArgumentException>(
            () => occlusion.Attribute(torch.randn(1, 1, 5, 5), new OcclusionOptions { SlidingWindowShapes = new long[] { 1, 2, 2 }, Strides = new long[] { 1, 3, 2 }, Target = 0 }),
            "Strides",
            "never be occluded");
    }

    [Fact]
    public void Attribute_PerturbationsPerEvalBelowOne_ThrowsNamingIt()
    {
        using var scope = torch.NewDisposeScope();
        var occlusion = new Occlusion(new LinearImageModel(1, 3, 3, 2, seed: 5));
        Throws<ArgumentOutOfRangeException>(
            () => occlusion.Attribute(torch.randn(1, 1, 3, 3), new OcclusionOptions { SlidingWindowShapes = new long[] { 1, 2, 2 }, PerturbationsPerEval = 0, Target = 0 }),
            "PerturbationsPerEval",
            "at least 1");
    }
}
