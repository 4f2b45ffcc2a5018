using System.Reflection;
using System.Runtime.InteropServices;
using Captum.Layers;
using Captum.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace Captum.Forward;

/// <summary>
/// The function an attribution method explains: a TorchSharp module of 1 to 6 arguments, or a
/// plain delegate. It is called with the inputs being attributed followed by the additional
/// forward arguments, in that order, and must return one tensor whose first dimension is the batch.
/// </summary>
/// <remarks>
/// Python: <c>forward_func</c>. Modules convert implicitly, so
/// <c>new IntegratedGradients(model)</c> works for any <c>Module&lt;Tensor, Tensor&gt;</c> (up to six
/// tensor arguments); modules whose arguments are not all tensors go through <see cref="FromModule"/>.
/// </remarks>
public sealed class ForwardFunction
{
    private readonly Func<object?[], Tensor> invoke;

    private ForwardFunction(Func<object?[], Tensor> invoke, nn.Module? module, int? arity, IReadOnlyList<string>? parameterNames)
    {
        this.invoke = invoke;
        Module = module;
        Arity = arity;
        ParameterNames = parameterNames;
    }

    /// <summary>The module behind this function, when there is one: layer methods resolve layer paths against it.</summary>
    public nn.Module? Module { get; }

    /// <summary>The number of positional arguments the function takes, when known.</summary>
    public int? Arity { get; }

    /// <summary>The names of the module's forward parameters, when known (used by <c>ModelInputWrapper</c>).</summary>
    public IReadOnlyList<string>? ParameterNames { get; }

    /// <summary>Calls the function with positional arguments (inputs, then additional forward arguments).</summary>
    /// <exception cref="ArgumentException">The argument count or an argument's type does not fit the function.</exception>
    public Tensor Invoke(params object?[] args)
    {
        ArgumentNullException.ThrowIfNull(args);
        if (Arity is { } n && args.Length != n)
        {
            var names = ParameterNames is { } p ? $" ({string.Join(", ", p)})" : string.Empty;
            throw new ArgumentException(
                $"The forward function takes {n} argument(s){names} but was given {args.Length}: the inputs followed by additional_forward_args must supply exactly its arguments.",
                nameof(args));
        }

        try
        {
            return Module is { } module ? IntermediateRelease.Run(module, () => InvokeArranged(module, args)) : invoke(args);
        }
        catch (ExternalException ex) when (Module is not null && DtypeMismatch(Module, args) is { } mismatch)
        {
            throw new ArgumentException($"{mismatch} ({ErrorMessages.ForUser(ex)})", "inputs", ex);
        }
    }

    /// <summary>
    /// Calls the function with its image batches in channels-last order where that was found to give the same answer
    /// (<see cref="ChannelsLastLayout"/>); an output that comes back in that order is made contiguous, as it would have
    /// been.
    /// </summary>
    private Tensor InvokeArranged(nn.Module module, object?[] args)
    {
        var arranged = ChannelsLastLayout.Arrange(this, module, args, invoke);
        var output = invoke(arranged);
        return ReferenceEquals(arranged, args) || output.is_contiguous() ? output : output.contiguous();
    }

    /// <summary>
    /// Why libtorch refused the call, when the floating-point tensors given differ in dtype from the module's
    /// floating-point parameters (a float64 image for a float32 model): libtorch's own message carries its C++ stack.
    /// </summary>
    private static string? DtypeMismatch(nn.Module module, object?[] args)
    {
        var parameterTypes = module.parameters().Where(p => p.is_floating_point()).Select(p => p.dtype).Distinct().ToList();
        if (parameterTypes.Count != 1)
        {
            return null;
        }

        var given = args.OfType<Tensor>().Where(t => t.is_floating_point() && t.dtype != parameterTypes[0]).Select(t => t.dtype).Distinct().ToList();
        return given.Count == 0
            ? null
            : $"the inputs are {string.Join(", ", given)} but the model's parameters are {parameterTypes[0]}: convert the inputs (x.to(ScalarType.{parameterTypes[0]})) or the model (model.to(ScalarType.{given[0]}))";
    }

    /// <summary>Wraps a delegate that takes the positional arguments as an array.</summary>
    /// <param name="forward">The function; it receives inputs then additional forward arguments.</param>
    /// <param name="module">The module the delegate runs, so that layers can be named by path; optional.</param>
    public static ForwardFunction FromDelegate(Func<object?[], Tensor> forward, nn.Module? module = null)
    {
        ArgumentNullException.ThrowIfNull(forward);
        return new ForwardFunction(forward, module, null, null);
    }

    /// <summary>Wraps a delegate over tensors only.</summary>
    public static ForwardFunction FromDelegate(Func<Tensor[], Tensor> forward, nn.Module? module = null)
    {
        ArgumentNullException.ThrowIfNull(forward);
        return new ForwardFunction(args => forward(args.Select((a, i) => AsTensor(a, i)).ToArray()), module, null, null);
    }

    /// <summary>
    /// Wraps any TorchSharp module deriving from <c>Module&lt;T1, ..., TResult&gt;</c> (1 to 6 arguments of
    /// any type, result a tensor). The module is invoked through <c>call</c>, so its hooks fire.
    /// </summary>
    /// <exception cref="ArgumentException">The module has no typed forward, or does not return a tensor.</exception>
    public static ForwardFunction FromModule(nn.Module module)
    {
        ArgumentNullException.ThrowIfNull(module);
        TorchRuntime.EnsureAvailable();
        var moduleType = ModuleTypes.FindTypedBase(module.GetType())
            ?? throw new ArgumentException(
                $"Module {module.GetType().Name} does not derive from TorchSharp's Module<T1, ..., TResult>; wrap it with ForwardFunction.FromDelegate.",
                nameof(module));
        var generic = moduleType.GetGenericArguments();
        if (generic[^1] != typeof(Tensor))
        {
            throw new ArgumentException(
                $"Module {module.GetType().Name} returns {generic[^1].Name}, not a Tensor; wrap it with ForwardFunction.FromDelegate and select the tensor to explain.",
                nameof(module));
        }

        var call = moduleType.GetMethod("call", generic[..^1])!;
        var parameterTypes = generic[..^1];
        var names = ModuleTypes.ForwardParameterNames(module.GetType(), parameterTypes.Length);
        Tensor Invoke(object?[] args)
        {
            for (var i = 0; i < args.Length; i++)
            {
                var expected = parameterTypes[i];
                var arg = args[i];
                if (arg is null ? expected.IsValueType && Nullable.GetUnderlyingType(expected) is null : !expected.IsInstanceOfType(arg))
                {
                    throw new ArgumentException(
                        $"Forward argument {i} ('{names[i]}') of {module.GetType().Name} must be {expected.Name}, but got {arg?.GetType().Name ?? "null"}.",
                        nameof(args));
                }
            }

            try
            {
                return (Tensor)call.Invoke(module, args)!;
            }
            catch (TargetInvocationException ex) when (ex.InnerException is not null)
            {
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(ex.InnerException).Throw();
                throw;
            }
        }

        return new ForwardFunction(Invoke, module, parameterTypes.Length, names);
    }

    /// <summary>A module of one tensor argument.</summary>
    public static implicit operator ForwardFunction(nn.Module<Tensor, Tensor> module) =>
        Typed(module, 1, a => module.call(T(a, 0)));

    /// <summary>A module of two tensor arguments.</summary>
    public static implicit operator ForwardFunction(nn.Module<Tensor, Tensor, Tensor> module) =>
        Typed(module, 2, a => module.call(T(a, 0), T(a, 1)));

    /// <summary>A module of three tensor arguments.</summary>
    public static implicit operator ForwardFunction(nn.Module<Tensor, Tensor, Tensor, Tensor> module) =>
        Typed(module, 3, a => module.call(T(a, 0), T(a, 1), T(a, 2)));

    /// <summary>A module of four tensor arguments.</summary>
    public static implicit operator ForwardFunction(nn.Module<Tensor, Tensor, Tensor, Tensor, Tensor> module) =>
        Typed(module, 4, a => module.call(T(a, 0), T(a, 1), T(a, 2), T(a, 3)));

    /// <summary>A module of five tensor arguments.</summary>
    public static implicit operator ForwardFunction(nn.Module<Tensor, Tensor, Tensor, Tensor, Tensor, Tensor> module) =>
        Typed(module, 5, a => module.call(T(a, 0), T(a, 1), T(a, 2), T(a, 3), T(a, 4)));

    /// <summary>A module of six tensor arguments.</summary>
    public static implicit operator ForwardFunction(nn.Module<Tensor, Tensor, Tensor, Tensor, Tensor, Tensor, Tensor> module) =>
        Typed(module, 6, a => module.call(T(a, 0), T(a, 1), T(a, 2), T(a, 3), T(a, 4), T(a, 5)));

    /// <summary>A delegate of one tensor.</summary>
    public static implicit operator ForwardFunction(Func<Tensor, Tensor> forward) =>
        new(a => forward(T(a, 0)), null, 1, null);

    /// <summary>A delegate of two tensors.</summary>
    public static implicit operator ForwardFunction(Func<Tensor, Tensor, Tensor> forward) =>
        new(a => forward(T(a, 0), T(a, 1)), null, 2, null);

    /// <summary>A delegate of three tensors.</summary>
    public static implicit operator ForwardFunction(Func<Tensor, Tensor, Tensor, Tensor> forward) =>
        new(a => forward(T(a, 0), T(a, 1), T(a, 2)), null, 3, null);

    private static ForwardFunction Typed(nn.Module module, int arity, Func<object?[], Tensor> invoke)
    {
        ArgumentNullException.ThrowIfNull(module);
        TorchRuntime.EnsureAvailable();
        var names = ModuleTypes.ForwardParameterNames(module.GetType(), arity);
        return new ForwardFunction(invoke, module, arity, names);
    }

    private static Tensor T(object?[] args, int index) => AsTensor(args[index], index);

    private static Tensor AsTensor(object? arg, int index) => arg as Tensor
        ?? throw new ArgumentException($"Forward argument {index} must be a Tensor, but got {arg?.GetType().Name ?? "null"}.", nameof(arg));
}
