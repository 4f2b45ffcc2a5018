using Captum.Golden;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Captum.Tests.Golden;

/// <summary>The golden model zoo reproduces the models that Captum's golden cases were recorded on.</summary>
public sealed class GoldenModelsTests
{
    public static TheoryData<string> Cases() => GoldenData.FileNames();

    [Theory]
    [MemberData(nameof(Cases))]
    public void Build_GoldenCase_ReproducesRecordedForward(string file)
    {
        using var scope = torch.NewDisposeScope();
        var c = GoldenCase.Load(file);
        var model = GoldenModels.Build(c);

        using var noGrad = torch.no_grad();
        var output = GoldenModels.Run(model, c.ForwardArguments());

        TensorAssert.AllClose(output, c.Forward, what: $"{c.Name} forward");
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Build_GoldenCase_ExposesCaseLayerPaths(string file)
    {
        using var scope = torch.NewDisposeScope();
        var c = GoldenCase.Load(file);
        var model = GoldenModels.Build(c);
        var paths = model.named_modules().Select(m => m.name).ToHashSet(StringComparer.Ordinal);

        var wanted = new List<string>();
        foreach (var layer in c.Layers ?? [])
        {
            if (!c.WrapInputs)
            {
                wanted.Add(layer);
            }
            else if (layer.StartsWith("module.", StringComparison.Ordinal))
            {
                // Paths relative to ModelInputWrapper: "module." reaches the wrapped model; input_maps.* belong to the wrapper.
                wanted.Add(layer["module.".Length..]);
            }
        }

        if (c.InterpretableEmbedding is { } embedding)
        {
            wanted.Add(embedding);
        }

        var absent = wanted.Where(p => !paths.Contains(p)).ToList();
        Assert.True(absent.Count == 0, $"{c.Name}: no module at {string.Join(", ", absent)}; the model has {string.Join(", ", paths.Order(StringComparer.Ordinal))}.");
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Build_GoldenCase_EveryTensorSubmoduleFiresForwardHooks(string file)
    {
        using var scope = torch.NewDisposeScope();
        var c = GoldenCase.Load(file);
        var model = GoldenModels.Build(c);
        var fired = new HashSet<string>(StringComparer.Ordinal);
        var hooked = new List<string>();
        var removers = new List<Action>();
        foreach (var (name, module) in model.named_modules())
        {
            if (name.Length == 0)
            {
                continue;
            }

            switch (module)
            {
                case nn.Module<Tensor, Tensor> m1:
                    var r1 = m1.register_forward_hook((_, _, o) => { fired.Add(name); return o; });
                    removers.Add(r1.remove);
                    hooked.Add(name);
                    break;
                case nn.Module<Tensor, Tensor, Tensor> m2:
                    var r2 = m2.register_forward_hook((_, _, _, o) => { fired.Add(name); return o; });
                    removers.Add(r2.remove);
                    hooked.Add(name);
                    break;
                case nn.Module<Tensor, Tensor, Tensor, Tensor> m3:
                    var r3 = m3.register_forward_hook((_, _, _, _, o) => { fired.Add(name); return o; });
                    removers.Add(r3.remove);
                    hooked.Add(name);
                    break;
            }
        }

        using (torch.no_grad())
        {
            GoldenModels.Run(model, c.ForwardArguments());
        }

        removers.ForEach(remove => remove());
        var silent = hooked.Where(n => !fired.Contains(n)).ToList();
        Assert.True(silent.Count == 0, $"{c.Name}: forward hooks did not fire on {string.Join(", ", silent)} (called with forward instead of call?).");
    }

    [Fact]
    public void Build_VqaWithUnsortedPaddedLengths_MatchesEachExampleAlone()
    {
        using var scope = torch.NewDisposeScope();
        torch.manual_seed(1234);
        var model = new GoldenVqa(tokens: 15, embeddingFeatures: 8, lstmFeatures: 12, backboneChannels: 4, vFeatures: 6, midFeatures: 5, glimpses: 2, answers: 7);
        model.eval();
        var v = torch.randn(3, 3, 16, 16);
        var q = torch.tensor(new long[] { 2, 8, 0, 0, 0, 3, 4, 5, 6, 7, 9, 1, 11, 0, 0 }, 3, 5);
        var lengths = torch.tensor(new long[] { 2, 5, 3 });

        using var noGrad = torch.no_grad();
        var batched = model.call(v, q, lengths);

        for (var i = 0; i < 3; i++)
        {
            var n = lengths[i].item<long>();
            var alone = model.call(v[i..(i + 1)], q[i..(i + 1), ..(int)n], lengths[i..(i + 1)]);
            TensorAssert.AllClose(batched[i..(i + 1)], alone, atol: 1e-5, rtol: 1e-5, what: $"example {i} (length {n})");
        }
    }

    [Fact]
    public void LoadParameters_WrongNamesAndShapes_ThrowsListingEach()
    {
        using var scope = torch.NewDisposeScope();
        var model = new GoldenTwoInput(3, 5, 4, 2);
        var given = model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.clone());
        given.Remove("lin2.bias");
        given["lin9.weight"] = torch.zeros(1);
        given["lin1.weight"] = torch.zeros(5, 5);

        var ex = Assert.Throws<InvalidDataException>(() => GoldenModels.LoadParameters(model, given, "test"));

        Assert.Contains("lin2.bias", ex.Message, StringComparison.Ordinal);
        Assert.Contains("lin9.weight", ex.Message, StringComparison.Ordinal);
        Assert.Contains("lin1.weight", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void DiscoverFiles_GoldenDirectory_ReturnsSortedJsonFiles()
    {
        var files = GoldenCase.DiscoverFiles();

        Assert.NotEmpty(files);
        Assert.All(files, f => Assert.EndsWith(".json", f, StringComparison.Ordinal));
        Assert.Equal(files.Order(StringComparer.Ordinal), files);
    }
}
