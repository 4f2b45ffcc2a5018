using Captum.Concept;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Captum.Tests.Concepts;

using Concept = Captum.Concept.Concept;

/// <summary>TCAV on a model whose answer depends on one known direction of a layer, its caches and its errors.</summary>
[Collection(Captum.Tests.Attr.SerialCollection.Name)]
public sealed class TCAVTests
{
    private const int Features = 8;

    [Fact]
    public void ConceptInterpreter_TCAVThroughTheBase_InterpretsAsItselfAndNamesTheModelArgument()
    {
        using var scope = torch.NewDisposeScope();
        var model = new DirectionModel(Features, 2);
        using var tcav = new TCAV(model, "hidden");
        ConceptInterpreter interpreter = tcav;
        var along = model.Concept(0, "along", along: 3, noise: 0.5);
        var random = model.Concept(2, "random", along: 0, noise: 0.5);
        var inputs = torch.randn(6, Features, generator: new torch.Generator(3));

        var viaBase = interpreter.Interpret(inputs, [[along, random]], new TCAVOptions { Target = 0 });
        var direct = tcav.Interpret(inputs, [[along, random]], new TCAVOptions { Target = 0 });

        Assert.Same(model, interpreter.Model.Module);
        Assert.Equal(direct[0, "hidden"].SignCount, viaBase[0, "hidden"].SignCount);
        Assert.Equal(direct[0, "hidden"].Magnitude, viaBase[0, "hidden"].Magnitude);
        Assert.Equal("forwardFunc", Assert.Throws<ArgumentNullException>(() => new TCAV(null!, "hidden")).ParamName);
    }

    [Fact]
    public void Calls_FourThreadsOnOneInstance_EqualTheSerialResults()
    {
        using var scope = torch.NewDisposeScope();
        var model = new DirectionModel(Features, 2);
        var concepts = Enumerable.Range(0, 6).Select(i => model.Concept(i, $"c{i}", along: i - 2.5, noise: 0.5)).ToList();
        var inputs = torch.randn(6, Features, generator: new torch.Generator(3));
        IReadOnlyList<IReadOnlyList<Concept>>[] sets = [.. Enumerable.Range(0, 4).Select(t => (IReadOnlyList<IReadOnlyList<Concept>>)[[concepts[t], concepts[t + 1]], [concepts[t + 2], concepts[5 - t]]])];
        double[] Scores(TCAV tcav, int t) =>
        [
            .. tcav.Interpret(inputs, sets[t], new TCAVOptions { Target = 0 }).Scores.SelectMany(s => s.SignCount.Concat(s.Magnitude)),
            .. tcav.TestSignificance(inputs, concepts[t], [.. concepts.Where(c => c.Id != t).Take(3)], new TCAVOptions { Target = 0 }).Select(r => r.PValue),
        ];
        double[][] serial;
        using (var alone = new TCAV(model, "hidden"))
        {
            serial = [.. Enumerable.Range(0, 4).Select(t => Scores(alone, t))];
        }

        using var shared = new TCAV(model, "hidden");
        var results = new double[4][];
        var threads = Enumerable.Range(0, 4).Select(t => new Thread(() =>
        {
            using var threadScope = torch.NewDisposeScope();
            results[t] = Scores(shared, t);
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());

        for (var t = 0; t < 4; t++)
        {
            Assert.Equal(serial[t], results[t]);
        }
    }

    [Fact]
    public void ComputeCavs_ConceptAlongTheModelsDirection_RecoversTheDirectionAndReportsAccuracy()
    {
        using var scope = torch.NewDisposeScope();
        var model = new DirectionModel(Features, 1);
        using var tcav = new TCAV(model, "hidden");
        // Tight clusters: with widely spread examples the hinge-loss CAV tilts towards its support vectors (docs/concept.md).
        var along = model.Concept(0, "along", along: 3, noise: 0.05);
        var random = model.Concept(1, "random", along: 0, noise: 0.05);

        var cav = tcav.ComputeCavs([[along, random]])[0][0];

        var vector = cav.VectorOf(along);
        var cosine = (vector.dot(model.Direction) / vector.norm()).item<float>();
        Assert.True(cosine > 0.99, $"cosine {cosine}");
        Assert.Equal([0L, 1L], cav.Classes);
        Assert.True(cav.Accuracy > 0.95, $"accuracy {cav.Accuracy}");
        Assert.Equal("hidden", cav.Layer);
        TensorAssert.AllClose(-cav.VectorOf(random), vector, 0, 0);
    }

    [Theory]
    [InlineData(TCAVAttribution.Gradient)]
    [InlineData(TCAVAttribution.IntegratedGradients)]
    public void Interpret_ConceptAlongOrAgainstTheDirection_ScoresOneOrZero(TCAVAttribution attribution)
    {
        using var scope = torch.NewDisposeScope();
        var model = new DirectionModel(Features, 2);
        using var tcav = new TCAV(model, "hidden");
        var along = model.Concept(0, "along", along: 3, noise: 0.5);
        var against = model.Concept(1, "against", along: -3, noise: 0.5);
        var random = model.Concept(2, "random", along: 0, noise: 0.5);
        var inputs = torch.randn(10, Features, generator: new torch.Generator(3));

        var result = tcav.Interpret(inputs, [[along, random], [against, random]], new TCAVOptions { Target = 0, Attribution = attribution, Steps = 8 });

        Assert.Equal([1.0, 0.0], result[0, "hidden"].SignCount);
        Assert.Equal([0.0, 1.0], result[1, "hidden"].SignCount);
        Assert.Equal("0-2", result[0, "hidden"].SetKey);

        // The gradient is d for every input: the magnitude is d · (the concept's vector), the same for every input.
        var cavs = tcav.ComputeCavs([[along, random]])[0];
        var expected = model.Direction.dot(cavs[0].VectorOf(along)).item<float>();
        Assert.Equal(expected, result["0-2", "hidden"].Magnitude[0], 4);
        Assert.Equal(-expected, result["0-2", "hidden"].Magnitude[1], 4);
    }

    [Theory]
    [InlineData(TCAVSignificanceTest.AmongRandomConcepts)]
    [InlineData(TCAVSignificanceTest.AgainstReferenceRandomConcept)]
    public void TestSignificance_ConceptAlongTheDirection_IsSignificant_AnUnrelatedOneIsNot(TCAVSignificanceTest test)
    {
        using var scope = torch.NewDisposeScope();
        // Curved, so that sign counts spread between 0 and 1: in a model linear in the layer every score is 0 or 1.
        var model = new DirectionModel(Features, 4, curvature: 3);
        using var tcav = new TCAV(model, "hidden");
        var randoms = Enumerable.Range(10, 6).Select(i => model.Concept(i, $"random{i}", along: 0, noise: 1, batches: 2)).ToList();
        var along = model.Concept(0, "along", along: 2, noise: 1, batches: 2);
        var unrelated = model.OrthogonalConcept(1, "unrelated", shift: 2, noise: 1, batches: 2);
        var inputs = torch.randn(24, Features, generator: new torch.Generator(5));

        var significant = Assert.Single(tcav.TestSignificance(inputs, along, randoms, new TCAVOptions { Target = 0 }, test: test));
        var not = Assert.Single(tcav.TestSignificance(inputs, unrelated, randoms, new TCAVOptions { Target = 0 }, test: test));

        var scores = test == TCAVSignificanceTest.AmongRandomConcepts ? 6 : 5;
        Assert.Equal(scores, significant.Scores.Count);
        Assert.Equal(test, significant.Test);
        Assert.True(significant.Mean > 0.9, $"mean {significant.Mean}");
        Assert.True(significant.IsSignificant, $"p {significant.PValue}, scores {string.Join(", ", significant.Scores)} vs {string.Join(", ", significant.RandomScores)}");
        Assert.False(not.IsSignificant, $"p {not.PValue}, scores {string.Join(", ", not.Scores)} vs {string.Join(", ", not.RandomScores)}");
        Assert.Equal(0.05, not.Alpha);
    }

    [Fact]
    public void TestSignificance_AmongRandomConcepts_ComparesTheConceptsMeanWithEachRandomConceptsMeanAgainstTheOthers()
    {
        using var scope = torch.NewDisposeScope();
        var model = new DirectionModel(Features, 8, curvature: 3);
        using var tcav = new TCAV(model, "hidden");
        var randoms = Enumerable.Range(10, 4).Select(i => model.Concept(i, $"random{i}", along: 0, noise: 1)).ToList();
        var concept = model.OrthogonalConcept(1, "unrelated", shift: 2, noise: 1);
        var inputs = torch.randn(12, Features, generator: new torch.Generator(9));
        var options = new TCAVOptions { Target = 0 };

        var test = Assert.Single(tcav.TestSignificance(inputs, concept, randoms, options));

        // Every pair of the five concepts; each one's score is its own in the pair, averaged over its four partners.
        var all = randoms.Prepend(concept).ToList();
        double ScoreOf(int x, int y)
        {
            var set = x < y ? all[x].Id + "-" + all[y].Id : all[y].Id + "-" + all[x].Id;
            var result = tcav.Interpret(inputs, [x < y ? [all[x], all[y]] : [all[y], all[x]]], options);
            return result[set, "hidden"].SignCount[x < y ? 0 : 1];
        }

        var means = Enumerable.Range(0, 5).Select(x => Enumerable.Range(0, 5).Where(y => y != x).Average(y => ScoreOf(x, y))).ToArray();
        Assert.Equal(TCAVSignificanceTest.AmongRandomConcepts, test.Test);
        Assert.Equal(Enumerable.Range(1, 4).Select(y => ScoreOf(0, y)), test.Scores);
        Assert.Equal(means[0], test.Mean, 12);
        Assert.Equal(4, test.RandomScores.Count);
        for (var i = 0; i < 4; i++)
        {
            Assert.Equal(means[i + 1], test.RandomScores[i], 12);
        }

        var sd = Math.Sqrt(means[1..].Sum(m => (m - means[1..].Average()) * (m - means[1..].Average())) / 3);
        Assert.Equal((means[0] - means[1..].Average()) / (sd * Math.Sqrt(1 + (1.0 / 4))), test.TStatistic, 10);
        Assert.Equal(3, test.DegreesOfFreedom);
    }

    [Fact]
    public void TestSignificance_AConceptOfRandomExamples_IsSignificantAboutAsOftenAsAlpha_TheTutorialsTestMoreOften()
    {
        // The false-positive rate: 24 trials, each a fresh concept and five fresh random concepts all drawn from the
        // same distribution, so the null hypothesis holds and any significant verdict is a false positive.
        using var scope = torch.NewDisposeScope();
        var model = new DirectionModel(Features, 12, curvature: 3);
        using var tcav = new TCAV(model, "hidden", new LinearConceptClassifier { MaxIterations = 200 });
        var inputs = torch.randn(24, Features, generator: new torch.Generator(13));
        var options = new TCAVOptions { Target = 0 };
        var (among, reference) = (0, 0);
        const int Trials = 24;
        for (var trial = 0; trial < Trials; trial++)
        {
            var id = 100 * (trial + 1);
            var concept = model.Concept(id, "concept", along: 0, noise: 1, batches: 1, batchSize: 24);
            var randoms = Enumerable.Range(id + 1, 5).Select(i => model.Concept(i, $"random{i}", along: 0, noise: 1, batches: 1, batchSize: 24)).ToList();
            among += tcav.TestSignificance(inputs, concept, randoms, options).Count(r => r.IsSignificant);
            reference += tcav.TestSignificance(inputs, concept, randoms, options, test: TCAVSignificanceTest.AgainstReferenceRandomConcept).Count(r => r.IsSignificant);
            tcav.ClearCache();
        }

        // At alpha 0.05, 24 trials give 1.2 false positives on average; 4 or more has probability 0.03 for a calibrated test.
        Assert.True(among <= 3, $"{among} of {Trials} random concepts came out significant among random concepts");
        Assert.True(reference > among, $"the tutorial's test: {reference} of {Trials}; among random concepts: {among}");
    }

    [Fact]
    public void TestSignificance_AgainstReferenceRandomConcept_ScoresOnePerSet_ConceptAndReferenceAgainstTheSameRandomConcepts()
    {
        using var scope = torch.NewDisposeScope();
        var model = new DirectionModel(Features, 8);
        using var tcav = new TCAV(model, "hidden");
        var randoms = Enumerable.Range(10, 4).Select(i => model.Concept(i, $"random{i}", along: 0, noise: 1)).ToList();
        var concept = model.OrthogonalConcept(1, "unrelated", shift: 2, noise: 1);
        var inputs = torch.randn(12, Features, generator: new torch.Generator(9));
        var options = new TCAVOptions { Target = 0, Attribution = TCAVAttribution.Gradient };

        var test = Assert.Single(tcav.TestSignificance(inputs, concept, randoms, options, test: TCAVSignificanceTest.AgainstReferenceRandomConcept));

        // Captum's tutorial: the concept's score in [concept, r_i] against r_0's in [r_0, r_i], for i = 1 .. N - 1.
        var partners = randoms.Skip(1).ToList();
        var scores = tcav.Interpret(inputs, partners.Select(r => (IReadOnlyList<Concept>)[concept, r]).ToList(), options);
        var reference = tcav.Interpret(inputs, partners.Select(r => (IReadOnlyList<Concept>)[randoms[0], r]).ToList(), options);
        Assert.Equal(Enumerable.Range(0, 3).Select(i => scores[i, "hidden"].SignCount[0]), test.Scores);
        Assert.Equal(Enumerable.Range(0, 3).Select(i => reference[i, "hidden"].SignCount[0]), test.RandomScores);
        var (t, _, p) = Welch.Test(test.Scores, test.RandomScores);
        Assert.Equal(p, test.PValue);
        Assert.Equal(t, test.TStatistic);
    }

    [Fact]
    public void TestSignificance_FewerThanThreeRandomConcepts_NamesTheArgument()
    {
        using var scope = torch.NewDisposeScope();
        var model = new DirectionModel(Features, 6);
        using var tcav = new TCAV(model, "hidden");
        var concept = model.Concept(0, "along", 2, 1);
        var e = Assert.Throws<ArgumentException>(() => tcav.TestSignificance(torch.randn(2, Features), concept, [model.Concept(1, "r", 0, 1), model.Concept(2, "s", 0, 1)], new TCAVOptions { Target = 0 }));
        Assert.Equal("randomConcepts", e.ParamName);
        Assert.Contains("at least three", e.Message);
        Assert.Equal(0, model.ForwardCalls);
    }

    [Fact]
    public void Interpret_ConceptWithoutExamples_NamesTheConceptBeforeAnyForwardPass()
    {
        using var scope = torch.NewDisposeScope();
        var model = new DirectionModel(Features, 7);
        using var tcav = new TCAV(model, "hidden");
        var random = model.Concept(1, "random", 0, 1);
        var inputs = torch.randn(2, Features);

        var empty = new Concept(0, "empty", Array.Empty<Tensor>());
        var e = Assert.Throws<ArgumentException>(() => tcav.Interpret(inputs, [[random, empty]], new TCAVOptions { Target = 0 }));
        Assert.Equal("experimentalSets", e.ParamName);
        Assert.Contains("empty", e.Message);
        Assert.Contains("no examples", e.Message);

        var none = new Concept(2, "none", (IEnumerable<Tensor>?)null);
        e = Assert.Throws<ArgumentException>(() => tcav.Interpret(inputs, [[random, none]], new TCAVOptions { Target = 0 }));
        Assert.Contains("none", e.Message);

        var zeroRows = new Concept(3, "zero-rows", [torch.zeros(0, Features)]);
        e = Assert.Throws<ArgumentException>(() => tcav.Interpret(inputs, [[random, zeroRows]], new TCAVOptions { Target = 0 }));
        Assert.Contains("zero-rows", e.Message);
        Assert.Equal(0, model.ForwardCalls);
    }

    [Fact]
    public void Interpret_ExamplesOfTheWrongShape_NameTheConceptAndShapes()
    {
        using var scope = torch.NewDisposeScope();
        var model = new DirectionModel(Features, 8);
        using var tcav = new TCAV(model, "hidden");
        var random = model.Concept(1, "random", 0, 1);
        var wrong = new Concept(0, "wide", [torch.randn(4, Features + 1)]);

        var e = Assert.Throws<ArgumentException>(() => tcav.Interpret(torch.randn(2, Features), [[random, wrong]], new TCAVOptions { Target = 0 }));

        Assert.Equal("experimentalSets", e.ParamName);
        Assert.Contains("wide", e.Message);
        Assert.Contains($"[{Features + 1}]", e.Message);
        Assert.Contains($"[{Features}]", e.Message);
        Assert.Equal(0, model.ForwardCalls);

        // A later batch of another shape is caught before its forward pass too.
        var mixed = new Concept(2, "mixed", [torch.randn(4, Features), torch.randn(4, 2, Features)]);
        e = Assert.Throws<ArgumentException>(() => tcav.ComputeCavs([[random, mixed]]));
        Assert.Contains("mixed", e.Message);
        Assert.Contains("batch 1", e.Message);
    }

    [Fact]
    public void ComputeCavs_SourceKeepingATensorAcrossBatches_SaysWhyItWasFreed()
    {
        using var scope = torch.NewDisposeScope();
        var model = new DirectionModel(Features, 16);
        using var tcav = new TCAV(model, "hidden");

        static IEnumerable<Tensor> Keeping()
        {
            var shared = torch.ones(1, Features);   // made during the first batch, freed after it
            for (var b = 0; b < 3; b++)
            {
                yield return shared * b;
            }
        }

        var e = Assert.Throws<InvalidOperationException>(() => tcav.ComputeCavs([[new Concept(0, "keeping", Keeping()), model.Concept(1, "r", 0, 1)]]));
        Assert.Contains("keeping", e.Message);
        Assert.Contains("before the enumeration", e.Message);
    }

    [Fact]
    public void Constructor_LayerThatDoesNotExist_NamesTheArgumentAndThePath()
    {
        var model = new DirectionModel(Features, 9);
        var e = Assert.Throws<ArgumentException>(() => new TCAV(model, ["hidden", "nowhere"]));
        Assert.Equal("layers", e.ParamName);
        Assert.Contains("nowhere", e.Message);
    }

    [Fact]
    public void Interpret_BadSets_AreRefusedNamingThem()
    {
        using var scope = torch.NewDisposeScope();
        var model = new DirectionModel(Features, 10);
        using var tcav = new TCAV(model, "hidden");
        var a = model.Concept(0, "a", 1, 1);
        var inputs = torch.randn(2, Features);
        var options = new TCAVOptions { Target = 0 };

        Assert.Equal("experimentalSets", Assert.Throws<ArgumentException>(() => tcav.Interpret(inputs, [[a]], options)).ParamName);
        Assert.Equal("experimentalSets", Assert.Throws<ArgumentException>(() => tcav.Interpret(inputs, [[a, a]], options)).ParamName);
        var twin = model.Concept(0, "twin", 1, 1);
        var e = Assert.Throws<ArgumentException>(() => tcav.Interpret(inputs, [[a, model.Concept(1, "b", 0, 1)], [twin, model.Concept(2, "c", 0, 1)]], options));
        Assert.Contains("share the id 0", e.Message);
        Assert.Equal("target", Assert.ThrowsAny<ArgumentException>(() => tcav.Interpret(inputs, [[a, model.Concept(1, "b", 0, 1)]], new TCAVOptions { Target = new[] { 0, 0, 0 } })).ParamName);
        Assert.Equal(0, model.ForwardCalls);
    }

    [Fact]
    public void Interpret_SecondCall_ReadsNoConceptExampleAgain_AndADiskCacheServesANewInstance()
    {
        using var scope = torch.NewDisposeScope();
        var folder = Directory.CreateTempSubdirectory("tcav-cache-").FullName;
        try
        {
            var model = new DirectionModel(Features, 11);
            var along = model.Concept(0, "along", 3, 0.5, batches: 3);
            var random = model.Concept(1, "random", 0, 0.5, batches: 3);
            var inputs = torch.randn(5, Features, generator: new torch.Generator(12));
            var options = new TCAVOptions { Target = 0 };

            using var tcav = new TCAV(model, "hidden", cacheDirectory: folder, modelId: "direction");
            var first = tcav.Interpret(inputs, [[along, random]], options);
            Assert.Equal(6 + 1, model.ForwardCalls);   // 3 batches per concept, one attribution pass

            var second = tcav.Interpret(inputs, [[along, random]], options);
            Assert.Equal(6 + 2, model.ForwardCalls);   // the attribution pass only
            Assert.Equal(first[0, "hidden"], second[0, "hidden"], TCAVScoreComparer.Instance);

            // A new TCAV on the same folder loads the CAV from disk; concepts without examples are enough.
            using var fresh = new TCAV(model, "hidden", cacheDirectory: folder, modelId: "direction");
            var loaded = fresh.Interpret(inputs, [[new Concept(0, "along", (IEnumerable<Tensor>?)null), new Concept(1, "random", (IEnumerable<Tensor>?)null)]], options);
            Assert.Equal(6 + 3, model.ForwardCalls);
            Assert.Equal(first[0, "hidden"].SignCount, loaded[0, "hidden"].SignCount);
            Assert.Equal(first[0, "hidden"].Magnitude, loaded[0, "hidden"].Magnitude);

            // A new set of the same concepts trains a new CAV from the activations on disk, without a forward pass.
            using var third = new TCAV(model, "hidden", cacheDirectory: folder, modelId: "direction", keepActivationsInMemory: false);
            third.ComputeCavs([[random, along]]);
            Assert.Equal(6 + 3, model.ForwardCalls);
            Assert.True(File.Exists(Path.Combine(folder, "direction", "cav", "1-0-hidden.safetensors")));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public void Interpret_ManyConcepts_KeepsMemoryFlat()
    {
        using var outer = torch.NewDisposeScope();
        var model = new DirectionModel(Features, 13);
        var inputs = torch.randn(4, Features, generator: new torch.Generator(14));
        var options = new TCAVOptions { Target = 0 };
        var random = model.Concept(1000, "random", 0, 1, batches: 2);

        var quick = new LinearConceptClassifier { MaxIterations = 20 };   // the CAVs' quality does not matter here
        using var tcav = new TCAV(model, "hidden", quick, keepActivationsInMemory: false);
        tcav.Interpret(inputs, [[model.Concept(0, "warm-up", 1, 1, batches: 2), random]], options);
        tcav.ClearCache();
        var live = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        for (var i = 1; i <= 30; i++)
        {
            tcav.Interpret(inputs, [[model.Concept(i, $"c{i}", 1, 1, batches: 2), random]], options);
        }

        // Without kept activations, only the 30 CAVs (one tensor each) outlive the calls.
        Assert.Equal(0, tcav.CachedActivationCount);
        Assert.Equal(30, tcav.CachedCavCount);
        Assert.Equal(live + 30, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
        tcav.ClearCache();
        Assert.Equal(live, DisposeScopeManager.Statistics.ThreadTotalLiveCount);

        // Kept activations are one tensor per (concept, layer), freed by ClearCache.
        using var keeping = new TCAV(model, "hidden", quick);
        for (var i = 1; i <= 10; i++)
        {
            keeping.Interpret(inputs, [[model.Concept(i, $"c{i}", 1, 1, batches: 2), random]], options);
        }

        Assert.Equal(11, keeping.CachedActivationCount);
        Assert.Equal(live + 11 + 10, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
        keeping.ClearCache();
        Assert.Equal(live, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
    }

    [Fact]
    public void Interpret_ProgressAndCancellation_ReportEveryStageAndStopBetweenBatches()
    {
        using var scope = torch.NewDisposeScope();
        var model = new DirectionModel(Features, 15);
        using var tcav = new TCAV(model, "hidden");
        var reports = new List<TCAVProgress>();
        var sets = new List<IReadOnlyList<Concept>> { new[] { model.Concept(0, "a", 2, 1), model.Concept(1, "b", 0, 1) }, new[] { model.Concept(2, "c", -2, 1), model.Concept(1, "b", 0, 1) } };

        using var cancel = new CancellationTokenSource();
        var inputs = torch.randn(3, Features);
        var live = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        var options = new TCAVOptions { Target = 0, Progress = new SynchronousProgress<TCAVProgress>(p => { reports.Add(p); if (p.Stage == TCAVStage.Activations) { cancel.Cancel(); } }) };
        Assert.ThrowsAny<OperationCanceledException>(() => tcav.Interpret(inputs, [sets[0]], options, cancel.Token));
        Assert.Equal([new TCAVProgress(TCAVStage.Activations, 1, 2)], reports);
        Assert.Equal(live + tcav.CachedActivationCount, DisposeScopeManager.Statistics.ThreadTotalLiveCount);

        reports.Clear();
        var b = sets[0][1];
        tcav.ClearCache();
        tcav.Interpret(inputs, [sets[0], [sets[1][0], b]], options with { Progress = new SynchronousProgress<TCAVProgress>(reports.Add) });
        Assert.Equal(
            [
                new(TCAVStage.Activations, 1, 3), new(TCAVStage.Activations, 2, 3), new(TCAVStage.Activations, 3, 3),
                new(TCAVStage.Classifiers, 1, 2), new(TCAVStage.Classifiers, 2, 2),
                new(TCAVStage.Attributions, 1, 1),
            ],
            reports);
    }

    private sealed class TCAVScoreComparer : IEqualityComparer<TCAVScore>
    {
        public static readonly TCAVScoreComparer Instance = new();

        public bool Equals(TCAVScore? x, TCAVScore? y) =>
            x is not null && y is not null && x.SetKey == y.SetKey && x.Layer == y.Layer && x.SignCount.SequenceEqual(y.SignCount) && x.Magnitude.SequenceEqual(y.Magnitude);

        public int GetHashCode(TCAVScore obj) => obj.SetKey.GetHashCode(StringComparison.Ordinal);
    }

    [Fact]
    public void Interpret_LayerWhoseHiddenStateIsNotBatchFirst_ThrowsNamingLayers()
    {
        using var scope = torch.NewDisposeScope();
        torch.manual_seed(2);
        static IEnumerable<Tensor> Examples(float shift)
        {
            yield return torch.randn(4, 6, 3) + shift;
        }

        using var tcav = new TCAV(new GruModel(), ["gru"]);

        var e = Assert.Throws<ArgumentException>(() => tcav.Interpret(torch.randn(5, 6, 3), [[new Concept(1, "c", Examples(1)), new Concept(2, "r", Examples(0))]], new TCAVOptions { Target = 0 }));

        Assert.Equal("layers", e.ParamName);
        Assert.Contains("'gru'", e.Message, StringComparison.Ordinal);
        Assert.Contains("[1, 4, 4]", e.Message, StringComparison.Ordinal);
    }
}
