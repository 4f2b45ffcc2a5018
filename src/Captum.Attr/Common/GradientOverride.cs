using System.Runtime.ExceptionServices;
using Captum.Layers;
using TorchSharp;
using static TorchSharp.torch;

namespace Captum.Attr;

/// <summary>
/// How one module call back-propagates instead of its own derivative. Given the call's input and output
/// (the whole batch, as computed) and the gradient with respect to the output, it returns the gradient to
/// send straight to the input, and the gradient to send into the module's own backward (which reaches the
/// input multiplied by the module's derivative). Either may be null; their sum arrives at the input.
/// </summary>
internal abstract class GradientRule
{
    /// <summary>Checks, while the model runs, that a call fits the rule (so that backward cannot fail on it).</summary>
    /// <exception cref="ArgumentException">The call does not fit; the message names the module.</exception>
    public virtual void Check(string module, Tensor input, Tensor output)
    {
    }

    /// <summary>The overriding gradients; runs without gradient recording.</summary>
    public abstract (Tensor? ToInput, Tensor? ThroughModule) Backward(Tensor input, Tensor output, Tensor gradOutput);
}

/// <summary>
/// One attribution call's overrides: records the first failure of a rule's backward. Exceptions must not
/// cross TorchSharp's native autograd engine, so a failing backward sends zeros and the call rethrows the
/// failure once <c>torch.autograd.grad</c> has returned (<see cref="ThrowIfFailed"/>).
/// </summary>
internal sealed class OverrideSession
{
    private ExceptionDispatchInfo? failure;

    public void Fail(Exception exception) => failure ??= ExceptionDispatchInfo.Capture(exception);

    public void ThrowIfFailed() => failure?.Throw();
}

/// <summary>
/// The custom autograd function inserted after an overridden module: forward is the identity on the module's
/// output, backward applies the <see cref="GradientRule"/>. Its arguments are the module's input, its output and
/// the <see cref="OverrideBinding"/>; the output it returns replaces the module's output.
/// </summary>
internal sealed class GradientOverrideFunction : autograd.SingleTensorFunction<GradientOverrideFunction>
{
    private const string BindingKey = "binding";

    /// <inheritdoc />
    public override string Name => "CaptumGradientOverride";

    /// <inheritdoc />
    public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
    {
        var input = (Tensor)vars[0];
        var output = (Tensor)vars[1];
        ctx.save_for_backward([input, output]);
        ctx.save_data(BindingKey, vars[2]);

        // A view of the output, not a copy: the graph then holds no second activation.
        return output.alias();
    }

    /// <inheritdoc />
    public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor grad_output)
    {
        var binding = (OverrideBinding)ctx.get_data(BindingKey);
        using var scope = torch.NewDisposeScope();
        var saved = ctx.get_saved_variables();
        try
        {
            using var noGrad = torch.no_grad();
            var (toInput, throughModule) = binding.Rule.Backward(saved[0], saved[1], grad_output);
            return [toInput?.MoveToOuterDisposeScope()!, throughModule?.MoveToOuterDisposeScope()!, null!];
        }
        catch (Exception ex)
        {
            binding.Session.Fail(ex);
            return [torch.zeros_like(saved[0]).MoveToOuterDisposeScope(), null!, null!];
        }
    }
}

/// <summary>The rule of one hooked module and the session it reports failures to.</summary>
internal sealed record OverrideBinding(GradientRule Rule, OverrideSession Session);

/// <summary>
/// Overrides how chosen modules back-propagate, with forward hooks that route each call's output through
/// <see cref="GradientOverrideFunction"/>. The model itself is never edited: disposing the handle removes every
/// hook, and registration removes what it added if it fails half-way.
/// </summary>
internal static class ModuleGradientOverrides
{
    /// <summary>
    /// Registers overrides on every module of <paramref name="root"/> (itself included) for which
    /// <paramref name="ruleFor"/> returns a rule (it gets the module's dotted path and the module, and may throw
    /// <see cref="ArgumentException"/> to refuse the model before anything is registered).
    /// </summary>
    /// <returns>A handle that removes every hook when disposed.</returns>
    public static IDisposable Register(nn.Module root, Func<string, nn.Module, GradientRule?> ruleFor, OverrideSession session)
    {
        var chosen = new List<(string Path, nn.Module<Tensor, Tensor> Module, GradientRule Rule)>();
        // TorchSharp's named_modules() leaves out the module it is called on; a model that is a single
        // nonlinearity must still get its rule.
        var modules = root.named_modules().ToList();
        if (!modules.Any(m => ReferenceEquals(m.module, root)))
        {
            modules.Insert(0, (string.Empty, root));
        }

        foreach (var (name, module) in modules)
        {
            if (ruleFor(name, module) is not { } rule)
            {
                continue;
            }

            var typed = module as nn.Module<Tensor, Tensor>
                ?? throw new InvalidOperationException($"A gradient rule was chosen for {module.GetType().Name}, which is not a Module<Tensor, Tensor>.");
            chosen.Add((name.Length == 0 ? module.GetType().Name : name, typed, rule));
        }

        var scope = new HookScope();
        try
        {
            foreach (var (path, module, rule) in chosen)
            {
                Hook(path, module, new OverrideBinding(rule, session), scope);
            }
        }
        catch
        {
            scope.Dispose();
            throw;
        }

        return scope;
    }

    /// <summary>Whether the module computes in place (TorchSharp's activations expose an <c>inplace</c> property).</summary>
    public static bool IsInPlace(nn.Module module) =>
        module.GetType().GetProperty("inplace")?.GetValue(module) is true;

    private static void Hook(string path, nn.Module<Tensor, Tensor> module, OverrideBinding binding, HookScope scope)
    {
        // An in-place module overwrites its input: it gets a copy, and the rule gets the original, whose
        // graph the overriding gradient must reach.
        var inPlace = IsInPlace(module);
        var originals = new Stack<Tensor>();
        if (inPlace)
        {
            scope.AddPreHook(module, (_, x) =>
            {
                if (!scope.IsActive)
                {
                    return x;
                }

                originals.Push(x);
                return x.clone();
            });
        }

        scope.AddPostHook(module, (_, x, y) =>
        {
            if (!scope.IsActive)
            {
                return y;
            }

            var input = inPlace ? originals.Pop() : x;
            binding.Rule.Check(path, input, y);
            return GradientOverrideFunction.apply(input, y, binding);
        });
    }
}
