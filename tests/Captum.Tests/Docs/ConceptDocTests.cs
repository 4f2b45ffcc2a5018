using Captum.Concept;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Captum.Tests.Docs;

using Concept = Captum.Concept.Concept;

/// <summary>docs/concept.md's example is this test's code, and it runs.</summary>
public sealed class ConceptDocTests
{
    [Fact]
    public void ConceptDoc_Example_RunsAndIsTheTestedCode()
    {
        using var scope = torch.NewDisposeScope();
        var folder = Directory.CreateTempSubdirectory("captum-concept-doc-").FullName;
        try
        {
            torch.manual_seed(5);
            var model = nn.Sequential(("features", nn.Linear(6, 8)), ("relu", nn.ReLU()), ("head", nn.Linear(8, 3)));
            var images = torch.randn(20, 6);
            var stripe = torch.tensor(new float[] { 1, -1, 1, -1, 1, -1 });

            // A concept is batches of example inputs, made lazily when its activations are needed
            // (what a batch's making creates is freed after the batch; make shared tensors such as `stripe` before).
            static IEnumerable<Tensor> Batches(Func<Tensor> make, int count)
            {
                for (var i = 0; i < count; i++)
                {
                    yield return make();
                }
            }

            var striped = new Concept(0, "striped", Batches(() => (2 * stripe) + torch.randn(16, 6), 4));
            var randoms = Enumerable.Range(1, 3)
                .Select(i => new Concept(i, $"random{i}", Batches(() => torch.randn(16, 6), 4)))
                .ToList();

            // TCAV over two layers; activations and CAVs are also cached on disk under folder/my-model.
            using var tcav = new TCAV(model, ["features", "relu"], modelId: "my-model", cacheDirectory: folder);
            var scores = tcav.Interpret(images, [[striped, randoms[0]], [striped, randoms[1]]], new TCAVOptions { Target = 2 });
            var share = scores[0, "relu"].SignCount[0];     // of the 20 images, the share whose class 2 rises along "striped"
            var mean = scores[0, "relu"].Magnitude[0];      // the mean of those directional derivatives

            // Is "striped" significant for class 2? Its mean score against the three random concepts, compared
            // with each random concept's mean score against the others (a t-test), per layer.
            foreach (var layer in tcav.TestSignificance(images, striped, randoms, new TCAVOptions { Target = 2 }, alpha: 0.05))
            {
                Console.WriteLine($"{layer.Layer}: {layer.Mean:F2} vs random {layer.RandomMean:F2} ± {layer.RandomStandardDeviation:F2}, p = {layer.PValue:G3}, significant: {layer.IsSignificant}");
            }

            Assert.InRange(share, 0, 1);
            Assert.Equal(share * 20, Math.Round(share * 20), 9);
            Assert.True(double.IsFinite(mean));
            Assert.Equal(["features", "relu"], tcav.LayerNames);
            Assert.True(File.Exists(Path.Combine(folder, "my-model", "cav", "0-1-relu.safetensors")));
            Assert.True(File.Exists(Path.Combine(folder, "my-model", "av", "striped-0-features.safetensors")));

            // The test's sets: every pair of striped and the three random concepts (CAVs cached above).
            var significance = tcav.TestSignificance(images, striped, randoms, new TCAVOptions { Target = 2 });
            Assert.Equal(["features", "relu"], significance.Select(s => s.Layer));
            Assert.All(significance, s => Assert.Equal((3, 3), (s.Scores.Count, s.RandomScores.Count)));
            Assert.True(File.Exists(Path.Combine(folder, "my-model", "cav", "0-3-relu.safetensors")));
            Assert.True(File.Exists(Path.Combine(folder, "my-model", "cav", "2-3-relu.safetensors")));

            DocExamples.AreTestedCode("concept.md", Path.Combine("Docs", "ConceptDocTests.cs"), 1);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
