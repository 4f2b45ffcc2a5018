using Captum.Forward;
using Captum.Runtime;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Captum.Attr;

/// <summary>
/// An identity layer standing for one forward argument of a <see cref="ModelInputWrapper"/>, so layer
/// methods can attribute to a model's raw inputs together with its inner layers.
/// </summary>
/// <remarks>Python: <c>captum.attr._utils.input_layer_wrapper.InputIdentity</c>.</remarks>
public sealed class InputIdentity : nn.Module<Tensor, Tensor>
{
    /// <summary>Creates the identity for the argument <paramref name="inputName"/>.</summary>
    public InputIdentity(string inputName)
        : base(nameof(InputIdentity))
    {
        InputName = inputName ?? throw new ArgumentNullException(nameof(inputName));
    }

    /// <summary>The name of the forward argument this layer stands for.</summary>
    public string InputName { get; }

    /// <summary>Returns its input unchanged.</summary>
    public override Tensor forward(Tensor input) => input;
}

/// <summary>
/// Wraps a model so that every forward argument passes through its own identity layer,
/// <c>input_maps.&lt;argument name&gt;</c>, named after the model's forward parameters. With it, Layer
/// Integrated Gradients attributes to raw inputs (an image) and inner layers (a question's embedding)
/// in one call. The wrapper computes exactly what the model computes.
/// </summary>
/// <remarks>
/// Python: <c>captum.attr.ModelInputWrapper(module_to_wrap)</c>. The model is registered as the
/// submodule <c>module</c>, so its layers are reached as <c>"module.text.embedding"</c>. Non-tensor
/// arguments pass through unchanged. The wrapped model is not modified and stays owned by the caller: disposing the
/// wrapper disposes its identity layers only, never the wrapped model.
/// </remarks>
public sealed class ModelInputWrapper : nn.Module
{
    private readonly ForwardFunction inner;
    private readonly InputIdentity[] identities;

    /// <summary>Wraps <paramref name="moduleToWrap"/>, a module deriving from <c>Module&lt;T1, ..., TResult&gt;</c> returning a tensor.</summary>
    /// <exception cref="ArgumentException">The module has no typed forward returning a tensor.</exception>
    public ModelInputWrapper(nn.Module moduleToWrap)
        : base(nameof(ModelInputWrapper))
    {
        ArgumentNullException.ThrowIfNull(moduleToWrap);
        TorchRuntime.EnsureAvailable();
        try
        {
            inner = ForwardFunction.FromModule(moduleToWrap);
        }
        catch (ArgumentException ex)
        {
            throw new ArgumentException(ErrorMessages.OneLine(ex), nameof(moduleToWrap), ex);
        }

        WrappedModule = moduleToWrap;
        ArgumentNames = inner.ParameterNames!;
        identities = ArgumentNames.Select(name => new InputIdentity(name)).ToArray();
        InputMaps = new ModuleDict<nn.Module<Tensor, Tensor>>();
        foreach (var identity in identities)
        {
            InputMaps.Add((identity.InputName, identity));
        }

        register_module("module", moduleToWrap);
        register_module("input_maps", InputMaps);
    }

    /// <summary>The wrapped model. Python: <c>module</c>.</summary>
    public nn.Module WrappedModule { get; }

    /// <summary>One identity layer per forward argument, keyed by the argument's name. Python: <c>input_maps</c>.</summary>
    public ModuleDict<nn.Module<Tensor, Tensor>> InputMaps { get; }

    /// <summary>The wrapped model's forward parameter names, in order. Python: <c>arg_name_list</c>.</summary>
    public IReadOnlyList<string> ArgumentNames { get; }

    /// <summary>Runs the model with every tensor argument routed through its identity layer.</summary>
    public Tensor Invoke(params object?[] args)
    {
        ArgumentNullException.ThrowIfNull(args);
        var routed = (object?[])args.Clone();
        for (var i = 0; i < Math.Min(routed.Length, identities.Length); i++)
        {
            if (routed[i] is Tensor t)
            {
                routed[i] = identities[i].call(t);
            }
        }

        return inner.Invoke(routed);
    }

    /// <summary>The wrapper as a forward function whose module is the wrapper (so paths start at the wrapper).</summary>
    public ForwardFunction AsForwardFunction() => ForwardFunction.FromDelegate(Invoke, this);

    /// <summary>Disposes the identity layers only: the wrapped model is the caller's (TorchSharp's Module.Dispose would dispose every submodule).</summary>
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            InputMaps.Dispose();
        }
    }

    /// <summary>The wrapper as a forward function.</summary>
    public static implicit operator ForwardFunction(ModelInputWrapper wrapper) =>
        (wrapper ?? throw new ArgumentNullException(nameof(wrapper))).AsForwardFunction();
}
