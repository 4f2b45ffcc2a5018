using Captum.Explain;
using Captum.Plugins.Vqa;
using Captum.Tests.Checkpoints;
using TorchSharp;
using Xunit;

namespace Captum.Tests.Explain;

/// <summary>The interpretable-embedding strategy configures the model's embedding for the call: concurrent calls must not collide.</summary>
public sealed class InterpretableEmbeddingStrategyTests
{
    [Fact]
    public void Explain_ThreeThreadsOnOneModel_AllSucceedWithTheSerialAttributions()
    {
        using var model = VqaModel.LoadDefault();
        var strategy = ExplanationStrategies.BuiltIn.Get("interpretable-embedding");
        var image = CheckpointFiles.PathOf("e2e/image.png");
        var options = new ExplanationOptions { Steps = 4 };
        string[] questions = ["what color is the circle", "how many squares are there", "is there a triangle"];
        float[][] Attributions(Explanation e) => [.. e.Inputs.Select(i => i.Attribution.detach().cpu().flatten().data<float>().ToArray())];
        var serial = questions.Select(q =>
        {
            using var e = model.Explain(image, q, strategy, options);
            return Attributions(e);
        }).ToArray();

        var concurrent = new float[questions.Length][][];
        Parallel.For(0, questions.Length, new ParallelOptions { MaxDegreeOfParallelism = questions.Length }, i =>
        {
            using var scope = torch.NewDisposeScope();
            using var e = model.Explain(image, questions[i], strategy, options);
            concurrent[i] = Attributions(e);
        });

        for (var i = 0; i < questions.Length; i++)
        {
            Assert.Equal(serial[i].Length, concurrent[i].Length);
            for (var input = 0; input < serial[i].Length; input++)
            {
                Assert.Equal(serial[i][input], concurrent[i][input]);
            }
        }
    }
}
