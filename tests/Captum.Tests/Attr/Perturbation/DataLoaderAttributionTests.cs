using Captum.Attr;
using Captum.Forward;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Captum.Tests.Attr.Perturbation;

public sealed class DataLoaderAttributionTests
{
    /// <summary>A nonlinear two-input model, y = tanh(a W1 + b W2) V, [n, 3], weights from a private generator.</summary>
    private sealed class TwoInputNet
    {
        private readonly Tensor w1;
        private readonly Tensor w2;
        private readonly Tensor v;

        public TwoInputNet(int seed)
        {
            var g = new Generator((ulong)seed);
            w1 = torch.randn([4, 5], generator: g);
            w2 = torch.randn([2, 5], generator: g);
            v = torch.randn([5, 3], generator: g);
        }

        public int Calls { get; private set; }

        public Tensor Forward(Tensor a, Tensor b)
        {
            Calls++;
            return torch.tanh(a.matmul(w1) + b.matmul(w2)).matmul(v);
        }
    }

    private static Inputs[] Batches(Tensor a, Tensor b, params long[] sizes)
    {
        var batches = new List<Inputs>();
        long start = 0;
        foreach (var size in sizes)
        {
            batches.Add(Inputs.Of(a.narrow(0, start, size), b.narrow(0, start, size)));
            start += size;
        }

        return [.. batches];
    }

    [Fact]
    public void Attribute_DefaultConcatenatedOutputs_EqualsFeatureAblationOnTheConcatenatedData()
    {
        using var scope = torch.NewDisposeScope();
        var net = new TwoInputNet(1);
        var a = torch.randn([7, 4], generator: new Generator(2));
        var b = torch.randn([7, 2], generator: new Generator(3));
        var maskA = torch.tensor(new long[,] { { 0, 0, 1, 2 } });
        var maskB = torch.tensor(new long[,] { { 2, 3 } });   // feature 2 spans both inputs
        var method = new DataLoaderAttribution(new FeatureAblation((Func<Tensor, Tensor, Tensor>)net.Forward));

        using var result = method.Attribute(Batches(a, b, 3, 3, 1), new DataLoaderAttributionOptions
        {
            FeatureMask = FeatureMask.Of(maskA, maskB),
            Baselines = new BaselineValue[] { 0.5, torch.tensor(new float[,] { { -1, 2 } }) },
        });

        // Captum's documented agreement: FeatureAblation on all the data at once, with the whole output as one
        // aggregate value per element, the same masks (ids across inputs) and baselines.
        ForwardFunction whole = (Func<Tensor, Tensor, Tensor>)((x, y) => net.Forward(x, y).reshape(-1));
        using var expected = new FeatureAblation(whole).Attribute(Inputs.Of(a, b), new FeatureAblationOptions
        {
            FeatureMask = FeatureMask.Of(maskA, maskB),
            Baselines = new BaselineValue[] { 0.5, torch.tensor(new float[,] { { -1, 2 } }) },
            EnableCrossTensorAttribution = true,
        });
        Assert.Equal(new long[] { 21, 4 }, result[0].shape);
        Assert.Equal(new long[] { 21, 2 }, result[1].shape);
        TensorAssert.AllClose(result[0], expected[0], 1e-6, 1e-5);
        TensorAssert.AllClose(result[1], expected[1], 1e-6, 1e-5);
    }

    [Fact]
    public void Attribute_SumReducer_EqualsFeatureAblationOfTheSummedOutputAndIsExactPerFeature()
    {
        using var scope = torch.NewDisposeScope();
        var net = new TwoInputNet(4);
        var a = torch.randn([6, 4], generator: new Generator(5));
        var b = torch.randn([6, 2], generator: new Generator(6));
        var method = new DataLoaderAttribution(new FeatureAblation((Func<Tensor, Tensor, Tensor>)net.Forward));
        var options = new DataLoaderAttributionOptions
        {
            Reduce = (acc, output, _) => acc is Tensor t ? t + output[.., 1].sum() : output[.., 1].sum(),
            ReturnInputShape = false,
        };

        using var result = method.Attribute(Batches(a, b, 4, 2), options);

        // No mask: every scalar is a feature, a's 4 then b's 2. Column j: metric(all) - metric(feature j at 0).
        Assert.Equal(new long[] { 1, 6 }, result.Attribution.shape);
        using var noGrad = torch.no_grad();
        var full = net.Forward(a, b)[.., 1].sum();
        for (var j = 0; j < 6; j++)
        {
            var ablatedA = a.clone();
            var ablatedB = b.clone();
            if (j < 4)
            {
                ablatedA[.., j] = 0;
            }
            else
            {
                ablatedB[.., j - 4] = 0;
            }

            var drop = full - net.Forward(ablatedA, ablatedB)[.., 1].sum();
            Assert.Equal(drop.item<float>(), result.Attribution[0, j].item<float>(), 4);
        }
    }

    [Fact]
    public void Attribute_PerturbationsPerPass_SameResultInFewerPasses()
    {
        using var scope = torch.NewDisposeScope();
        var net = new TwoInputNet(7);
        var a = torch.randn([5, 4], generator: new Generator(8));
        var b = torch.randn([5, 2], generator: new Generator(9));
        var passes = 0;
        IEnumerable<Inputs> Loader()
        {
            passes++;
            foreach (var batch in Batches(a, b, 2, 3))
            {
                yield return batch;
            }
        }

        var method = new DataLoaderAttribution(new FeatureAblation((Func<Tensor, Tensor, Tensor>)net.Forward));
        using var one = method.Attribute(Loader(), new DataLoaderAttributionOptions { ToMetric = acc => ((Tensor)acc!).abs().mean() });
        var passesOne = passes;
        passes = 0;
        using var four = method.Attribute(Loader(), new DataLoaderAttributionOptions { ToMetric = acc => ((Tensor)acc!).abs().mean(), PerturbationsPerPass = 4 });

        // The first batch is read once more, then 1 + ceil(6 / p) passes.
        Assert.Equal(1 + 1 + 6, passesOne);
        Assert.Equal(1 + 1 + 2, passes);
        TensorAssert.AllClose(one[0], four[0], 0, 0);
        TensorAssert.AllClose(one[1], four[1], 0, 0);
        Assert.Equal(new long[] { 1, 4 }, one[0].shape);
    }

    [Fact]
    public void Attribute_InputRoles_ForwardsNeedForwardAndHandsLabelsToTheReducerOnly()
    {
        using var scope = torch.NewDisposeScope();
        var net = new TwoInputNet(10);
        var a = torch.randn([6, 4], generator: new Generator(11));
        var b = torch.randn([6, 2], generator: new Generator(12));
        var labels = torch.tensor(new long[] { 0, 1, 2, 2, 1, 0 });
        var batches = new[] { 0L, 3L }.Select(s => Inputs.Of(a.narrow(0, s, 3), labels.narrow(0, s, 3), b.narrow(0, s, 3))).ToArray();
        var method = new DataLoaderAttribution(new FeatureAblation((Func<Tensor, Tensor, Tensor>)net.Forward));

        // The accumulator is a tuple (correct, seen): accuracy over the data set.
        using var result = method.Attribute(batches, new DataLoaderAttributionOptions
        {
            InputRoles = [InputRole.NeedAttribution, InputRole.NoForward, InputRole.NeedForward],
            FeatureMask = torch.tensor(new long[,] { { 0, 1, 1, 2 } }),
            Reduce = (acc, output, batch) =>
            {
                var (correct, seen) = acc is ValueTuple<Tensor, long> t ? t : (torch.zeros(1), 0L);
                var hits = output.argmax(1).eq(batch[1]).sum().to(ScalarType.Float32).reshape(1);
                return (correct + hits, seen + batch[1].shape[0]);
            },
            ToMetric = acc => ((ValueTuple<Tensor, long>)acc!).Item1 / ((ValueTuple<Tensor, long>)acc!).Item2,
        });

        using var noGrad = torch.no_grad();
        Tensor Accuracy(Tensor x) => net.Forward(x, b).argmax(1).eq(labels).to(ScalarType.Float32).mean();
        var full = Accuracy(a);
        Tensor Ablated(params int[] columns)
        {
            var x = a.clone();
            foreach (var c in columns)
            {
                x[.., c] = 0;
            }

            return full - Accuracy(x);
        }

        var expected = torch.stack([Ablated(0), Ablated(1, 2), Ablated(1, 2), Ablated(3)]).reshape(1, 4);
        Assert.Single(result.Attributions);
        TensorAssert.AllClose(result.Attribution, expected, 1e-6, 1e-6);
    }

    [Fact]
    public void Attribute_TokenIds_KeepsTheirDtypeAndEqualsFeatureAblationOnAllTokens()
    {
        using var scope = torch.NewDisposeScope();
        var g = new Generator(13);
        var embedding = torch.randn([10, 3], generator: g);
        var head = torch.randn([3], generator: g);
        Tensor Model(Tensor tokens)
        {
            Assert.Equal(ScalarType.Int64, tokens.dtype);
            return torch.tanh(embedding[tokens].mean([1])).matmul(head);
        }

        var tokens = torch.randint(1, 10, [5, 4], generator: g);
        var batches = new[] { tokens[0..2], tokens[2..5] }.Select(t => (Inputs)t).ToArray();

        using var result = new DataLoaderAttribution(new FeatureAblation((Func<Tensor, Tensor>)Model)).Attribute(batches, new DataLoaderAttributionOptions
        {
            Reduce = (acc, output, _) => acc is Tensor t ? t + output.sum() : output.sum(),
        });

        ForwardFunction whole = (Func<Tensor, Tensor>)(t => Model(t).sum());
        using var expected = new FeatureAblation(whole).Attribute(tokens, new FeatureAblationOptions { FeatureMask = torch.arange(4).reshape(1, 4) });
        TensorAssert.AllClose(result.Attribution, expected.Attribution, 1e-5, 1e-5);
    }

    [Fact]
    public void Attribute_IdsNoMaskUses_GiveZeroColumns()
    {
        using var scope = torch.NewDisposeScope();
        var x = torch.randn([4, 3], generator: new Generator(14));
        var batches = new[] { (Inputs)x[0..2], (Inputs)x[2..4] };
        ForwardFunction model = (Func<Tensor, Tensor>)(t => (t * t).sum(1));

        using var result = new DataLoaderAttribution(new FeatureAblation(model)).Attribute(batches, new DataLoaderAttributionOptions
        {
            FeatureMask = torch.tensor(new long[,] { { 0, 3, 3 } }),
            ToMetric = acc => ((Tensor)acc!).sum(),
            ReturnInputShape = false,
        });

        var squares = (x * x).sum(dim: 0);
        var expected = torch.stack([squares[0], torch.tensor(0f), torch.tensor(0f), squares[1] + squares[2]]).reshape(1, 4);
        TensorAssert.AllClose(result.Attribution, expected, 1e-5, 1e-5);
    }

    [Fact]
    public void Attribute_LoaderMakingItsTensors_FreesEveryBatchAndLeavesOnlyTheResult()
    {
        using var scope = torch.NewDisposeScope();
        var net = new TwoInputNet(15);
        IEnumerable<Inputs> Loader()
        {
            for (var i = 0; i < 4; i++)
            {
                yield return Inputs.Of(torch.randn([2, 4], generator: new Generator((ulong)i)), torch.randn([2, 2], generator: new Generator((ulong)(i + 10))));
            }
        }

        var method = new DataLoaderAttribution(new FeatureAblation((Func<Tensor, Tensor, Tensor>)net.Forward));
        var options = new DataLoaderAttributionOptions { FeatureMask = FeatureMask.Of(torch.tensor(new long[,] { { 0, 0, 1, 1 } }), torch.tensor(new long[,] { { 2, 2 } })) };
        method.Attribute(Loader(), options).Dispose();
        var before = DisposeScopeManager.Statistics.ThreadTotalLiveCount;

        var result = method.Attribute(Loader(), options);

        Assert.Equal(before + 2, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
        result.Dispose();
        Assert.Equal(before, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
    }

    [Fact]
    public void Attribute_TokenCancelledAtTheFirstReport_StopsBeforeTheNextBatch()
    {
        using var scope = torch.NewDisposeScope();
        var net = new TwoInputNet(16);
        var a = torch.randn([4, 4], generator: new Generator(17));
        var b = torch.randn([4, 2], generator: new Generator(18));
        using var cancel = new CancellationTokenSource();
        var reports = new List<AttributionProgress>();
        var method = new DataLoaderAttribution(new FeatureAblation((Func<Tensor, Tensor, Tensor>)net.Forward));

        Assert.ThrowsAny<OperationCanceledException>(() => method.Attribute(Batches(a, b, 2, 2), new DataLoaderAttributionOptions
        {
            Progress = new SynchronousProgress(p =>
            {
                reports.Add(p);
                cancel.Cancel();
            }),
        }, cancel.Token));

        // The first pass (2 batches) ran; the cancellation stopped the next pass before its first batch.
        Assert.Equal([new AttributionProgress(1, 7)], reports);
        Assert.Equal(2, net.Calls);
    }

    [Fact]
    public void Attribute_BadArguments_ThrowNamingThemBeforeAnyForward()
    {
        using var scope = torch.NewDisposeScope();
        var net = new TwoInputNet(19);
        var a = torch.randn([4, 4], generator: new Generator(20));
        var b = torch.randn([4, 2], generator: new Generator(21));
        var method = new DataLoaderAttribution(new FeatureAblation((Func<Tensor, Tensor, Tensor>)net.Forward));
        var loader = Batches(a, b, 2, 2);
        void Throws(string name, DataLoaderAttributionOptions options, IEnumerable<Inputs>? data = null)
        {
            var ex = Assert.ThrowsAny<ArgumentException>(() => method.Attribute(data ?? loader, options));
            Assert.Equal(name, ex.ParamName);
        }

        Throws("PerturbationsPerPass", new() { PerturbationsPerPass = 0 });
        Throws("InputRoles", new() { InputRoles = [InputRole.NeedAttribution] });
        Throws("InputRoles", new() { InputRoles = [InputRole.NeedForward, InputRole.NoForward] });
        Throws("InputRoles", new() { InputRoles = [InputRole.NeedAttribution, (InputRole)7] });
        Throws("FeatureMask", new() { FeatureMask = FeatureMask.Of(torch.zeros([2, 4], ScalarType.Int64), torch.zeros([1, 2], ScalarType.Int64)) });
        Throws("FeatureMask", new() { FeatureMask = FeatureMask.Of(torch.full([1, 4], -1L), torch.zeros([1, 2], ScalarType.Int64)) });
        Throws("FeatureMask", new() { FeatureMask = torch.zeros([1, 4], ScalarType.Int64) });
        Throws("baselines", new() { Baselines = new BaselineValue[] { torch.zeros(2, 4), 0.0 } });
        Throws("baselines", new() { Baselines = new BaselineValue[] { torch.zeros(1, 3), 0.0 } });
        Throws("baselines", new() { Baselines = new double[] { 0.0, 0.0, 0.0 } });
        Throws("dataLoader", new(), []);
        Assert.Equal(0, net.Calls);
    }

    [Fact]
    public void Attribute_NonTensorAccumulatorWithoutToMetric_ThrowsNamingToMetric()
    {
        using var scope = torch.NewDisposeScope();
        var x = torch.randn([2, 3], generator: new Generator(22));
        ForwardFunction model = (Func<Tensor, Tensor>)(t => t.sum(1));

        var ex = Assert.Throws<ArgumentException>(() => new DataLoaderAttribution(new FeatureAblation(model)).Attribute([x], new DataLoaderAttributionOptions
        {
            Reduce = (acc, output, _) => output.sum().item<float>(),
        }));

        Assert.Equal("ToMetric", ex.ParamName);
    }

    [Fact]
    public void Attribute_CallersTensors_AreNotModifiedAndKeepRequiresGrad()
    {
        using var scope = torch.NewDisposeScope();
        var net = new TwoInputNet(23);
        var a = torch.randn([4, 4], generator: new Generator(24)).requires_grad_(true);
        var b = torch.randn([4, 2], generator: new Generator(25));
        var copyA = a.detach().clone();

        using var result = new DataLoaderAttribution(new FeatureAblation((Func<Tensor, Tensor, Tensor>)net.Forward)).Attribute(Batches(a, b, 2, 2), new DataLoaderAttributionOptions { Baselines = 1.0 });

        Assert.True(a.requires_grad);
        Assert.False(b.requires_grad);
        Assert.Null(a.grad);
        TensorAssert.AllClose(a.detach(), copyA, 0, 0);
        Assert.False(result[0].requires_grad);
    }
}
