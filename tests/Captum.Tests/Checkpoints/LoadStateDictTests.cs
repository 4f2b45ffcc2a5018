using Captum.Checkpoints;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Captum.Tests.Checkpoints;

/// <summary>TorchCheckpoint.LoadStateDict: copying by name into parameters and buffers, and strict checking.</summary>
public sealed class LoadStateDictTests
{
    [Fact]
    public void LoadStateDict_MatchingStateOfOtherDtype_CopiesParametersAndBuffers()
    {
        using var scope = torch.NewDisposeScope();
        var module = MakeModule();
        var state = new Dictionary<string, Tensor>
        {
            ["fc.weight"] = torch.arange(12, dtype: ScalarType.Float64).reshape(3, 4),
            ["fc.bias"] = torch.tensor(new[] { 1.0, 2.0, 3.0 }),
            ["bn.weight"] = torch.full(3, 0.5, ScalarType.Float64),
            ["bn.bias"] = torch.full(3, -0.5, ScalarType.Float64),
            ["bn.running_mean"] = torch.tensor(new[] { 0.1, 0.2, 0.3 }),
            ["bn.running_var"] = torch.tensor(new[] { 4.0, 5.0, 6.0 }),
            ["bn.num_batches_tracked"] = torch.tensor(7L),
        };

        TorchCheckpoint.LoadStateDict(module, state);

        var loaded = module.state_dict();
        Assert.Equal(state.Keys.Order(), loaded.Keys.Order());
        foreach (var (name, tensor) in loaded)
        {
            Assert.Equal(name == "bn.num_batches_tracked" ? ScalarType.Int64 : ScalarType.Float32, tensor.dtype);
            Assert.True(tensor.to_type(ScalarType.Float64).allclose(state[name].to_type(ScalarType.Float64)), $"{name} was not copied");
        }

        Assert.All(module.parameters(), p => Assert.True(p.requires_grad));
        Assert.Equal(7L, loaded["bn.num_batches_tracked"].item<long>());
    }

    [Fact]
    public void LoadStateDict_MissingUnexpectedAndMisshapedKeys_ThrowsListingEveryOneAndCopiesNothing()
    {
        using var scope = torch.NewDisposeScope();
        var module = MakeModule();
        var before = module.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.clone());
        var state = Clone(module);
        state.Remove("bn.bias");
        state.Remove("bn.num_batches_tracked");
        state["extra.weight"] = torch.zeros(2);
        state["fc.weight"] = torch.zeros(3, 5);
        state["bn.running_mean"] = torch.zeros(4);
        state["fc.bias"] = torch.full(3, 9f);

        var ex = Assert.Throws<StateDictMismatchException>(() => TorchCheckpoint.LoadStateDict(module, state));

        Assert.Equal(["bn.bias", "bn.num_batches_tracked"], ex.MissingKeys.Order());
        Assert.Equal(["extra.weight"], ex.UnexpectedKeys);
        Assert.Equal(["bn.running_mean", "fc.weight"], ex.ShapeMismatches.Select(m => m.Key).Order());
        Assert.Contains("Missing keys (2): ", ex.Message, StringComparison.Ordinal);
        Assert.Contains("bn.bias", ex.Message, StringComparison.Ordinal);
        Assert.Contains("bn.num_batches_tracked", ex.Message, StringComparison.Ordinal);
        Assert.Contains("Unexpected keys (1): extra.weight", ex.Message, StringComparison.Ordinal);
        Assert.Contains("fc.weight: checkpoint [3, 5], module [3, 4]", ex.Message, StringComparison.Ordinal);
        Assert.Contains("bn.running_mean: checkpoint [4], module [3]", ex.Message, StringComparison.Ordinal);
        Assert.IsAssignableFrom<ArgumentException>(ex);
        foreach (var (name, tensor) in module.state_dict())
        {
            Assert.True(tensor.eq(before[name]).all().item<bool>(), $"{name} changed although the load failed");
        }
    }

    [Fact]
    public void LoadStateDict_NotStrictWithMissingAndUnexpectedKeys_CopiesTheCommonOnes()
    {
        using var scope = torch.NewDisposeScope();
        var module = MakeModule();
        var state = new Dictionary<string, Tensor>
        {
            ["fc.bias"] = torch.full(3, 2f),
            ["bn.running_var"] = torch.full(3, 3f),
            ["head.weight"] = torch.zeros(5),
        };

        TorchCheckpoint.LoadStateDict(module, state, strict: false);

        var loaded = module.state_dict();
        Assert.Equal([2f, 2f, 2f], loaded["fc.bias"].data<float>().ToArray());
        Assert.Equal([3f, 3f, 3f], loaded["bn.running_var"].data<float>().ToArray());
    }

    [Fact]
    public void LoadStateDict_NotStrictWithAShapeMismatch_StillThrows()
    {
        using var scope = torch.NewDisposeScope();
        var module = MakeModule();
        var state = new Dictionary<string, Tensor> { ["fc.weight"] = torch.zeros(4, 3) };

        var ex = Assert.Throws<StateDictMismatchException>(() => TorchCheckpoint.LoadStateDict(module, state, strict: false));

        Assert.Empty(ex.MissingKeys);
        Assert.Empty(ex.UnexpectedKeys);
        var mismatch = Assert.Single(ex.ShapeMismatches);
        Assert.Equal([4L, 3L], mismatch.CheckpointShape);
        Assert.Equal([3L, 4L], mismatch.ModuleShape);
    }

    [Fact]
    public void LoadStateDict_StateOfAnIdenticalModule_CopiesEveryTensor()
    {
        using var scope = torch.NewDisposeScope();
        var source = MakeModule();
        var target = MakeModule();

        TorchCheckpoint.LoadStateDict(target, Clone(source));

        var expected = source.state_dict();
        foreach (var (name, tensor) in target.state_dict())
        {
            Assert.True(tensor.eq(expected[name]).all().item<bool>(), name);
        }
    }

    private static nn.Module MakeModule() =>
        nn.Sequential(("fc", nn.Linear(4, 3)), ("bn", nn.BatchNorm1d(3)));

    private static Dictionary<string, Tensor> Clone(nn.Module module) =>
        module.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().clone());

    [Theory]
    [InlineData(float.NaN)]
    [InlineData(float.PositiveInfinity)]
    public void LoadStateDict_NonFiniteParameter_RefusedNamingItBeforeCopyingAnything(float bad)
    {
        using var scope = torch.NewDisposeScope();
        var target = nn.Linear(3, 2);
        var before = target.weight!.detach().clone();
        var state = nn.Linear(3, 2).state_dict().ToDictionary(p => p.Key, p => p.Value.detach().clone());
        state["bias"][1] = bad;

        var ex = Assert.Throws<NonFiniteStateException>(() => TorchCheckpoint.LoadStateDict(target, state));

        Assert.Equal("state", ex.ParamName);
        Assert.Contains("bias", ex.Message, StringComparison.Ordinal);
        Assert.True(target.weight!.equal(before).all().item<bool>());
        TorchCheckpoint.LoadStateDict(target, state, allowNonFinite: true);
        Assert.False(torch.isfinite(target.bias!).all().item<bool>());
    }

    [Fact]
    public void LoadStateDict_NaNInABuffer_RefusedNamingItBeforeCopyingAnything()
    {
        using var scope = torch.NewDisposeScope();
        var target = nn.BatchNorm1d(3);
        var state = nn.BatchNorm1d(3).state_dict().ToDictionary(p => p.Key, p => p.Value.detach().clone());
        state["weight"].fill_(2);
        state["running_var"][1] = float.NaN;

        var ex = Assert.Throws<NonFiniteStateException>(() => TorchCheckpoint.LoadStateDict(target, state));

        Assert.Equal("state", ex.ParamName);
        Assert.StartsWith("state: the buffer running_var holds NaN values;", ex.Message, StringComparison.Ordinal);
        Assert.Equal(1f, target.weight!.sum().item<float>() / 3);
        TorchCheckpoint.LoadStateDict(target, state, allowNonFinite: true);
        Assert.True(torch.isnan(target.running_var!).any().item<bool>());
    }

    [Fact]
    public void LoadStateDict_NaNInAParameterAndABuffer_RefusalCarriesTheKeysAndLeavesNoTemporaryTensor()
    {
        var target = nn.BatchNorm1d(3);
        var state = nn.BatchNorm1d(3).state_dict().ToDictionary(p => p.Key, p => p.Value.detach().clone());
        state["bias"][0] = float.PositiveInfinity;
        state["running_mean"][2] = float.NaN;
        var live = DisposeScopeManager.Statistics.ThreadTotalLiveCount;

        var ex = Assert.ThrowsAny<ArgumentException>(() => TorchCheckpoint.LoadStateDict(target, state));

        Assert.Equal(live, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
        Assert.Equal(["bias", "running_mean"], Assert.IsType<NonFiniteStateException>(ex).RefusedKeys);
        Assert.Equal("state", ex.ParamName);
        foreach (var tensor in state.Values)
        {
            tensor.Dispose();
        }

        target.Dispose();
    }

    [Fact]
    public void LoadStateDict_NegativeInfinityInABuffer_LoadsAsMasksHoldIt()
    {
        using var scope = torch.NewDisposeScope();
        using var target = new MaskHolder();
        var mask = torch.tensor(new[] { 0f, float.NegativeInfinity, 0f, 0f }).reshape(2, 2);

        TorchCheckpoint.LoadStateDict(target, new Dictionary<string, Tensor> { ["mask"] = mask });

        Assert.True(target.get_buffer("mask")!.equal(mask).all().item<bool>());
    }

    [Fact]
    public void LoadStateDict_InsideADisposeScope_LeavesNativeLayersTheirParameters()
    {
        var embedding = nn.Embedding(4, 3);
        using (torch.NewDisposeScope())
        {
            TorchCheckpoint.LoadStateDict(embedding, new Dictionary<string, Tensor> { ["weight"] = torch.ones(4, 3) });
        }

        var parameter = Assert.Single(embedding.named_parameters());
        Assert.False(parameter.parameter.IsInvalid);
        Assert.Equal(12f, parameter.parameter.sum().item<float>());
    }

    [Fact]
    public void VqaModelLoadDefault_StateDict_HoldsTheTextEncodersParameters()
    {
        using var model = Captum.Plugins.Vqa.VqaModel.LoadDefault(new Captum.Plugins.Vqa.VqaModelOptions());

        Assert.Contains("text.embedding.weight", model.Net.state_dict().Keys);
        Assert.Contains("text.lstm.weight_ih_l0", model.Net.state_dict().Keys);
    }

    /// <summary>A module whose only state is a buffer, as an attention mask is.</summary>
    private sealed class MaskHolder : nn.Module
    {
        public MaskHolder()
            : base(nameof(MaskHolder)) => register_buffer("mask", torch.zeros(2, 2));
    }
}
