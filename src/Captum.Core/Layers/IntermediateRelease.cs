using System.Runtime.CompilerServices;
using Captum.Forward;
using TorchSharp;
using static TorchSharp.torch;

namespace Captum.Layers;

/// <summary>
/// Frees a model's intermediate tensors as soon as the submodule that made them returns, as PyTorch does, instead of
/// when the dispose scope around the whole forward pass ends.
/// </summary>
/// <remarks>
/// <para>
/// In TorchSharp every tensor a forward pass makes is owned by the dispose scope around the call, so the live set of a
/// pass is every activation of the net at once, where PyTorch frees each one when its last reference goes: ResNet-18
/// at batch 32 without gradients peaks at 1.17 GB in TorchSharp against 0.65 GB in PyTorch (docs/performance.md).
/// While <see cref="Run"/> calls a forward function, a pre-hook on every eligible submodule opens a dispose scope and
/// a post-hook moves the submodule's output out of it and disposes the rest. With gradients this is safe too: autograd
/// keeps its own references to the tensors the backward pass needs, so only the .NET handles go early.
/// </para>
/// <para>
/// Eligible are the modules that contain others or are not TorchSharp's own (a user's module computes its
/// intermediates in .NET code; TorchSharp's leaf modules make only their output), whose output is a tensor or a tuple
/// of tensors, and which are neither hooked by an attribution running in this execution flow, nor hooked by the user
/// directly, nor an ancestor of such a module: a hooked layer's captured values must outlive the enclosing module's call.
/// Hooks act only for the calling thread's flow (<see cref="HookScope"/>), so other threads' calls of the model are
/// untouched.
/// </para>
/// <para>
/// Opt-in (<c>CAPTUM_RELEASE_INTERMEDIATES=1</c>) because it cannot see every model's needs: a model that keeps a
/// tensor made in its forward pass in a field (a lazily built mask or cache, attention weights for the caller to read
/// afterwards) and reads it after the submodule that made it returned finds it freed. That call fails with an
/// <see cref="InvalidOperationException"/> saying so, and the model is not released again in the process; the call is
/// not repeated, since the failed one may already have changed state. Also not handled: a tensor so cached across
/// calls stays freed (the model keeps failing until the process restarts without the setting), and the module plan is
/// found once per model (children added later are not seen). A review of 2026-12-07 lists these; making release safe
/// by default needs the module's own tensor fields moved out of the scope before it is disposed.
/// </para>
/// </remarks>
internal static class IntermediateRelease
{
    private static readonly ConditionalWeakTable<nn.Module, Plan> Plans = new();
    private static readonly ConditionalWeakTable<nn.Module, object> Refused = new();
    private static readonly bool ProcessDefault = Environment.GetEnvironmentVariable("CAPTUM_RELEASE_INTERMEDIATES") == "1";
    private static readonly AsyncLocal<bool?> Override = new();

    /// <summary>
    /// Whether forward calls release intermediates: only when the environment variable
    /// <c>CAPTUM_RELEASE_INTERMEDIATES</c> is <c>1</c> when the process starts (opt-in, see the remarks); tests
    /// switch it for their own execution flow.
    /// </summary>
    internal static bool Enabled
    {
        get => Override.Value ?? ProcessDefault;
        set => Override.Value = value;
    }


    /// <summary>Calls <paramref name="forward"/>, which runs <paramref name="root"/>, freeing each eligible submodule's intermediates when it returns.</summary>
    /// <param name="root">The model the forward function runs.</param>
    /// <param name="forward">The call.</param>
    /// <returns>The forward function's result, in the caller's dispose scope as without release.</returns>
    /// <exception cref="InvalidOperationException">The model read a tensor release had freed; it is not released again in this process.</exception>
    public static Tensor Run(nn.Module root, Func<Tensor> forward)
    {
        if (!Enabled || Refused.TryGetValue(root, out _))
        {
            return forward();
        }

        var plan = Plans.GetValue(root, static r => Plan.Of(r));
        var excluded = Excluded(plan);
        var modules = plan.Eligible.Where(m => !excluded.Contains(m)).ToList();
        if (modules.Count == 0)
        {
            return forward();
        }

        var open = new Stack<(nn.Module Module, DisposeScope Scope)>();
        var thread = Environment.CurrentManagedThreadId;
        using var hooks = new HookScope { ReleasesIntermediates = true };
        foreach (var module in modules)
        {
            LayerHooks.Register(hooks, module, onInput: true, _ =>
            {
                if (Environment.CurrentManagedThreadId == thread)
                {
                    open.Push((module, torch.NewDisposeScope()));
                }

                return null;
            });
            LayerHooks.Register(hooks, module, onInput: false, outputs =>
            {
                if (Environment.CurrentManagedThreadId == thread && open.Any(entry => ReferenceEquals(entry.Module, module)))
                {
                    // Scopes above this module's own were left open by children that threw and were caught: whatever
                    // the module made after that went into them, so its outputs move down through each.
                    (nn.Module Module, DisposeScope Scope) entry;
                    do
                    {
                        entry = open.Pop();
                        foreach (var output in outputs)
                        {
                            if (entry.Scope.Contains(output))
                            {
                                entry.Scope.MoveToOuter(output);
                            }
                        }

                        entry.Scope.Dispose();
                    }
                    while (!ReferenceEquals(entry.Module, module));
                }

                return null;
            });
        }

        try
        {
            return forward();
        }
        catch (Exception ex)
        {
            // Scopes a call that threw left open would capture every tensor made after it.
            while (open.TryPop(out var entry))
            {
                entry.Scope.Dispose();
            }

            if (UsedAReleasedTensor(ex))
            {
                // Not called again: the failed call may already have changed the model's or its inputs' state.
                Refused.AddOrUpdate(root, Refused);
                throw new IntermediateReleaseException(
                    $"{root.GetType().Name} read a tensor after the submodule that made it had returned (kept in a field), which CAPTUM_RELEASE_INTERMEDIATES=1 frees: "
                    + "this model is no longer released in this process; call again, or run without CAPTUM_RELEASE_INTERMEDIATES.",
                    ex);
            }

            throw;
        }
    }

    /// <summary>TorchSharp's error for a disposed tensor, anywhere in the exception's chain.</summary>
    private static bool UsedAReleasedTensor(Exception exception) => exception switch
    {
        InvalidOperationException { Message: "Tensor invalid -- empty handle." } => true,
        AggregateException aggregate => aggregate.InnerExceptions.Any(UsedAReleasedTensor),
        { InnerException: { } inner } => UsedAReleasedTensor(inner),
        _ => false,
    };

    /// <summary>The modules hooked by this flow's attribution or by the user, and their ancestors.</summary>
    private static HashSet<nn.Module> Excluded(Plan plan)
    {
        var excluded = new HashSet<nn.Module>(ReferenceEqualityComparer.Instance);
        var pending = new Stack<nn.Module>(HookScope.ModulesHookedInThisFlow().Concat(plan.All.Where(HookScope.HasForeignHooks)));
        while (pending.TryPop(out var module))
        {
            // A module registered under several parents is reached through each: every one of them is excluded.
            if (excluded.Add(module) && plan.Parents.TryGetValue(module, out var parents))
            {
                foreach (var parent in parents)
                {
                    pending.Push(parent);
                }
            }
        }

        return excluded;
    }

    /// <summary>A model's modules, their parents and the eligible ones, found once per model.</summary>
    private sealed class Plan
    {
        private Plan(IReadOnlyList<nn.Module> all, Dictionary<nn.Module, List<nn.Module>> parents, IReadOnlyList<nn.Module> eligible)
        {
            All = all;
            Parents = parents;
            Eligible = eligible;
        }

        public IReadOnlyList<nn.Module> All { get; }

        public Dictionary<nn.Module, List<nn.Module>> Parents { get; }

        public IReadOnlyList<nn.Module> Eligible { get; }

        public static Plan Of(nn.Module root)
        {
            var all = new List<nn.Module>();
            var parents = new Dictionary<nn.Module, List<nn.Module>>(ReferenceEqualityComparer.Instance);
            var eligible = new List<nn.Module>();
            var pending = new Stack<nn.Module>();
            pending.Push(root);
            var seen = new HashSet<nn.Module>(ReferenceEqualityComparer.Instance) { root };
            while (pending.TryPop(out var module))
            {
                all.Add(module);
                var children = module.children().ToList();
                foreach (var child in children)
                {
                    if (!parents.TryGetValue(child, out var list))
                    {
                        parents[child] = list = [];
                    }

                    list.Add(module);
                    if (seen.Add(child))
                    {
                        pending.Push(child);
                    }
                }

                var ownCode = children.Count > 0 || module.GetType().Assembly != typeof(nn.Module).Assembly;
                if (ownCode && ModuleTypes.FindTypedBase(module.GetType()) is { } typed && IsTensorStructure(typed.GetGenericArguments()[^1]))
                {
                    eligible.Add(module);
                }
            }

            return new Plan(all, parents, eligible);
        }

        /// <summary>A tensor, or a (value) tuple whose items are tensors or such tuples: outputs the post-hook sees whole.</summary>
        private static bool IsTensorStructure(Type type) =>
            type == typeof(Tensor)
            || (type.IsGenericType && typeof(ITuple).IsAssignableFrom(type) && type.GetGenericArguments().All(IsTensorStructure));
    }
}

/// <summary>
/// A forward call that failed because <see cref="IntermediateRelease"/> freed a tensor the model kept: never to be
/// taken for the model refusing a shape and silently run again (the failed call may have changed state).
/// </summary>
internal sealed class IntermediateReleaseException(string message, Exception innerException) : InvalidOperationException(message, innerException)
{
}
