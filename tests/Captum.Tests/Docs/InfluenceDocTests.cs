using System.Text.RegularExpressions;
using Captum.Checkpoints;
using Captum.Influence;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Captum.Tests.Docs;

/// <summary>docs/influence.md's example is this test's code, and it runs.</summary>
public sealed partial class InfluenceDocTests
{
    private sealed class Classifier : nn.Module<Tensor, Tensor>
    {
        private readonly TorchSharp.Modules.Linear hidden = nn.Linear(12, 8);
        private readonly TorchSharp.Modules.Linear fc = nn.Linear(8, 3);

        public Classifier()
            : base(nameof(Classifier)) => RegisterComponents();

        public override Tensor forward(Tensor x) => fc.call(nn.functional.relu(hidden.call(x.flatten(1))));
    }

    [Fact]
    public void InfluenceDoc_Example_RunsAndIsTheTestedCode()
    {
        using var scope = torch.NewDisposeScope();
        var folder = Directory.CreateTempSubdirectory("captum-influence-doc-").FullName;
        try
        {
            torch.manual_seed(11);
            var model = new Classifier();
            for (var epoch = 1; epoch <= 3; epoch++)
            {
                TorchCheckpoint.Save(new Classifier().state_dict(), Path.Combine(folder, $"epoch-{epoch}.pt"));
            }

            var trainImages = torch.randn(200, 3, 2, 2);
            var trainLabels = torch.randint(0, 3, [200], ScalarType.Int64);
            var testImages = torch.randn(2, 3, 2, 2);
            var testLabels = torch.tensor(new long[] { 0, 2 });

            // The training set in batches (views of the tensors, in order): training example j is the j-th example.
            var train = InfluenceData.Batches(trainImages, trainLabels, batchSize: 64);

            // The checkpoints saved while training, with the learning rate of the phase that followed each.
            var checkpoints = Directory.GetFiles(folder, "epoch-*.pt").Order()
                .Select(path => TrainingCheckpoint.FromFile(path, learningRate: 0.01))
                .ToList();

            var tracin = new TracInCP(model, train, checkpoints, new TracInCPOptions { Layers = ["fc"] });
            using var top = tracin.MostInfluential(new InfluenceBatch(testImages, testLabels), k: 5);
            // top.Indices[i, j]: the j-th most helpful training example for test example i; top.Scores[i, j]: its score.

            Assert.Equal(new long[] { 2, 5 }, top.Indices.shape);
            Assert.True(top.Scores[.., 0].ge(top.Scores[.., 4]).all().item<bool>());
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }

        var root = GettingStartedDocTests.RepositoryRoot();
        var doc = File.ReadAllText(Path.Combine(root, "docs", "influence.md"));
        var source = Normalize(File.ReadAllText(Path.Combine(root, "tests", "Captum.Tests", "Docs", "InfluenceDocTests.cs")));
        var examples = CSharpBlock().Matches(doc).Select(m => m.Groups["code"].Value).ToList();
        Assert.Equal(4, examples.Count);
        foreach (var example in examples)
        {
            Assert.Contains(Normalize(UsingDirective().Replace(example, string.Empty)), source, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void InfluenceDoc_TrainingLoopCheckpoints_AreReadWithTheirLearningRate()
    {
        using var scope = torch.NewDisposeScope();
        var folder = Directory.CreateTempSubdirectory("captum-influence-loop-").FullName;
        try
        {
            torch.manual_seed(12);
            nn.Module<Tensor, Tensor> model = new Classifier();
            var trainImages = torch.randn(100, 3, 2, 2);
            var trainLabels = torch.randint(0, 3, [100], ScalarType.Int64);

            const double rate = 0.01;
            var optimizer = torch.optim.SGD(model.parameters(), rate);
            for (var epoch = 1; epoch <= 3; epoch++)
            {
                foreach (var batch in InfluenceData.Batches(trainImages, trainLabels, batchSize: 64))
                {
                    using var step = torch.NewDisposeScope();
                    optimizer.zero_grad();
                    torch.nn.functional.cross_entropy(model.call(batch.Inputs[0]), batch.Labels).backward();
                    optimizer.step();
                }

                // The checkpoint saved after each epoch, with the learning rate of the phase that followed it.
                TorchCheckpoint.Save(
                    new Dictionary<string, object?> { ["model_state_dict"] = model.state_dict(), ["learning_rate"] = rate },
                    Path.Combine(folder, $"epoch-{epoch}.pt"));
            }

            // The file's learning rate wins over the fallback; the last checkpoint holds the trained weights.
            var checkpoints = Directory.GetFiles(folder, "epoch-*.pt").Order().Select(path => TrainingCheckpoint.FromFile(path, learningRate: 1)).ToList();
            var probe = new Classifier();
            Assert.Equal([0.01, 0.01, 0.01], checkpoints.Select(c => c.Load(probe)));
            Assert.True(probe.state_dict()["fc.weight"].equal(model.state_dict()["fc.weight"]).all().item<bool>());
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public void InfluenceDoc_NaiveInfluenceFunctionExample_Runs()
    {
        using var scope = torch.NewDisposeScope();
        using var temp = new TempFolder();
        var folder = temp.Path;
        torch.manual_seed(12);
        var model = new Classifier();
        TorchCheckpoint.Save(new Classifier().state_dict(), Path.Combine(folder, "final.pt"));
        var train = InfluenceData.Batches(torch.randn(40, 3, 2, 2), torch.randint(0, 3, [40], ScalarType.Int64), batchSize: 16);
        var testImages = torch.randn(2, 3, 2, 2);
        var testLabels = torch.tensor(new long[] { 0, 2 });

        using var influence = new NaiveInfluenceFunction(model, train, TrainingCheckpoint.FromFile(Path.Combine(folder, "final.pt")),
            new NaiveInfluenceFunctionOptions { Layers = ["fc"], ProjectionDim = 20 });
        using var scores = influence.Influence(new InfluenceBatch(testImages, testLabels));   // [test, training]

        Assert.Equal(new long[] { 2, 40 }, scores.shape);
        Assert.True(scores.isfinite().all().item<bool>());
    }

    [Fact]
    public void InfluenceDoc_NearestNeighborsExample_RunsAndMatchesTheExactTopK()
    {
        using var scope = torch.NewDisposeScope();
        using var temp = new TempFolder();
        var folder = temp.Path;
        torch.manual_seed(13);
        var model = new Classifier();
        TorchCheckpoint.Save(new Classifier().state_dict(), Path.Combine(folder, "epoch-1.pt"));
        var checkpoints = new List<TrainingCheckpoint> { TrainingCheckpoint.FromFile(Path.Combine(folder, "epoch-1.pt"), learningRate: 0.01) };
        var train = InfluenceData.Batches(torch.randn(60, 3, 2, 2), torch.randint(0, 3, [60], ScalarType.Int64), batchSize: 16);
        var testImages = torch.randn(2, 3, 2, 2);
        var testLabels = torch.tensor(new long[] { 0, 2 });

        using var method = new TracInCPFastRandProj(model, "fc", train, checkpoints,
            new TracInCPFastRandProjOptions { ProjectionDim = 64, Seed = 0, NearestNeighbors = new USearchNearestNeighbors() });
        using var top = method.MostInfluential(new InfluenceBatch(testImages, testLabels), k: 5);

        using var exact = new TracInCPFastRandProj(model, "fc", train, checkpoints, new TracInCPFastRandProjOptions { ProjectionDim = 64, Seed = 0 });
        using var expected = exact.MostInfluential(new InfluenceBatch(testImages, testLabels), k: 5);
        Assert.Equal(expected.Indices.data<long>().ToArray(), top.Indices.data<long>().ToArray());
        TensorAssert.AllClose(top.Scores, expected.Scores, 1e-7, 1e-5);
    }


    private static string Normalize(string code) => string.Join(
        "\n",
        code.ReplaceLineEndings("\n").Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0));

    [GeneratedRegex(@"```csharp\n(?<code>.*?)```", RegexOptions.Singleline)]
    private static partial Regex CSharpBlock();

    [GeneratedRegex(@"^using [\w.]+;\s*$", RegexOptions.Multiline)]
    private static partial Regex UsingDirective();
}
