using Captum.Influence;
using FsCheck.Xunit;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Captum.Tests.Influence;

/// <summary>TracInCP and TracInCPFast: their laws, the model left as given, progress, cancellation and bad arguments.</summary>
public sealed class TracInCPTests
{
    /// <summary>Linear(5, 6), tanh, Linear(6, 3) without bias (so TracInCPFast's term is the whole last layer's).</summary>
    private sealed class Net : nn.Module<Tensor, Tensor>
    {
        private readonly TorchSharp.Modules.Linear hidden;
        private readonly TorchSharp.Modules.Linear head;

        public Net(long seed)
            : base(nameof(Net))
        {
            hidden = nn.Linear(5, 6);
            head = nn.Linear(6, 3, hasBias: false);
            RegisterComponents();
            using var generator = new torch.Generator((ulong)seed);
            using (torch.no_grad())
            {
                foreach (var (_, p) in named_parameters())
                {
                    p.copy_(torch.randn(p.shape, generator: generator) * 0.5);
                }
            }
        }

        public TorchSharp.Modules.Linear Head => head;

        public override Tensor forward(Tensor x) => head.call(torch.tanh(hidden.call(x)));
    }

    private static (Net Model, IReadOnlyList<InfluenceBatch> Train, InfluenceBatch Test, List<TrainingCheckpoint> Checkpoints) Setup(int batchSize = 3)
    {
        var model = new Net(1);
        var x = torch.randn(10, 5, generator: new torch.Generator(2));
        var y = torch.tensor(new long[] { 0, 1, 2, 0, 1, 2, 0, 1, 2, 0 });
        var test = new InfluenceBatch(torch.randn(4, 5, generator: new torch.Generator(3)), torch.tensor(new long[] { 2, 1, 0, 1 }));
        var checkpoints = new[] { 4L, 5L }.Select((seed, i) => TrainingCheckpoint.FromStateDict(
            new Net(seed).state_dict().ToDictionary(p => p.Key, p => p.Value.detach().clone()), learningRate: 0.1 * (i + 1))).ToList();
        return (model, InfluenceData.Batches(x, y, batchSize), test, checkpoints);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(4)]
    [InlineData(10)]
    public void Influence_AnyTrainingBatchSize_GivesTheSameScores(int batchSize)
    {
        using var scope = torch.NewDisposeScope();
        var (model, train, test, checkpoints) = Setup(batchSize);
        var (_, reference, _, _) = Setup(batchSize: 10);

        using var scores = new TracInCP(model, train, checkpoints).Influence(test);
        using var expected = new TracInCP(model, reference, checkpoints).Influence(test);

        Assert.Equal(new long[] { 4, 10 }, scores.shape);
        TensorAssert.AllClose(scores, expected, 1e-6, 1e-5);
    }

    [Fact]
    public void SelfInfluence_IsTheDiagonalOfTheTrainingSetsInfluenceOnItself()
    {
        using var scope = torch.NewDisposeScope();
        var (model, train, _, checkpoints) = Setup();
        var tracin = new TracInCP(model, train, checkpoints);
        var all = new InfluenceBatch(torch.cat(train.Select(b => b.Inputs[0]).ToArray()), torch.cat(train.Select(b => b.Labels).ToArray()));

        using var self = tracin.SelfInfluence();
        using var scores = tracin.Influence(all);

        TensorAssert.AllClose(self, scores.diagonal(), 1e-6, 1e-5);
    }

    [Property(MaxTest = 8)]
    public void TracInCPFast_ModelWithoutFinalBias_EqualsTracInCPOverTheFinalLayer(int seed)
    {
        using var scope = torch.NewDisposeScope();
        var (model, _, _, checkpoints) = Setup();
        var random = new Random(seed);
        var rows = random.Next(1, 12);
        var generator = new torch.Generator((ulong)(uint)seed);
        var train = InfluenceData.Batches(torch.randn(rows, 5, generator: generator), torch.randint(0, 3, [rows], generator: generator), random.Next(1, 5));
        var testRows = random.Next(1, 4);
        var test = new InfluenceBatch(torch.randn(testRows, 5, generator: generator), torch.randint(0, 3, [testRows], generator: generator));

        using var fast = new TracInCPFast(model, model.Head, train, checkpoints).Influence(test);
        using var exact = new TracInCP(model, train, checkpoints, new TracInCPOptions { Layers = [model.Head] }).Influence(test);
        using var fastSelf = new TracInCPFast(model, "head", train, checkpoints).SelfInfluence();
        using var exactSelf = new TracInCP(model, train, checkpoints, new TracInCPOptions { Layers = ["head"] }).SelfInfluence();

        TensorAssert.AllClose(fast, exact, 1e-6, 1e-5);
        TensorAssert.AllClose(fastSelf, exactSelf, 1e-6, 1e-5);
    }

    [Fact]
    public void MostInfluential_ProponentsAndOpponents_AreTheTopAndBottomOfTheScores()
    {
        using var scope = torch.NewDisposeScope();
        var (model, train, test, checkpoints) = Setup();
        var tracin = new TracInCP(model, train, checkpoints);

        using var scores = tracin.Influence(test);
        using var proponents = tracin.MostInfluential(test, 3);
        using var opponents = tracin.MostInfluential(test, 3, proponents: false);

        var sorted = scores.sort(dim: 1, descending: true);
        TensorAssert.AllClose(proponents.Scores, sorted.Values.narrow(1, 0, 3), 0, 0);
        TensorAssert.AllClose(scores.gather(1, proponents.Indices), proponents.Scores, 0, 0);
        TensorAssert.AllClose(opponents.Scores, sorted.Values.flip(1).narrow(1, 0, 3), 0, 0);
    }

    [Fact]
    public void EveryCall_LeavesTheModelsWeightsAndRequiresGradAsGiven()
    {
        using var scope = torch.NewDisposeScope();
        var (model, train, test, checkpoints) = Setup();
        model.Head.weight!.requires_grad_(false);
        var before = model.state_dict().ToDictionary(p => p.Key, p => p.Value.detach().clone());

        new TracInCP(model, train, checkpoints).Influence(test).Dispose();
        new TracInCPFast(model, model.Head, train, checkpoints).SelfInfluence().Dispose();
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        Assert.ThrowsAny<OperationCanceledException>(() => new TracInCP(model, train, checkpoints).Influence(test, cancellationToken: cancelled.Token));

        Assert.False(model.Head.weight!.requires_grad);
        foreach (var (name, value) in model.state_dict())
        {
            TensorAssert.AllClose(value, before[name], 0, 0, name);
        }
    }

    [Fact]
    public void Calls_FourThreadsOnOneModel_EqualTheSerialResultsAndLeaveTheWeights()
    {
        using var scope = torch.NewDisposeScope();
        var (model, train, test, two) = Setup();

        // Many checkpoints, so that each call loads weights into the model many times while the others run.
        var checkpoints = Enumerable.Range(0, 6).SelectMany(_ => two).ToList();
        var before = model.state_dict().ToDictionary(p => p.Key, p => p.Value.detach().clone());
        Func<Tensor>[] calls =
        [
            () => new TracInCP(model, train, checkpoints).Influence(test),
            () => new TracInCPFast(model, model.Head, train, checkpoints).SelfInfluence(),
            () => new TracInCP(model, train, checkpoints).SelfInfluence(),
            () => new TracInCPFast(model, model.Head, train, checkpoints).Influence(test),
        ];
        var serial = calls.Select(call => call()).ToList();

        var parallel = new Tensor[calls.Length * 3];
        var threads = Enumerable.Range(0, calls.Length).Select(t => new Thread(() =>
        {
            for (var round = 0; round < 3; round++)
            {
                using var threadScope = torch.NewDisposeScope();
                parallel[(round * calls.Length) + t] = calls[t]().MoveToOuterDisposeScope();
            }
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());

        for (var i = 0; i < parallel.Length; i++)
        {
            TensorAssert.AllClose(parallel[i], serial[i % calls.Length], 0, 0, $"call {i % calls.Length}, round {i / calls.Length}");
        }

        foreach (var (name, value) in model.state_dict())
        {
            TensorAssert.AllClose(value, before[name], 0, 0, name);
        }
    }

    [Fact]
    public void Influence_WithProgress_ReportsEveryBatchOfEveryCheckpointInOrder()
    {
        using var scope = torch.NewDisposeScope();
        var (model, train, test, checkpoints) = Setup(batchSize: 4);
        var reports = new List<AttributionProgress>();

        new TracInCP(model, train, checkpoints).Influence(test, new SynchronousProgress<AttributionProgress>(reports.Add)).Dispose();

        Assert.Equal(Enumerable.Range(1, 6).Select(i => new AttributionProgress(i, 6)), reports);
    }

    [Fact]
    public void TrainingCheckpoint_TorchSaveFileWithItsLearningRate_GivesTheSameScoresAsTheStateDict()
    {
        using var scope = torch.NewDisposeScope();
        var (model, train, test, _) = Setup();
        var folder = Directory.CreateTempSubdirectory("captum-tracin-");
        try
        {
            var weights = new Net(4).state_dict().ToDictionary(p => p.Key, p => p.Value.detach().clone());
            var path = Path.Combine(folder.FullName, "epoch-1.pt");
            Captum.Checkpoints.TorchCheckpoint.Save(
                new Dictionary<string, object> { ["model_state_dict"] = weights, ["learning_rate"] = 0.25 }, path);

            using var fromFile = new TracInCP(model, train, [TrainingCheckpoint.FromFile(path)]).Influence(test);
            using var fromMemory = new TracInCP(model, train, [TrainingCheckpoint.FromStateDict(weights, 0.25)]).Influence(test);

            TensorAssert.AllClose(fromFile, fromMemory, 0, 0);
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    [Fact]
    public void Influence_TrainingDataFromATorchSharpDataLoader_EqualsTheSameTensorsInBatches()
    {
        using var scope = torch.NewDisposeScope();
        var (model, train, test, checkpoints) = Setup(batchSize: 4);
        var x = torch.cat(train.Select(b => b.Inputs[0]).ToArray());
        var y = torch.cat(train.Select(b => b.Labels).ToArray());
        using var dataset = new NamedTensors(x, y);
        using var loader = new TorchSharp.Modules.DataLoader(dataset, 4, shuffle: false);

        using var fromLoader = new TracInCP(model, InfluenceData.FromNamedBatches(loader, "label", "image"), checkpoints).Influence(test);
        using var fromTensors = new TracInCP(model, train, checkpoints).Influence(test);

        TensorAssert.AllClose(fromLoader, fromTensors, 1e-6, 1e-5);
        Assert.Contains("'pixels'", Assert.Throws<ArgumentException>(() => new TracInCP(model, InfluenceData.FromNamedBatches(loader, "label", "pixels"), checkpoints).SelfInfluence()).Message, StringComparison.Ordinal);
    }

    /// <summary>A TorchSharp dataset of (image, label) pairs.</summary>
    private sealed class NamedTensors(Tensor x, Tensor y) : torch.utils.data.Dataset
    {
        public override long Count => x.shape[0];

        public override Dictionary<string, Tensor> GetTensor(long index) =>
            new() { ["image"] = x[index], ["label"] = y[index] };
    }

    [Fact]
    public void Constructor_NoCheckpointsOrAnUnknownLayer_ThrowsNamingThem()
    {
        using var scope = torch.NewDisposeScope();
        var (model, train, _, checkpoints) = Setup();

        Assert.Equal("checkpoints", Assert.Throws<ArgumentException>(() => new TracInCP(model, train, [])).ParamName);
        Assert.Contains("nope", Assert.ThrowsAny<ArgumentException>(() => new TracInCP(model, train, checkpoints, new TracInCPOptions { Layers = ["nope"] })).Message, StringComparison.Ordinal);
        Assert.Equal("finalFcLayer", Assert.ThrowsAny<ArgumentException>(() => new TracInCPFast(model, "nope", train, checkpoints)).ParamName);
    }

    [Fact]
    public void TracInCPFast_FinalLayerWhoseOutputIsNotTheModels_ThrowsNamingIt()
    {
        using var scope = torch.NewDisposeScope();
        var (model, train, test, checkpoints) = Setup();
        var softmaxed = nn.Sequential(("net", model), ("softmax", nn.Softmax(1)));
        TrainingCheckpoint[] softmaxedCheckpoints = [TrainingCheckpoint.FromStateDict(softmaxed.state_dict().ToDictionary(p => p.Key, p => p.Value.detach().clone()))];

        // "hidden" feeds tanh and the head; the head's output feeds a softmax: neither is the model's output.
        var e = Assert.ThrowsAny<ArgumentException>(() => new TracInCPFast(model, "hidden", train, checkpoints).Influence(test));
        Assert.Equal("finalFcLayer", e.ParamName);
        Assert.Contains("model's output", e.Message, StringComparison.Ordinal);
        Assert.Equal("finalFcLayer", Assert.ThrowsAny<ArgumentException>(() => new TracInCPFast(softmaxed, "net.head", train, softmaxedCheckpoints).SelfInfluence()).ParamName);
        Assert.Equal("finalFcLayer", Assert.ThrowsAny<ArgumentException>(() => new TracInCPFastRandProj(model, "hidden", train, checkpoints)).ParamName);
    }

    [Fact]
    public void TracInCPFast_FinalLayerAppliedAtEveryPosition_ThrowsNamingItAndTracInCP()
    {
        // A token classifier: [n, T, 3] -> [n, T, 5]. Its weight gradient per example is a sum over positions of outer
        // products, which the product of the gradients' and the inputs' dot products is not: the fast methods refuse.
        using var scope = torch.NewDisposeScope();
        torch.manual_seed(4);
        var model = nn.Sequential(("hidden", nn.Linear(3, 4)), ("tanh", nn.Tanh()), ("head", nn.Linear(4, 5)));
        InfluenceLoss perSequence = (o, l) => nn.functional.cross_entropy(o.reshape(-1, 5), l.reshape(-1), reduction: nn.Reduction.None).reshape(l.shape[0], -1).sum(1);
        var train = InfluenceData.Batches(torch.randn(6, 7, 3), torch.randint(0, 5, [6, 7]), 3);
        TrainingCheckpoint[] checkpoints = [TrainingCheckpoint.FromStateDict(model.state_dict().ToDictionary(p => p.Key, p => p.Value.detach().clone()))];

        var e = Assert.ThrowsAny<ArgumentException>(() => new TracInCPFast(model, "head", train, checkpoints, new TracInCPFastOptions { Loss = perSequence }).SelfInfluence());
        Assert.Equal("finalFcLayer", e.ParamName);
        Assert.Contains("TracInCP with Layers", e.Message, StringComparison.Ordinal);
        Assert.Equal("finalFcLayer", Assert.ThrowsAny<ArgumentException>(() => new TracInCPFastRandProj(model, "head", train, checkpoints, new TracInCPFastRandProjOptions { Loss = perSequence })).ParamName);
    }

    [Fact]
    public void Influence_OutputLossOnALinearModel_IsTheLearningRateWeightedKernelOfTheSummedOutput()
    {
        // Captum's loss_fn=None: d(sum of outputs)/dW has every row x and d/db is all ones, whatever the weights, so
        // each checkpoint adds lr * classes * (x_test . x_train + 1).
        using var scope = torch.NewDisposeScope();
        var model = nn.Linear(4, 3);
        var x = torch.randn(5, 4, generator: new torch.Generator(7));
        var test = torch.randn(2, 4, generator: new torch.Generator(8));
        var rates = new[] { 0.5, 0.25 };
        var checkpoints = rates.Select((rate, i) => TrainingCheckpoint.FromStateDict(
            nn.Linear(4, 3).state_dict().ToDictionary(p => p.Key, p => torch.randn(p.Value.shape, generator: new torch.Generator((ulong)(20 + i))).detach()), rate)).ToList();

        using var scores = new TracInCP(model, InfluenceData.Batches(x, torch.zeros(5, ScalarType.Int64), 2), checkpoints, new TracInCPOptions { Loss = InfluenceLosses.Output })
            .Influence(new InfluenceBatch(test, torch.zeros(2, ScalarType.Int64)));

        var expected = (test.matmul(x.T) + 1) * (3 * rates.Sum());
        Assert.True(scores.allclose(expected, rtol: 1e-5, atol: 1e-5), $"{scores.str()} vs {expected.str()}");
    }

    [Fact]
    public void Calls_BadKALossOrBatch_ThrowNamingThem()
    {
        using var scope = torch.NewDisposeScope();
        var (model, train, test, checkpoints) = Setup();
        var tracin = new TracInCP(model, train, checkpoints);
        var summed = new TracInCP(model, train, checkpoints, new TracInCPOptions { Loss = (o, y) => nn.functional.cross_entropy(o, y) });

        Assert.Equal("k", Assert.Throws<ArgumentOutOfRangeException>(() => tracin.MostInfluential(test, 11)).ParamName);
        Assert.Equal("k", Assert.Throws<ArgumentOutOfRangeException>(() => tracin.MostInfluential(test, 0)).ParamName);
        Assert.Equal("Loss", Assert.Throws<ArgumentException>(() => summed.Influence(test)).ParamName);
        Assert.Equal("test", Assert.Throws<ArgumentException>(() => tracin.Influence(new InfluenceBatch(torch.randn(3, 5), torch.zeros(2, ScalarType.Int64)))).ParamName);
    }

    [Fact]
    public void Influence_LabelOutsideTheModelsClasses_ThrowsNamingTheLabels()
    {
        using var scope = torch.NewDisposeScope();
        var (model, train, _, checkpoints) = Setup();
        var test = new InfluenceBatch(torch.randn(2, 5), torch.tensor(new long[] { 0, 9 }));

        var ex = Assert.Throws<ArgumentException>(() => new TracInCP(model, train, checkpoints).Influence(test));

        Assert.Equal("labels", ex.ParamName);
        Assert.Contains("class index 9 is out of range for the model's 3 outputs", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void CrossEntropy_IgnoreIndexLabel_LossZeroAsPyTorchOthersUnchanged()
    {
        using var scope = torch.NewDisposeScope();
        var logits = torch.randn(3, 4);
        var labels = torch.tensor(new long[] { 2, InfluenceLosses.IgnoreIndex, 0 });

        var loss = InfluenceLosses.CrossEntropy(logits, labels);

        var expected = nn.functional.cross_entropy(logits, torch.tensor(new long[] { 2, 0, 0 }), reduction: nn.Reduction.None);
        Assert.Equal(0f, loss[1].item<float>());
        TensorAssert.AllClose(loss.index_select(0, torch.tensor(new long[] { 0, 2 })), expected.index_select(0, torch.tensor(new long[] { 0, 2 })), 1e-6, 1e-6);
        Assert.Equal("labels", Assert.Throws<ArgumentException>(() => InfluenceLosses.CrossEntropy(logits, torch.tensor(new long[] { 2, -1, 0 }))).ParamName);
    }

    [Theory]
    [InlineData(double.NaN)]
    [InlineData(-0.1)]
    [InlineData(double.PositiveInfinity)]
    public void Influence_CheckpointGivingABadLearningRate_ThrowsNamingTheCheckpoints(double rate)
    {
        using var scope = torch.NewDisposeScope();
        var (model, train, test, checkpoints) = Setup();
        TrainingCheckpoint[] bad = [checkpoints[0], TrainingCheckpoint.FromFunction("epoch 2", m => rate)];

        var ex = Assert.Throws<ArgumentException>(() => new TracInCP(model, train, bad).Influence(test));

        Assert.Equal("checkpoints", ex.ParamName);
        Assert.Contains("'epoch 2' gave the learning rate", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Influence_DataGivingFewerExamplesAtTheSecondCheckpoint_ThrowsNamingTheData()
    {
        using var scope = torch.NewDisposeScope();
        var (model, train, test, checkpoints) = Setup();
        var enumerations = 0;
        IEnumerable<InfluenceBatch> Shrinking()
        {
            enumerations++;
            return enumerations == 1 ? train : train.Take(train.Count - 1);
        }

        var ex = Assert.Throws<ArgumentException>(() => new TracInCP(model, new Deferred(Shrinking), checkpoints).Influence(test));

        Assert.Equal("data", ex.ParamName);
        Assert.Contains("examples for checkpoint", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Influence_TrainingBatchTheModelCannotTake_ThrowsNamingTheBatch()
    {
        using var scope = torch.NewDisposeScope();
        var (model, _, test, checkpoints) = Setup();
        InfluenceBatch[] wide = [new InfluenceBatch(torch.randn(3, 7), torch.tensor(new long[] { 0, 1, 2 }))];

        var ex = Assert.Throws<ArgumentException>(() => new TracInCP(model, wide, checkpoints).Influence(test));

        Assert.Equal("data", ex.ParamName);
        Assert.StartsWith("data: the model cannot take batch 0 (libtorch: ", ex.Message, StringComparison.Ordinal);
    }

    /// <summary>A sequence whose every enumeration asks <paramref name="make"/> anew.</summary>
    private sealed class Deferred(Func<IEnumerable<InfluenceBatch>> make) : IEnumerable<InfluenceBatch>
    {
        public IEnumerator<InfluenceBatch> GetEnumerator() => make().GetEnumerator();

        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
    }
}
