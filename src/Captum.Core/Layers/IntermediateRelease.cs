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
/// A model that keeps a tensor of one submodule's call in a field and reads it after the call fails under release
/// (TorchSharp's "Tensor invalid -- empty handle."); the call is then repeated without release, and when that succeeds the model is not released
/// again (when it fails too, the error is the call's own and is thrown as without release). Hooks act
/// only for the calling thread's flow (<see cref="HookScope"/>), so other threads' calls of the model are untouched.
/// </para>
/// </remarks>
internal static class IntermediateRelease
{
    private static readonly ConditionalWeakTable<nn.Module, Plan> Plans = new();
    private static readonly ConditionalWeakTable<nn.Module, object> Refused = new();

    /// <summary>
    /// Whether forward calls release intermediates: yes unless the environment variable
    /// <c>CAPTUM_KEEP_INTERMEDIATES</c> is <c>1</c> when the process starts (the benchmark compares both that way);
    /// tests switch it directly.
    /// </summary>
    internal static bool Enabled { get; set; } = Environment.GetEnvironmentVariable("CAPTUM_KEEP_INTERMEDIATES") != "1";

    /// <summary>Calls <paramref name="forward"/>, which runs <paramref name="root"/>, freeing each eligible submodule's intermediates when it returns.</summary>
    /// <param name="root">The model the forward function runs.</param>
    /// <param name="forward">The call.</param>
    /// <returns>The forward function's result, in the caller's dispose scope as without release.</returns>
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

        var open = new Stack<DisposeScope>();
        var thread = Environment.CurrentManagedThreadId;
        using (var hooks = new HookScope { ReleasesIntermediates = true })
        {
            foreach (var module in modules)
            {
                LayerHooks.Register(hooks, module, onInput: true, _ =>
                {
                    if (Environment.CurrentManagedThreadId == thread)
                    {
                        open.Push(torch.NewDisposeScope());
                    }

                    return null;
                });
                LayerHooks.Register(hooks, module, onInput: false, outputs =>
                {
                    if (Environment.CurrentManagedThreadId == thread && open.TryPop(out var scope))
                    {
                        foreach (var output in outputs)
                        {
                            if (scope.Contains(output))
                            {
                                scope.MoveToOuter(output);
                            }
                        }

                        scope.Dispose();
                    }

                    return null;
                });
            }

            try
            {
                return forward();
            }
            catch (Exception ex) when (CloseAll(open) && UsedAReleasedTensor(ex))
            {
            }
        }

        // The model read a tensor that release had freed. Failing again is the call's own error, which the caller
        // sees as without release; succeeding means the model needs its intermediates after its submodules return,
        // so it is not released again.
        var result = forward();
        Refused.AddOrUpdate(root, Refused);
        return result;
    }

    /// <summary>Disposes the scopes a call that threw left open (they would capture every tensor made after it); true.</summary>
    private static bool CloseAll(Stack<DisposeScope> open)
    {
        while (open.TryPop(out var scope))
        {
            scope.Dispose();
        }

        return true;
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
        foreach (var module in HookScope.ModulesHookedInThisFlow().Concat(plan.All.Where(HookScope.HasForeignHooks)))
        {
            for (var m = module; m is not null && excluded.Add(m); m = plan.Parents.GetValueOrDefault(m))
            {
            }
        }

        return excluded;
    }

    /// <summary>A model's modules, their parents and the eligible ones, found once per model.</summary>
    private sealed class Plan
    {
        private Plan(IReadOnlyList<nn.Module> all, Dictionary<nn.Module, nn.Module> parents, IReadOnlyList<nn.Module> eligible)
        {
            All = all;
            Parents = parents;
            Eligible = eligible;
        }

        public IReadOnlyList<nn.Module> All { get; }

        public Dictionary<nn.Module, nn.Module> Parents { get; }

        public IReadOnlyList<nn.Module> Eligible { get; }

        public static Plan Of(nn.Module root)
        {
            var all = new List<nn.Module>();
            var parents = new Dictionary<nn.Module, nn.Module>(ReferenceEqualityComparer.Instance);
            var eligible = new List<nn.Module>();
            var pending = new Stack<nn.Module>();
            pending.Push(root);
            var seen = new HashSet<nn.Module>(ReferenceEqualityComparer.Instance) { root };
            while (pending.TryPop(out var module))
            {
                all.Add(module);
                var children = module.children().ToList();
                foreach (var child in children.Where(seen.Add))
                {
                    parents[child] = module;
                    pending.Push(child);
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
