using Captum.Checkpoints;
using Captum.Cli;
using Captum.Plugins.Vqa;
using Captum.Plugins.Vqa.Scenes;
using TorchSharp;
using Xunit;

namespace Captum.Tests.Plugins.Vqa.Scenes;

/// <summary>Training the scenes model: repeatable bit for bit, and the vqa-train command's checkpoint loads back.</summary>
/// <remarks>Serial: training seeds TorchSharp's global generator.</remarks>
[Collection(Captum.Tests.Attr.SerialCollection.Name)]
public sealed class SceneTrainingTests
{
    private static readonly SceneTrainingOptions Tiny = new()
    {
        Steps = 6,
        ScenesPerStep = 4,
        HeldOutScenes = 3,
        Shape = new SceneModelShape(8, 8, 8, 2, 8, [4, 4, 8, 8]),
    };

    [Fact]
    public void Train_SameSeedTwice_GivesTheSameWeightsBitForBit()
    {
        using var scope = torch.NewDisposeScope();
        var threads = torch.get_num_threads();
        try
        {
            using var first = Train(Tiny with { Seed = 3 });
            using var second = Train(Tiny with { Seed = 3 });
            using var other = Train(Tiny with { Seed = 4 });

            var a = first.Net.state_dict();
            var b = second.Net.state_dict();
            Assert.Equal(a.Keys, b.Keys);
            foreach (var (name, tensor) in a)
            {
                Assert.True(tensor.bytes.SequenceEqual(b[name].bytes), $"{name} differs between two runs of seed 3");
            }

            Assert.Contains(a, kv => !kv.Value.bytes.SequenceEqual(other.Net.state_dict()[kv.Key].bytes));
        }
        finally
        {
            torch.set_num_threads(threads);
        }
    }

    [Fact]
    public void Train_ThreadsOtherThanTheCallers_RestoresTheCallersThreadCount()
    {
        using var scope = torch.NewDisposeScope();
        var threads = torch.get_num_threads();
        try
        {
            torch.set_num_threads(3);
            using (Train(Tiny with { Steps = 1, Threads = 1 }))
            {
                Assert.Equal(3, torch.get_num_threads());
            }

            Assert.Throws<OperationCanceledException>(() => SceneTrainer.Train(Tiny with { Threads = 2 }, cancellationToken: new CancellationToken(true)));
            Assert.Equal(3, torch.get_num_threads());
        }
        finally
        {
            torch.set_num_threads(threads);
        }
    }

    [Fact]
    public void VqaTrain_NoHeldOutScenes_TrainsAndSaysTheCheckWasNotMade()
    {
        using var scope = torch.NewDisposeScope();
        using var folder = new TempFolder();
        using var output = new StringWriter();
        using var errors = new StringWriter();

        var code = CaptumCli.Run(
            ["--plugins", Path.Combine(BuildOutputs.Of(Path.Combine("src", "Captum.Cli")), "plugins"), "vqa-train", "--seed", "5", "--steps", "1", "--scenes-per-step", "2", "--held-out-scenes", "0", "--out", folder.Path],
            output,
            errors);

        Assert.True(code == 0, errors.ToString());
        Assert.Contains("Held-out accuracy: not measured (--held-out-scenes 0)", output.ToString(), StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(folder.Path, "scenes-vqa.pth")));
    }

    [Fact]
    public void VqaTrain_SmallRun_WritesACheckpointThatLoadsAsTheModel()
    {
        using var scope = torch.NewDisposeScope();
        using var folder = new TempFolder();
        var threads = torch.get_num_threads();
        int code;
        string error;
        try
        {
            using var output = new StringWriter();
            using var errors = new StringWriter();
            code = CaptumCli.Run(
                ["--plugins", Path.Combine(BuildOutputs.Of(Path.Combine("src", "Captum.Cli")), "plugins"), "vqa-train", "--seed", "5", "--steps", "3", "--scenes-per-step", "4", "--held-out-scenes", "5", "--out", folder.Path],
                output,
                errors);
            error = errors.ToString();
            Assert.Contains("Held-out accuracy: ", output.ToString(), StringComparison.Ordinal);
        }
        finally
        {
            torch.set_num_threads(threads);
        }

        Assert.True(code == 0, error);
        Assert.Contains("step 3/3", error, StringComparison.Ordinal);
        var path = Path.Combine(folder.Path, "scenes-vqa.pth");
        Assert.True(File.Exists(Path.Combine(folder.Path, "training.json")));
        using (var checkpoint = TorchCheckpoint.Load(path))
        {
            Assert.Equal("captum vqa-train --seed 5 --steps 3 --scenes-per-step 4 --learning-rate 0.003 --threads 1 --held-out-scenes 5", checkpoint["training"]["command"].AsString());
            Assert.Equal(5L, checkpoint["training"]["seed"].AsInt64());
        }

        using var model = VqaModel.Load(path);
        Assert.Equal(SceneCheckpoint.ModelName, model.Name);
        Assert.True(SceneTrainer.Measure(model, 77, 3).Questions > 0);
    }

    private static VqaModel Train(SceneTrainingOptions options) => SceneTrainer.Train(options).Model;
}
