using Captum.Attr;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Captum.Tests.Attr.Perturbation;

/// <summary>DataLoaderAttribution's passes run one at a time (beyond Captum): grouped and joined as the single call.</summary>
public sealed class DataLoaderAttributionPassesTests
{
    private static (DataLoaderAttribution Method, Inputs[] Loader, Func<int> Calls) Setup(int seed)
    {
        var g = new Generator((ulong)seed);
        var w1 = torch.randn([4, 2], generator: g);
        var w2 = torch.randn([3, 2], generator: g);
        var calls = 0;
        Tensor Forward(Tensor a, Tensor b)
        {
            calls++;
            return torch.sigmoid(a.matmul(w1) + b.matmul(w2));
        }

        var a = torch.randn([6, 4], generator: g);
        var b = torch.randn([6, 3], generator: g);
        Inputs[] loader = [Inputs.Of(a.narrow(0, 0, 4), b.narrow(0, 0, 4)), Inputs.Of(a.narrow(0, 4, 2), b.narrow(0, 4, 2))];
        return (new DataLoaderAttribution(new FeatureAblation((Func<Tensor, Tensor, Tensor>)Forward)), loader, () => calls);
    }

    private static DataLoaderAttributionOptions Options(int perPass) => new()
    {
        // Seven features; feature 3 spans both elements.
        FeatureMask = new[] { torch.tensor(new long[,] { { 0, 1, 2, 3 } }), torch.tensor(new long[,] { { 3, 4, 6 } }) },
        Baselines = 0.5,
        PerturbationsPerPass = perPass,
    };

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(7)]
    public void Passes_RunOneAtATimeAndJoined_AreAttributeBitForBit(int perPass)
    {
        using var scope = torch.NewDisposeScope();
        var (method, loader, _) = Setup(perPass);
        using var expected = method.Attribute(loader, Options(perPass));

        using var passes = method.Passes(loader, Options(perPass));
        var unperturbed = passes.Unperturbed();
        // In reverse order, as separate workers may finish them.
        var slices = Enumerable.Range(0, passes.Count).Reverse().Select(p => passes.AttributePass(p, unperturbed)).Reverse().ToList();
        var joined = DataLoaderAttributionPasses.Join(unperturbed, slices);
        var spread = DataLoaderAttributionPasses.ToInputShape(joined, passes.FeatureIds);

        Assert.Equal(expected.Attributions.Count, spread.Length);
        for (var i = 0; i < spread.Length; i++)
        {
            Assert.Equal(expected.Attributions[i].shape, spread[i].shape);
            Assert.True(expected.Attributions[i].contiguous().bytes.SequenceEqual(spread[i].contiguous().bytes), $"element {i}");
        }
    }

    [Fact]
    public void Passes_SevenFeaturesThreePerPass_GroupsConsecutiveIdsAndRunsNoModelYet()
    {
        using var scope = torch.NewDisposeScope();
        var (method, loader, calls) = Setup(1);

        using var passes = method.Passes(loader, Options(3));
        using var wide = method.Passes(loader, Options(10));

        Assert.Equal((7, 3, 3), (passes.FeatureCount, passes.PerturbationsPerPass, passes.Count));
        Assert.Equal([(0, 3), (3, 3), (6, 1)], Enumerable.Range(0, 3).Select(passes.Features));
        Assert.Equal((7, 1), (wide.PerturbationsPerPass, wide.Count));
        Assert.Equal([[1L, 4L], [1L, 3L]], passes.FeatureIds.Select(t => t.shape));
        Assert.Equal(0, calls());
    }

    [Fact]
    public void AttributePass_OnePass_EvaluatesEveryBatchOncePerFeatureOfThePass()
    {
        using var scope = torch.NewDisposeScope();
        var (method, loader, calls) = Setup(2);
        using var passes = method.Passes(loader, Options(3));
        var unperturbed = passes.Unperturbed();
        var before = calls();

        var slice = passes.AttributePass(2, unperturbed);

        Assert.Equal(loader.Length * 1, calls() - before);
        Assert.Equal([unperturbed.numel(), 1L], slice.shape);
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(3)]
    public void AttributePass_PassOutOfRange_IsRefusedNamingIt(int pass)
    {
        using var scope = torch.NewDisposeScope();
        var (method, loader, _) = Setup(3);
        using var passes = method.Passes(loader, Options(3));

        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => passes.AttributePass(pass, torch.zeros(6, 2)));

        Assert.Equal("pass", ex.ParamName);
    }

    [Fact]
    public void ToInputShape_IdBeyondTheColumns_IsRefused()
    {
        using var scope = torch.NewDisposeScope();

        var ex = Assert.Throws<ArgumentException>(() => DataLoaderAttributionPasses.ToInputShape(torch.zeros(2, 3), [torch.tensor(new long[,] { { 0, 3 } })]));

        Assert.Equal("featureIds", ex.ParamName);
    }

    [Fact]
    public void Unperturbed_AfterDispose_Throws()
    {
        using var scope = torch.NewDisposeScope();
        var (method, loader, _) = Setup(4);
        var passes = method.Passes(loader, Options(3));
        passes.Dispose();

        Assert.Throws<ObjectDisposedException>(() => passes.Unperturbed());
    }
}
