using System.Text.Json;
using System.Text.RegularExpressions;
using Captum.Checkpoints;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Captum.Tests.Checkpoints;

/// <summary>The real checkpoints of shared/checkpoints, written by PyTorch 1.13.1's own torch.save.</summary>
public sealed class TorchCheckpointRealFileTests
{
    private static readonly string[] VqaWeightNames =
    [
        "text.embedding.weight",
        "text.lstm.weight_ih_l0",
        "text.lstm.weight_hh_l0",
        "text.lstm.bias_ih_l0",
        "text.lstm.bias_hh_l0",
        "attention.v_conv.weight",
        "attention.q_lin.weight",
        "attention.q_lin.bias",
        "attention.x_conv.weight",
        "attention.x_conv.bias",
        "classifier.lin1.weight",
        "classifier.lin1.bias",
        "classifier.lin2.weight",
        "classifier.lin2.bias",
    ];

    [Fact]
    public void DetectFormat_SharedFiles_ReportsLegacyAndZip()
    {
        Assert.Equal(CheckpointFormat.Legacy, TorchCheckpoint.DetectFormat(CheckpointFiles.PathOf("vqa-tiny-legacy.pth")));
        Assert.Equal(CheckpointFormat.Zip, TorchCheckpoint.DetectFormat(CheckpointFiles.PathOf("vqa-tiny-zip.pth")));
        Assert.Equal(CheckpointFormat.Zip, TorchCheckpoint.DetectFormat(CheckpointFiles.PathOf("resnet-base8-caffe.pth")));
        Assert.Equal(CheckpointFormat.Zip, TorchCheckpoint.DetectFormat(CheckpointFiles.PathOf("resnet-base8-torchvision.pth")));
        Assert.Equal(CheckpointFormat.Legacy, TorchCheckpoint.DetectFormat(CheckpointFiles.PathOf("e2e/vqa.pth")));
        Assert.Equal(CheckpointFormat.Zip, TorchCheckpoint.DetectFormat(CheckpointFiles.PathOf("e2e/resnet.pth")));
        Assert.Equal(CheckpointFormat.Unknown, TorchCheckpoint.DetectFormat(CheckpointFiles.PathOf("e2e/image.png")));
    }

    [Fact]
    public void Load_VqaTinyLegacyAndZip_HaveIdenticalKeysShapesDtypesAndValues()
    {
        using var scope = torch.NewDisposeScope();
        var legacy = TorchCheckpoint.Load(CheckpointFiles.PathOf("vqa-tiny-legacy.pth"));
        var zip = TorchCheckpoint.Load(CheckpointFiles.PathOf("vqa-tiny-zip.pth"));

        Assert.Equal(CheckpointFormat.Legacy, legacy.Format);
        Assert.Equal(CheckpointFormat.Zip, zip.Format);
        Assert.Equal(["name", "tracker", "config", "weights", "eval", "vocab"], legacy.Keys.Cast<string>());
        Assert.Equal(legacy.Keys, zip.Keys);

        foreach (var entry in new[] { "weights", "eval" })
        {
            var a = TorchCheckpoint.StateDict(legacy, entry);
            var b = TorchCheckpoint.StateDict(zip, entry);
            Assert.Equal(a.Keys, b.Keys);
            foreach (var (name, ta) in a)
            {
                var tb = b[name];
                Assert.Equal(ta.dtype, tb.dtype);
                Assert.Equal(ta.shape, tb.shape);
                Assert.True(SameValues(ta, tb), $"{entry}/{name} differs between the legacy and the zip file");
            }
        }

        Assert.Equal(legacy["name"].AsString(), zip["name"].AsString());
        Assert.Equal(legacy["config"].Describe(), zip["config"].Describe().Replace(zip.Source, legacy.Source, StringComparison.Ordinal));
        Assert.Equal(TorchCheckpoint.Vocab(legacy, "vocab").SelectMany(t => t.Value), TorchCheckpoint.Vocab(zip, "vocab").SelectMany(t => t.Value));
    }

    [Fact]
    public void Load_VqaTinyZip_TensorValuesMatchTheSavedBytes()
    {
        using var scope = torch.NewDisposeScope();
        var weights = TorchCheckpoint.StateDict(TorchCheckpoint.Load(CheckpointFiles.PathOf("vqa-tiny-zip.pth")), "weights");

        // Reference values decoded from the raw storage records with Python's struct module.
        var embedding = weights["module.text.embedding.weight"];
        Assert.Equal([12L, 6L], embedding.shape);
        Assert.Equal(ScalarType.Float32, embedding.dtype);
        Assert.Equal(-0.3088248074054718, embedding[0, 0].item<float>(), 6);
        Assert.Equal(-0.2548341155052185, embedding[0, 1].item<float>(), 6);
        Assert.Equal(-0.2983817160129547, embedding[11, 5].item<float>(), 6);
        Assert.Equal(-6.832254139706492, embedding.sum().item<float>(), 4);

        var vConv = weights["module.attention.v_conv.weight"];
        Assert.Equal([7L, 8L, 1L, 1L], vConv.shape);
        Assert.Equal(-5.175372916273773, vConv.sum().item<float>(), 4);
        Assert.Equal(0.2822225093841553, vConv[6, 7, 0, 0].item<float>(), 6);

        var lin2Bias = weights["module.classifier.lin2.bias"];
        Assert.Equal([9L], lin2Bias.shape);
        Assert.Equal(-0.8028046488761902, lin2Bias[0].item<float>(), 6);
        Assert.Equal(0.6055916547775269, lin2Bias[8].item<float>(), 6);
    }

    [Fact]
    public void StateDict_VqaTinyWeights_EveryKeyStartsWithModuleAndStripPrefixRemovesIt()
    {
        using var scope = torch.NewDisposeScope();
        foreach (var file in new[] { "vqa-tiny-legacy.pth", "vqa-tiny-zip.pth" })
        {
            var checkpoint = TorchCheckpoint.Load(CheckpointFiles.PathOf(file));
            var weights = TorchCheckpoint.StateDict(checkpoint, "weights");

            Assert.All(weights.Keys, k => Assert.StartsWith("module.", k, StringComparison.Ordinal));
            var stripped = weights.StripPrefix("module.");
            Assert.Equal(VqaWeightNames, stripped.Keys);
            Assert.Same(weights["module.text.embedding.weight"], stripped["text.embedding.weight"]);
            Assert.Equal(["text.embedding.weight"], stripped.Keys.Take(1));
        }
    }

    [Fact]
    public void StateDict_VqaTinyWeights_KeepsTheStateDictMetadataAsAttribute()
    {
        using var scope = torch.NewDisposeScope();
        var checkpoint = TorchCheckpoint.Load(CheckpointFiles.PathOf("vqa-tiny-zip.pth"));

        var weights = checkpoint["weights"].AsDict();

        Assert.Equal("collections.OrderedDict", weights.TypeName);
        var metadata = Assert.IsType<CheckpointDict>(weights.Attributes["_metadata"]);
        Assert.True(metadata.ContainsKey("module.text.lstm"));
        Assert.Equal(1L, ((CheckpointDict)metadata["module.text.lstm"]!)["version"]);
    }

    [Fact]
    public void Vocab_VqaTiny_ReadsQuestionAndAnswerTables()
    {
        using var scope = torch.NewDisposeScope();
        var checkpoint = TorchCheckpoint.Load(CheckpointFiles.PathOf("vqa-tiny-legacy.pth"));

        var vocab = TorchCheckpoint.Vocab(checkpoint, "vocab");

        Assert.Equal(["question", "answer"], vocab.Keys);
        var question = vocab["question"];
        Assert.Equal(11, question.Count);
        Assert.Equal(1L, question["what"]);
        Assert.Equal(4L, question["the"]);
        Assert.Equal(7L, question["elephant"]);
        Assert.Equal(11L, question["cat"]);
        var answer = vocab["answer"];
        Assert.Equal(9, answer.Count);
        Assert.Equal(0L, answer["elephant"]);
        Assert.Equal(5L, answer["2"]);
        Assert.Equal(8L, answer["black and white"]);
        Assert.Equal(Enumerable.Range(0, 9).Select(i => (long)i), answer.Values);
    }

    [Fact]
    public void Load_VqaTiny_TrackerConfigAndEvalAreReadable()
    {
        using var scope = torch.NewDisposeScope();
        foreach (var file in new[] { "vqa-tiny-legacy.pth", "vqa-tiny-zip.pth" })
        {
            var checkpoint = TorchCheckpoint.Load(CheckpointFiles.PathOf(file));

            Assert.Equal("2017-08-04_00.55.19", checkpoint["name"].AsString());

            var tracker = checkpoint["tracker"];
            Assert.Equal(CheckpointValueKind.Dict, tracker.Kind);
            Assert.Equal([2.5, 2.25, 2.0], tracker["train_loss"][0].Items.Select(v => v.AsDouble()));
            Assert.Equal([0.25, 0.5], tracker["val_acc"][0].Items.Select(v => v.AsDouble()));

            var config = checkpoint["config"];
            Assert.Equal(448L, config["image_size"].AsInt64());
            Assert.Equal(8L, config["output_features"].AsInt64());
            Assert.Equal(9L, config["max_answers"].AsInt64());
            Assert.Equal(0.875, config["central_fraction"].AsDouble());

            var eval = checkpoint["eval"];
            var answers = eval["answers"].AsTensor();
            Assert.Equal(ScalarType.Int64, answers.dtype);
            Assert.Equal([0L, 3L, 1L], answers.data<long>().ToArray());
            var accuracies = eval["accuracies"].AsTensor();
            Assert.Equal(ScalarType.Float32, accuracies.dtype);
            Assert.Equal([1.0f, 0.3f, 0.6f], accuracies.data<float>().ToArray());
            Assert.Equal([5L, 7L, 9L], eval["idx"].AsTensor().data<long>().ToArray());
        }
    }

    [Fact]
    public void Load_VqaTinyLegacyWithCudaStorages_MaterialisesEveryTensorOnTheCpu()
    {
        using var scope = torch.NewDisposeScope();
        var path = CheckpointFiles.PathOf("vqa-tiny-legacy.pth");
        Assert.Contains("cuda:0", System.Text.Encoding.ASCII.GetString(File.ReadAllBytes(path)), StringComparison.Ordinal);

        var checkpoint = TorchCheckpoint.Load(path);

        var tensors = TorchCheckpoint.StateDict(checkpoint, "weights").Values
            .Concat(TorchCheckpoint.StateDict(checkpoint, "eval").Values)
            .ToList();
        Assert.Equal(17, tensors.Count);
        Assert.All(tensors, t =>
        {
            Assert.Equal(DeviceType.CPU, t.device_type);
            Assert.True(t.is_contiguous());
            Assert.False(t.requires_grad);
        });
    }

    [Theory]
    [InlineData("resnet-base8-caffe.pth", 10)]
    [InlineData("resnet-base8-torchvision.pth", 10)]
    public void Load_ResnetBase8StateDicts_HaveTheManifestKeysForBlocks1211(string file, long classes)
    {
        using var scope = torch.NewDisposeScope();
        var state = TorchCheckpoint.Load(CheckpointFiles.PathOf(file)).AsStateDict();

        var expected = ExpectedResnetShapes([1, 2, 1, 1], widthDivisor: 8, classes);
        Assert.Equal(expected.Keys, state.Keys);
        foreach (var (name, shape) in expected)
        {
            Assert.True(shape.SequenceEqual(state[name].shape), $"{name}: expected [{string.Join(", ", shape)}], got [{string.Join(", ", state[name].shape)}]");
            Assert.Equal(name.EndsWith(".num_batches_tracked", StringComparison.Ordinal) ? ScalarType.Int64 : ScalarType.Float32, state[name].dtype);
        }
    }

    [Fact]
    public void Load_ResnetBase8StateDicts_NumBatchesTrackedAreInt64Scalars()
    {
        using var scope = torch.NewDisposeScope();
        var state = TorchCheckpoint.Load(CheckpointFiles.PathOf("resnet-base8-caffe.pth")).AsStateDict();

        var counters = state.Where(kv => kv.Key.EndsWith(".num_batches_tracked", StringComparison.Ordinal)).ToList();

        Assert.Equal(1 + (3 * 5) + 4, counters.Count);
        Assert.All(counters, kv =>
        {
            Assert.Equal(ScalarType.Int64, kv.Value.dtype);
            Assert.Empty(kv.Value.shape);
            Assert.True(kv.Value.item<long>() >= 0);
        });
    }

    [Fact]
    public void Load_E2eVqa_ReadsTheLegacyCheckpointWithPadAtIndexZero()
    {
        using var scope = torch.NewDisposeScope();
        var checkpoint = TorchCheckpoint.Load(CheckpointFiles.PathOf("e2e/vqa.pth"));

        Assert.Equal(CheckpointFormat.Legacy, checkpoint.Format);
        var weights = TorchCheckpoint.StateDict(checkpoint, "weights");
        Assert.All(weights.Keys, k => Assert.StartsWith("module.", k, StringComparison.Ordinal));
        var stripped = weights.StripPrefix();
        Assert.Equal(VqaWeightNames, stripped.Keys);
        Assert.Equal([10L, 12L], stripped["text.embedding.weight"].shape);
        Assert.Equal([12L, 10L], stripped["classifier.lin2.weight"].shape);
        Assert.All(stripped.Values, t => Assert.Equal(DeviceType.CPU, t.device_type));

        var vocab = TorchCheckpoint.Vocab(checkpoint, "vocab");
        Assert.Equal(0L, vocab["question"]["pad"]);
        Assert.Equal(9, vocab["question"].Count);
        Assert.Equal(12, vocab["answer"].Count);
        Assert.Equal(64L, checkpoint["config"]["image_size"].AsInt64());
    }

    [Fact]
    public void Load_E2eResnet_HasTheKeysOfBlocks1121()
    {
        using var scope = torch.NewDisposeScope();
        var state = TorchCheckpoint.Load(CheckpointFiles.PathOf("e2e/resnet.pth")).AsStateDict();

        var expected = ExpectedResnetShapes([1, 1, 2, 1], widthDivisor: 8, classes: 5);
        Assert.Equal(expected.Keys, state.Keys);
        Assert.All(expected, kv => Assert.Equal(kv.Value, state[kv.Key].shape));
    }

    [Fact]
    public void LoadStateDict_VqaTinyWeightsIntoMatchingModules_CopiesEveryTensor()
    {
        using var scope = torch.NewDisposeScope();
        var weights = TorchCheckpoint.StateDict(TorchCheckpoint.Load(CheckpointFiles.PathOf("vqa-tiny-legacy.pth")), "weights").StripPrefix();
        var net = new VqaShapedNet();

        TorchCheckpoint.LoadStateDict(net, weights);

        foreach (var (name, tensor) in net.state_dict())
        {
            Assert.True(SameValues(tensor, weights[name]), $"{name} was not copied");
        }
    }

    private static bool SameValues(Tensor a, Tensor b) =>
        a.dtype == b.dtype && a.shape.SequenceEqual(b.shape) && a.eq(b).all().item<bool>();

    /// <summary>
    /// The keys and shapes of a bottleneck ResNet state dict: the ResNet-152 manifest's keys restricted to the given
    /// blocks per stage, with every channel count divided by <paramref name="widthDivisor"/> (the 3 input channels
    /// and the kernel sizes stay) and <paramref name="classes"/> outputs for fc.
    /// </summary>
    private static Dictionary<string, long[]> ExpectedResnetShapes(int[] blocks, int widthDivisor, long classes)
    {
        var manifestJson = File.ReadAllText(CheckpointFiles.PathOf("resnet152-state-dict-manifest.json"));
        var manifest = JsonSerializer.Deserialize<Dictionary<string, long[]>>(manifestJson)!;
        var layer = new Regex(@"^layer(\d)\.(\d+)\.", RegexOptions.CultureInvariant);
        var result = new Dictionary<string, long[]>();
        foreach (var (name, shape) in manifest)
        {
            var match = layer.Match(name);
            if (match.Success && int.Parse(match.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture) >= blocks[match.Groups[1].Value[0] - '1'])
            {
                continue;
            }

            long[] scaled = name switch
            {
                "fc.weight" => [classes, shape[1] / widthDivisor],
                "fc.bias" => [classes],
                _ => shape.Select((d, i) => i < 2 && d != 3 ? d / widthDivisor : d).ToArray(),
            };
            result[name] = scaled;
        }

        return result;
    }

    /// <summary>The VQA net's parameters under the checkpoint's names (text / attention / classifier).</summary>
    private sealed class VqaShapedNet : nn.Module
    {
        public VqaShapedNet()
            : base(nameof(VqaShapedNet))
        {
            text = nn.ModuleDict<nn.Module>(("embedding", nn.Embedding(12, 6)), ("lstm", nn.LSTM(6, 10)));
            attention = nn.ModuleDict<nn.Module>(
                ("v_conv", nn.Conv2d(8, 7, 1, bias: false)),
                ("q_lin", nn.Linear(10, 7)),
                ("x_conv", nn.Conv2d(7, 2, 1)));
            classifier = nn.ModuleDict<nn.Module>(("lin1", nn.Linear(26, 7)), ("lin2", nn.Linear(7, 9)));
            RegisterComponents();
        }

        // The field names are the checkpoint's module names.
        private readonly nn.Module text;
        private readonly nn.Module attention;
        private readonly nn.Module classifier;
    }
}
