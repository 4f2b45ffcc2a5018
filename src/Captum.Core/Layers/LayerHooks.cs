using System.Reflection;
using Captum.Forward;
using TorchSharp;
using static TorchSharp.torch;

namespace Captum.Layers;

/// <summary>
/// The observed or replaced tensors of one layer call: the flattened tensors of the layer's output
/// (or of its inputs, for pre-hooks). Return null to leave them unchanged.
/// </summary>
internal delegate Tensor[]? LayerTensorHook(Tensor[] tensors);

/// <summary>
/// Registers forward hooks on any TorchSharp module deriving from <c>Module&lt;T1, ..., TResult&gt;</c>,
/// whatever its argument and result types, and exposes the call's tensors as a flat array.
/// Hooks fire only when the module is invoked through <c>call</c>.
/// </summary>
internal static class LayerHooks
{
    /// <summary>Registers a hook on the layer's output (<paramref name="onInput"/> false) or inputs (true).</summary>
    /// <returns>A handle that removes the hook when disposed.</returns>
    public static IDisposable Register(nn.Module layer, bool onInput, LayerTensorHook hook, string argumentName = "layer")
    {
        var typed = ModuleTypes.FindTypedBase(layer.GetType())
            ?? throw new ArgumentException(
                $"{argumentName}: {layer.GetType().Name} does not derive from TorchSharp's Module<T1, ..., TResult>, so it cannot be hooked.",
                argumentName);
        var args = typed.GetGenericArguments();
        var name = (onInput ? "Pre" : "Post") + (args.Length - 1);
        var method = typeof(LayerHooks).GetMethod(name, BindingFlags.NonPublic | BindingFlags.Static)!.MakeGenericMethod(args);
        return (IDisposable)method.Invoke(null, [layer, hook])!;
    }

    private sealed class Remover(Action remove) : IDisposable
    {
        private Action? remove = remove;

        public void Dispose()
        {
            remove?.Invoke();
            remove = null;
        }
    }

    private static TR? Out<TR>(TR value, LayerTensorHook hook)
    {
        var replaced = hook(TensorPack.Flatten(value));
        // TorchSharp keeps the output only when a hook returns null, which a value tuple never is: return it as is.
        return replaced is null ? value : (TR?)TensorPack.Rebuild(value, replaced);
    }

    private static object?[]? In(object?[] values, LayerTensorHook hook)
    {
        var tuple = values;
        var flat = values.SelectMany(TensorPack.Flatten).ToArray();
        var replaced = hook(flat);
        if (replaced is null)
        {
            return null;
        }

        var result = new object?[tuple.Length];
        var next = 0;
        for (var i = 0; i < tuple.Length; i++)
        {
            var count = TensorPack.Flatten(tuple[i]).Length;
            result[i] = TensorPack.Rebuild(tuple[i], replaced.Skip(next).Take(count).ToArray());
            next += count;
        }

        return result;
    }

    private static IDisposable Post1<T1, TR>(nn.Module<T1, TR> layer, LayerTensorHook hook)
    {
        var handle = layer.register_forward_hook((_, x1, y) => Out(y, hook)!);
        return new Remover(handle.remove);
    }

    private static IDisposable Pre1<T1, TR>(nn.Module<T1, TR> layer, LayerTensorHook hook)
    {
        var handle = layer.register_forward_pre_hook((_, x1) => In([x1], hook) is { } r ? (T1)r[0]! : x1);
        return new Remover(handle.remove);
    }

    private static IDisposable Post2<T1, T2, TR>(nn.Module<T1, T2, TR> layer, LayerTensorHook hook)
    {
        var handle = layer.register_forward_hook((_, x1, x2, y) => Out(y, hook)!);
        return new Remover(handle.remove);
    }

    private static IDisposable Pre2<T1, T2, TR>(nn.Module<T1, T2, TR> layer, LayerTensorHook hook)
    {
        var handle = layer.register_forward_pre_hook((_, x1, x2) => In([x1, x2], hook) is { } r ? ((T1)r[0]!, (T2)r[1]!) : null);
        return new Remover(handle.remove);
    }

    private static IDisposable Post3<T1, T2, T3, TR>(nn.Module<T1, T2, T3, TR> layer, LayerTensorHook hook)
    {
        var handle = layer.register_forward_hook((_, x1, x2, x3, y) => Out(y, hook)!);
        return new Remover(handle.remove);
    }

    private static IDisposable Pre3<T1, T2, T3, TR>(nn.Module<T1, T2, T3, TR> layer, LayerTensorHook hook)
    {
        var handle = layer.register_forward_pre_hook((_, x1, x2, x3) => In([x1, x2, x3], hook) is { } r ? ((T1)r[0]!, (T2)r[1]!, (T3)r[2]!) : null);
        return new Remover(handle.remove);
    }

    private static IDisposable Post4<T1, T2, T3, T4, TR>(nn.Module<T1, T2, T3, T4, TR> layer, LayerTensorHook hook)
    {
        var handle = layer.register_forward_hook((_, x1, x2, x3, x4, y) => Out(y, hook)!);
        return new Remover(handle.remove);
    }

    private static IDisposable Pre4<T1, T2, T3, T4, TR>(nn.Module<T1, T2, T3, T4, TR> layer, LayerTensorHook hook)
    {
        var handle = layer.register_forward_pre_hook((_, x1, x2, x3, x4) => In([x1, x2, x3, x4], hook) is { } r ? ((T1)r[0]!, (T2)r[1]!, (T3)r[2]!, (T4)r[3]!) : null);
        return new Remover(handle.remove);
    }

    private static IDisposable Post5<T1, T2, T3, T4, T5, TR>(nn.Module<T1, T2, T3, T4, T5, TR> layer, LayerTensorHook hook)
    {
        var handle = layer.register_forward_hook((_, x1, x2, x3, x4, x5, y) => Out(y, hook)!);
        return new Remover(handle.remove);
    }

    private static IDisposable Pre5<T1, T2, T3, T4, T5, TR>(nn.Module<T1, T2, T3, T4, T5, TR> layer, LayerTensorHook hook)
    {
        var handle = layer.register_forward_pre_hook((_, x1, x2, x3, x4, x5) => In([x1, x2, x3, x4, x5], hook) is { } r ? ((T1)r[0]!, (T2)r[1]!, (T3)r[2]!, (T4)r[3]!, (T5)r[4]!) : null);
        return new Remover(handle.remove);
    }

    private static IDisposable Post6<T1, T2, T3, T4, T5, T6, TR>(nn.Module<T1, T2, T3, T4, T5, T6, TR> layer, LayerTensorHook hook)
    {
        var handle = layer.register_forward_hook((_, x1, x2, x3, x4, x5, x6, y) => Out(y, hook)!);
        return new Remover(handle.remove);
    }

    private static IDisposable Pre6<T1, T2, T3, T4, T5, T6, TR>(nn.Module<T1, T2, T3, T4, T5, T6, TR> layer, LayerTensorHook hook)
    {
        var handle = layer.register_forward_pre_hook((_, x1, x2, x3, x4, x5, x6) => In([x1, x2, x3, x4, x5, x6], hook) is { } r ? ((T1)r[0]!, (T2)r[1]!, (T3)r[2]!, (T4)r[3]!, (T5)r[4]!, (T6)r[5]!) : null);
        return new Remover(handle.remove);
    }
}
