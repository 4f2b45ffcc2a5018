using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using TorchSharp;

namespace Captum.Visualization.Tests;

public class NormalizationTests
{
    public static TheoryData<int> GoldenCaseIndexes()
    {
        var data = new TheoryData<int>();
        for (var i = 0; i < GoldenVisualization.Instance.Cases.Count; i++)
        {
            data.Add(i);
        }

        return data;
    }

    [Fact]
    public void GoldenFile_Loaded_HasEveryNormalizeCaseAndSign()
    {
        var golden = GoldenVisualization.Instance;
        Assert.NotEmpty(golden.Cases);
        Assert.Equal(Enum.GetValues<VisualizationSign>().Length, golden.Cases.Select(c => c.Sign).Distinct().Count());
        Assert.Equal(golden.WordImportances.Length, golden.WordColors.Length);
    }

    [Theory]
    [MemberData(nameof(GoldenCaseIndexes))]
    public void NormalizeAttr_GoldenCase_MatchesCaptumWithin1e5(int index)
    {
        var golden = GoldenVisualization.Instance;
        var c = golden.Cases[index];

        var actual = AttributionNormalization.NormalizeAttr(golden.Attr, c.Sign, c.OutlierPerc);

        Assert.Equal(c.Height, actual.GetLength(0));
        Assert.Equal(c.Width, actual.GetLength(1));
        for (var y = 0; y < c.Height; y++)
        {
            for (var x = 0; x < c.Width; x++)
            {
                var expected = c.Expected[(y * c.Width) + x];
                var got = actual[y, x];
                Assert.True(Math.Abs(got - expected) <= 1e-5, $"{c}: [{y}, {x}] expected {expected}, got {got}");
            }
        }
    }

    [Property(MaxTest = 300)]
    public Property NormalizeAttr_AnyAttributionAndSign_StaysWithinMinusOneToOne() =>
        Prop.ForAll(TestImages.Attributions(), TestImages.Signs(), TestImages.OutlierPercs(), (attr, sign, outlier) =>
        {
            var map = AttributionNormalization.NormalizeAttr(attr, sign, outlier);
            return map.Cast<float>().All(v => v >= -1f && v <= 1f);
        });

    [Property(MaxTest = 300)]
    public Property NormalizeAttr_SignOtherThanAll_HasNoNegativeValues() =>
        Prop.ForAll(TestImages.Attributions(), TestImages.OutlierPercs(), (attr, outlier) =>
            new[] { VisualizationSign.Positive, VisualizationSign.Negative, VisualizationSign.AbsoluteValue }
                .All(sign => AttributionNormalization.NormalizeAttr(attr, sign, outlier).Cast<float>().All(v => v >= 0f)));

    [Property(MaxTest = 300)]
    public Property NormalizeAttr_SignPositive_ZeroWhereChannelSumIsNotPositive() =>
        Prop.ForAll(TestImages.Attributions(), TestImages.OutlierPercs(), (attr, outlier) =>
        {
            var map = AttributionNormalization.NormalizeAttr(attr, VisualizationSign.Positive, outlier);
            var sums = AttributionNormalization.NormalizeAttr(attr, VisualizationSign.All, outlier);
            for (var y = 0; y < map.GetLength(0); y++)
            {
                for (var x = 0; x < map.GetLength(1); x++)
                {
                    if (sums[y, x] <= 0 && map[y, x] != 0)
                    {
                        return false;
                    }
                }
            }

            return true;
        });

    [Property(MaxTest = 300)]
    public Property NormalizeAttr_AnyNonZeroSelection_LargestMagnitudeSaturatesAtOne() =>
        Prop.ForAll(TestImages.Attributions(), TestImages.Signs(), TestImages.OutlierPercs(), (attr, sign, outlier) =>
        {
            var map = AttributionNormalization.NormalizeAttr(attr, sign, outlier).Cast<float>().ToArray();
            var max = map.Max(Math.Abs);
            return max == 0f || max == 1f;
        });

    [Fact]
    public void NormalizeAttr_ZeroAttribution_ReturnsZerosInsteadOfCaptumsAssertion()
    {
        var map = AttributionNormalization.NormalizeAttr(new float[3, 4, 3], VisualizationSign.All);

        Assert.All(map.Cast<float>(), v => Assert.Equal(0f, v));
    }

    [Fact]
    public void NormalizeAttr_PositiveSignWithOnlyNegativeValues_ReturnsZeros()
    {
        var attr = TestImages.Random(3, 3, 2, seed: 1, lo: -2, hi: -0.5f);

        var map = AttributionNormalization.NormalizeAttr(attr, VisualizationSign.Positive);

        Assert.All(map.Cast<float>(), v => Assert.Equal(0f, v));
    }

    [Fact]
    public void NormalizeAttr_ChannelsSummedBeforeThresholding_MatchesHandComputation()
    {
        // Channel sums 1, -3, 2, 0; |sums| sorted 0, 1, 2, 3; cumulative 0, 1, 3, 6; 50% of 6 = 3 reached at 2.
        var attr = new float[1, 4, 2] { { { 0.5f, 0.5f }, { -1f, -2f }, { 2f, 0f }, { 1f, -1f } } };

        var map = AttributionNormalization.NormalizeAttr(attr, VisualizationSign.All, outlierPerc: 50);

        Assert.Equal(new[] { 0.5f, -1f, 1f, 0f }, map.Cast<float>().ToArray());
    }

    [Fact]
    public void NormalizeAttr_SignNegative_ShowsMagnitudesOfNegativeValues()
    {
        var attr = new float[1, 3, 1] { { { -4f }, { 2f }, { -1f } } };

        var map = AttributionNormalization.NormalizeAttr(attr, VisualizationSign.Negative, outlierPerc: 0);

        Assert.Equal(new[] { 1f, 0f, 0.25f }, map.Cast<float>().Select(v => v + 0f).ToArray());
    }

    [Fact]
    public void CumulativeSumThreshold_HalfOfTotal_ReturnsFirstValueReachingIt()
    {
        Assert.Equal(3f, AttributionNormalization.CumulativeSumThreshold([4f, 1f, 3f, 2f], 50));
        Assert.Equal(4f, AttributionNormalization.CumulativeSumThreshold([4f, 1f, 3f, 2f], 100));
        Assert.Equal(1f, AttributionNormalization.CumulativeSumThreshold([4f, 1f, 3f, 2f], 0));
    }

    [Fact]
    public void NormalizeScale_ValuesBeyondScale_ClippedToUnitRange()
    {
        Assert.Equal(new[] { -1f, -0.5f, 0.5f, 1f }, AttributionNormalization.NormalizeScale([-3f, -1f, 1f, 5f], 2f));
    }

    [Fact]
    public void NormalizeScale_ZeroScale_ThrowsArgumentExceptionNamingScaleFactor()
    {
        var ex = Assert.ThrowsAny<ArgumentException>(() => AttributionNormalization.NormalizeScale([1f], 0f));
        Assert.Equal("scaleFactor", ex.ParamName);
    }

    [Theory]
    [InlineData(-0.5)]
    [InlineData(100)]
    [InlineData(150)]
    [InlineData(double.NaN)]
    public void NormalizeAttr_OutlierPercOutsideRange_ThrowsArgumentExceptionNamingOutlierPerc(double outlier)
    {
        var ex = Assert.ThrowsAny<ArgumentException>(() => AttributionNormalization.NormalizeAttr(new float[2, 2, 1], VisualizationSign.All, outlier));
        Assert.Equal("outlierPerc", ex.ParamName);
    }

    [Fact]
    public void NormalizeAttr_NonFiniteValue_ThrowsArgumentExceptionNamingAttr()
    {
        var attr = new float[2, 2, 1];
        attr[1, 1, 0] = float.NaN;

        var ex = Assert.ThrowsAny<ArgumentException>(() => AttributionNormalization.NormalizeAttr(attr, VisualizationSign.All));
        Assert.Equal("attr", ex.ParamName);
    }

    [Fact]
    public void NormalizeAttr_EmptyAttribution_ThrowsArgumentExceptionNamingAttr()
    {
        var ex = Assert.ThrowsAny<ArgumentException>(() => AttributionNormalization.NormalizeAttr(new float[0, 3, 3], VisualizationSign.All));
        Assert.Equal("attr", ex.ParamName);
    }

    [Fact]
    public void NormalizeAttr_TwoDimensionalAndFlat_AgreeWithThreeDimensionalSingleChannel()
    {
        var attr = TestImages.Random(5, 4, 1, seed: 7);
        var flat = attr.Cast<float>().ToArray();
        var twoD = new float[5, 4];
        Buffer.BlockCopy(flat, 0, twoD, 0, flat.Length * sizeof(float));

        var expected = AttributionNormalization.NormalizeAttr(attr, VisualizationSign.All, 10).Cast<float>().ToArray();

        Assert.Equal(expected, AttributionNormalization.NormalizeAttr(twoD, VisualizationSign.All, 10).Cast<float>().ToArray());
        Assert.Equal(expected, AttributionNormalization.NormalizeAttr(flat, VisualizationSign.All, 10));
    }

    [Fact]
    public void NormalizeAttr_GoldenAttributionAsChwTensor_MatchesArrayResult()
    {
        var golden = GoldenVisualization.Instance;
        int h = golden.Attr.GetLength(0), w = golden.Attr.GetLength(1), c = golden.Attr.GetLength(2);
        using var hwc = torch.tensor(golden.Attr.Cast<float>().ToArray(), [h, w, c]);
        using var chw = hwc.permute(2, 0, 1).unsqueeze(0);

        var fromTensor = AttributionNormalization.NormalizeAttr(chw, TensorImageLayout.Chw, VisualizationSign.All);

        Assert.Equal(AttributionNormalization.NormalizeAttr(golden.Attr, VisualizationSign.All).Cast<float>(), fromTensor.Cast<float>());
    }
}
