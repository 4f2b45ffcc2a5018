using Captum.Attr;
using Captum.Layers;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Captum.Tests.Attr.Models;

public sealed class ModelInputWrapperTests
{
    [Fact]
    public void Constructor_Module_NamesInputMapsAfterForwardParameters()
    {
        using var scope = torch.NewDisposeScope();
        var wrapper = new ModelInputWrapper(new TwoInputModel(seed: 1));

        Assert.Equal(["a", "b", "scale"], wrapper.ArgumentNames);
        var paths = wrapper.named_modules().Select(m => m.name).ToList();
        Assert.Contains("input_maps.a", paths);
        Assert.Contains("input_maps.scale", paths);
        Assert.Contains("module.lin", paths);
        Assert.IsType<InputIdentity>(LayerPath.Resolve(wrapper, "input_maps.b"));
    }

    [Fact]
    public void Invoke_AnyInputs_ComputesExactlyWhatTheModelComputes()
    {
        using var scope = torch.NewDisposeScope();
        var model = new TwoInputModel(seed: 2);
        var wrapper = new ModelInputWrapper(model);
        var a = torch.randn(3, 2);
        var b = torch.randn(3, 3);
        var scale = torch.rand(3, 1);

        TensorAssert.AllClose(wrapper.Invoke(a, b, scale), model.call(a, b, scale), 0, 0);
    }

    [Fact]
    public void Dispose_Wrapper_LeavesTheWrappedModelTheCallers()
    {
        using var scope = torch.NewDisposeScope();
        using var model = new TwoInputModel(seed: 3);
        var wrapper = new ModelInputWrapper(model);
        var a = torch.randn(2, 2);
        var b = torch.randn(2, 3);
        var scale = torch.rand(2, 1);
        var expected = wrapper.Invoke(a, b, scale);

        wrapper.Dispose();

        Assert.All(model.parameters(), p => Assert.False(p.IsInvalid));
        TensorAssert.AllClose(model.call(a, b, scale), expected, 0, 0);
    }

    [Fact]
    public void Constructor_ModuleReturningTuple_ThrowsNamingModule()
    {
        using var scope = torch.NewDisposeScope();
        var ex = Assert.Throws<ArgumentException>(() => new ModelInputWrapper(nn.LSTM(3, 4)));
        Assert.Equal("moduleToWrap", ex.ParamName);
    }
}
