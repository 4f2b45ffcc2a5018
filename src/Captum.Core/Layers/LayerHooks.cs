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
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<(Type Typed, bool OnInput), MethodInfo> Adders = new();

    /// <summary>Registers a hook on the layer's output (<paramref name="onInput"/> false) or inputs (true).</summary>
    /// <param name="layer">The hooked module.</param>
    /// <param name="onInput">Hook the inputs (a pre-hook) rather than the output.</param>
    /// <param name="hook">Sees the call's tensors and returns replacements, or null.</param>
    /// <param name="argumentName">How errors name <paramref name="layer"/>.</param>
    /// <param name="everywhere">
    /// Act for every call of the layer, from any thread; by default the hook acts only for calls made in the execution
    /// flow that registers it (see <see cref="HookScope"/>), and lets every other call through unchanged.
    /// </param>
    /// <returns>A handle that removes the hook when disposed.</returns>
    public static IDisposable Register(nn.Module layer, bool onInput, LayerTensorHook hook, string argumentName = "layer", bool everywhere = false)
    {
        var typed = TypedBase(layer, argumentName);
        var scope = everywhere ? HookScope.Everywhere() : new HookScope();
        try
        {
            Add(scope, layer, typed, onInput, hook);
        }
        catch
        {
            scope.Dispose();
            throw;
        }

        return scope;
    }

    /// <summary>Adds a hook to <paramref name="scope"/>, which removes it when disposed.</summary>
    /// <param name="scope">The scope that owns the hook.</param>
    /// <param name="layer">The hooked module; it must derive from <c>Module&lt;T1, ..., TResult&gt;</c>.</param>
    /// <param name="onInput">Hook the inputs (a pre-hook) rather than the output.</param>
    /// <param name="hook">Sees the call's tensors and returns replacements, or null.</param>
    public static void Register(HookScope scope, nn.Module layer, bool onInput, LayerTensorHook hook) =>
        Add(scope, layer, TypedBase(layer, nameof(layer)), onInput, hook);

    private static Type TypedBase(nn.Module layer, string argumentName) =>
        ModuleTypes.FindTypedBase(layer.GetType())
            ?? throw new ArgumentException(
                $"{argumentName}: {layer.GetType().Name} does not derive from TorchSharp's Module<T1, ..., TResult>, so it cannot be hooked.",
                argumentName);

    private static void Add(HookScope scope, nn.Module layer, Type typed, bool onInput, LayerTensorHook hook)
    {
        var method = Adders.GetOrAdd((typed, onInput), static key =>
        {
            var args = key.Typed.GetGenericArguments();
            var name = (key.OnInput ? "Pre" : "Post") + (args.Length - 1);
            return typeof(LayerHooks).GetMethod(name, BindingFlags.NonPublic | BindingFlags.Static)!.MakeGenericMethod(args);
        });
        try
        {
            method.Invoke(null, [layer, hook, scope]);
        }
        catch (TargetInvocationException ex) when (ex.InnerException is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(ex.InnerException).Throw();
            throw;
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

    private static void Post1<T1, TR>(nn.Module<T1, TR> layer, LayerTensorHook hook, HookScope scope)
    {
        scope.AddPostHook(layer, (_, x1, y) => scope.IsActive ? Out(y, hook)! : y);
    }

    private static void Pre1<T1, TR>(nn.Module<T1, TR> layer, LayerTensorHook hook, HookScope scope)
    {
        scope.AddPreHook(layer, (_, x1) => scope.IsActive && In([x1], hook) is { } r ? (T1)r[0]! : x1);
    }

    private static void Post2<T1, T2, TR>(nn.Module<T1, T2, TR> layer, LayerTensorHook hook, HookScope scope)
    {
        scope.AddPostHook(layer, (_, x1, x2, y) => scope.IsActive ? Out(y, hook)! : y);
    }

    private static void Pre2<T1, T2, TR>(nn.Module<T1, T2, TR> layer, LayerTensorHook hook, HookScope scope)
    {
        scope.AddPreHook(layer, (_, x1, x2) => !scope.IsActive ? null : In([x1, x2], hook) is { } r ? ((T1)r[0]!, (T2)r[1]!) : null);
    }

    private static void Post3<T1, T2, T3, TR>(nn.Module<T1, T2, T3, TR> layer, LayerTensorHook hook, HookScope scope)
    {
        scope.AddPostHook(layer, (_, x1, x2, x3, y) => scope.IsActive ? Out(y, hook)! : y);
    }

    private static void Pre3<T1, T2, T3, TR>(nn.Module<T1, T2, T3, TR> layer, LayerTensorHook hook, HookScope scope)
    {
        scope.AddPreHook(layer, (_, x1, x2, x3) => !scope.IsActive ? null : In([x1, x2, x3], hook) is { } r ? ((T1)r[0]!, (T2)r[1]!, (T3)r[2]!) : null);
    }

    private static void Post4<T1, T2, T3, T4, TR>(nn.Module<T1, T2, T3, T4, TR> layer, LayerTensorHook hook, HookScope scope)
    {
        scope.AddPostHook(layer, (_, x1, x2, x3, x4, y) => scope.IsActive ? Out(y, hook)! : y);
    }

    private static void Pre4<T1, T2, T3, T4, TR>(nn.Module<T1, T2, T3, T4, TR> layer, LayerTensorHook hook, HookScope scope)
    {
        scope.AddPreHook(layer, (_, x1, x2, x3, x4) => !scope.IsActive ? null : In([x1, x2, x3, x4], hook) is { } r ? ((T1)r[0]!, (T2)r[1]!, (T3)r[2]!, (T4)r[3]!) : null);
    }

    private static void Post5<T1, T2, T3, T4, T5, TR>(nn.Module<T1, T2, T3, T4, T5, TR> layer, LayerTensorHook hook, HookScope scope)
    {
        scope.AddPostHook(layer, (_, x1, x2, x3, x4, x5, y) => scope.IsActive ? Out(y, hook)! : y);
    }

    private static void Pre5<T1, T2, T3, T4, T5, TR>(nn.Module<T1, T2, T3, T4, T5, TR> layer, LayerTensorHook hook, HookScope scope)
    {
        scope.AddPreHook(layer, (_, x1, x2, x3, x4, x5) => !scope.IsActive ? null : In([x1, x2, x3, x4, x5], hook) is { } r ? ((T1)r[0]!, (T2)r[1]!, (T3)r[2]!, (T4)r[3]!, (T5)r[4]!) : null);
    }

    private static void Post6<T1, T2, T3, T4, T5, T6, TR>(nn.Module<T1, T2, T3, T4, T5, T6, TR> layer, LayerTensorHook hook, HookScope scope)
    {
        scope.AddPostHook(layer, (_, x1, x2, x3, x4, x5, x6, y) => scope.IsActive ? Out(y, hook)! : y);
    }

    private static void Pre6<T1, T2, T3, T4, T5, T6, TR>(nn.Module<T1, T2, T3, T4, T5, T6, TR> layer, LayerTensorHook hook, HookScope scope)
    {
        scope.AddPreHook(layer, (_, x1, x2, x3, x4, x5, x6) => !scope.IsActive ? null : In([x1, x2, x3, x4, x5, x6], hook) is { } r ? ((T1)r[0]!, (T2)r[1]!, (T3)r[2]!, (T4)r[3]!, (T5)r[4]!, (T6)r[5]!) : null);
    }
}
