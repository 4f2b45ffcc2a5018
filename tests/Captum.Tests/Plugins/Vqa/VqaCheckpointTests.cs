using System.Text.Json;
using Captum.Checkpoints;
using Captum.Golden;
using Captum.Plugins.Vqa.Model;
using Captum.Tests.Checkpoints;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Captum.Tests.Plugins.Vqa;

/// <summary>The ported net and ResNet load PyTorch's own files by name and compute what PyTorch computed.</summary>
public sealed class VqaCheckpointTests
{
    [Theory]
    [InlineData("vqa-tiny-legacy.pth")]
    [InlineData("vqa-tiny-zip.pth")]
    public void VqaNet_TinyCheckpoint_ReproducesPyTorchLogits(string file)
    {
        using var scope = torch.NewDisposeScope();
        using var expected = JsonDocument.Parse(File.ReadAllText(CheckpointFiles.PathOf("vqa-tiny-expected.json")));
        var root = expected.RootElement;
        using var checkpoint = TorchCheckpoint.Load(CheckpointFiles.PathOf(file));
        var weights = TorchCheckpoint.StateDict(checkpoint, "weights").StripPrefix("module.");

        var net = new VqaNet(VqaConfig.FromStateDict(weights));
        TorchCheckpoint.LoadStateDict(net, weights);
        net.eval();

        using var noGrad = torch.no_grad();
        var logits = net.call(Read(root, "v"), Read(root, "q"), Read(root, "q_len"));
        TensorAssert.AllClose(logits, Read(root, "logits"), 1e-4, 1e-4);
    }

    [Theory]
    [InlineData("resnet-base8-caffe", ResNetVariant.Caffe)]
    [InlineData("resnet-base8-torchvision", ResNetVariant.Torchvision)]
    public void ResNetLayer4_StateDict_ReproducesPyTorchLayer4(string name, ResNetVariant variant)
    {
        using var scope = torch.NewDisposeScope();
        using var expected = JsonDocument.Parse(File.ReadAllText(CheckpointFiles.PathOf(name + "-expected.json")));
        var root = expected.RootElement;
        using var file = TorchCheckpoint.Load(CheckpointFiles.PathOf(name + ".pth"));
        var state = TorchCheckpoint.StateDict(file).Where(kv => !kv.Key.StartsWith("fc.", StringComparison.Ordinal)).ToDictionary();

        var config = ResNetConfig.FromStateDict(state, variant);
        Assert.Equal([1, 2, 1, 1], config.Blocks);
        Assert.Equal(8, config.BaseWidth);
        var resnet = new ResNetLayer4(config);
        TorchCheckpoint.LoadStateDict(resnet, state);
        resnet.eval();

        using var noGrad = torch.no_grad();
        TensorAssert.AllClose(resnet.call(Read(root, "input")), Read(root, "layer4"), 1e-4, 1e-4);
    }

    [Fact]
    public void ResNetLayer4_OtherVariantsWeights_GiveADifferentLayer4()
    {
        // The two variants differ only in where the stride sits: the check above must be able to tell them apart.
        using var scope = torch.NewDisposeScope();
        using var expected = JsonDocument.Parse(File.ReadAllText(CheckpointFiles.PathOf("resnet-base8-caffe-expected.json")));
        using var file = TorchCheckpoint.Load(CheckpointFiles.PathOf("resnet-base8-caffe.pth"));
        var state = TorchCheckpoint.StateDict(file).Where(kv => !kv.Key.StartsWith("fc.", StringComparison.Ordinal)).ToDictionary();
        var resnet = new ResNetLayer4(ResNetConfig.FromStateDict(state, ResNetVariant.Torchvision));
        TorchCheckpoint.LoadStateDict(resnet, state);
        resnet.eval();

        using var noGrad = torch.no_grad();
        var output = resnet.call(Read(expected.RootElement, "input"));
        var reference = Read(expected.RootElement, "layer4");
        Assert.True(!output.shape.SequenceEqual(reference.shape) || (output - reference).abs().max().item<float>() > 1e-3);
    }

    [Theory]
    [InlineData(ResNetVariant.Caffe)]
    [InlineData(ResNetVariant.Torchvision)]
    public void ResNetLayer4_ResNet152_HasEveryKeyAndShapeOfTheRealStateDict(ResNetVariant variant)
    {
        using var scope = torch.NewDisposeScope();
        using var manifest = JsonDocument.Parse(File.ReadAllText(CheckpointFiles.PathOf("resnet152-state-dict-manifest.json")));
        var expected = manifest.RootElement.EnumerateObject()
            .Where(p => !p.Name.StartsWith("fc.", StringComparison.Ordinal))
            .ToDictionary(p => p.Name, p => p.Value.EnumerateArray().Select(d => d.GetInt64()).ToArray());

        using var resnet = new ResNetLayer4(ResNetConfig.ResNet152(variant));
        var actual = resnet.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.shape);

        Assert.Equal(expected.Keys.Order(StringComparer.Ordinal), actual.Keys.Order(StringComparer.Ordinal));
        Assert.All(expected, kv => Assert.Equal(kv.Value, actual[kv.Key]));
    }

    [Fact]
    public void LoadStateDict_VqaWeightsMissingAParameter_ListsIt()
    {
        using var scope = torch.NewDisposeScope();
        using var checkpoint = TorchCheckpoint.Load(CheckpointFiles.PathOf("vqa-tiny-zip.pth"));
        var weights = TorchCheckpoint.StateDict(checkpoint, "weights").StripPrefix("module.")
            .Where(kv => kv.Key != "attention.q_lin.bias").ToDictionary();
        var net = new VqaNet(VqaConfig.FromStateDict(weights));

        var ex = Assert.Throws<StateDictMismatchException>(() => TorchCheckpoint.LoadStateDict(net, weights));
        Assert.Contains("attention.q_lin.bias", ex.Message, StringComparison.Ordinal);
    }

    private static Tensor Read(JsonElement root, string name) =>
        GoldenCase.ReadTensor(System.Text.Json.Nodes.JsonNode.Parse(root.GetProperty(name).GetRawText())!);
}
