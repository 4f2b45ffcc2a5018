using System.Reflection;
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
/// On by default; <c>CAPTUM_RELEASE_INTERMEDIATES=0</c> in the process's environment turns it off. A module may keep a
/// tensor made in its forward pass in a field (a lazily built mask or cache, attention weights for the caller to read
/// afterwards): before a submodule's scope is disposed, every tensor in it that a field of that module or of any module
/// below it holds is moved out to the enclosing scope, and so on up to the caller's, where it lives as it would without
/// release; a cache built in one call therefore still works in the next. The fields are found once per type
/// (<see cref="TensorFields"/>: tensors, arrays, collections, dictionaries and tuples of them, in the user's own types;
/// TorchSharp's module machinery and built-in modules hold only parameters and buffers); types without such fields
/// cost nothing per call.
/// </para>
/// <para>
/// Installing and removing the hooks costs, per call, four hook-dictionary copies per released module (0.1 to 0.3 ms on
/// a small model), which matters for a tiny model called thousands of times by a perturbation method, where release
/// saves nearly nothing (a ResNet-18 pass at batch 1 without gradients took 8% longer released, at the same peak). So the first call of a model (for each set of modules a call may release: a hooked layer's
/// ancestors are kept whole) is released, counting the elements it freed per element of the root module's tensor
/// inputs; a later call whose estimate (that ratio times its own input elements) is under
/// <see cref="DefaultMinimumFreedElements"/> installs only one pre-hook on the root, which finds this and lets the call
/// run unreleased; larger calls are released and update the ratio. The inputs' size alone would not do: a model fed token
/// ids (a [1, 512] tensor) makes activations thousands of times larger. Hooks installed once per model and left in
/// place would cost nothing per call, but would leave the user's model changed after the call returns (its hook
/// dictionaries, what <c>register_forward_hook</c> users and other threads see), which CaptumSharp never does. A model
/// whose root does not derive from <c>Module&lt;T1, ..., TResult&gt;</c>, or whose forward function never calls it
/// through <c>call</c>, gives no input size and is released on every call.
/// </para>
/// <para>
/// The module plan (modules, parents, eligibility, which modules keep tensors in fields) is made once per model and
/// checked on every call by a walk of the modules' children (no reflection): a child added, removed or replaced since
/// makes a new plan, whose estimates are learnt afresh.
/// </para>
/// <para>
/// Not handled: a tensor kept where release cannot see it (a static field, a closure, an object that is not a module,
/// a field typed <c>object</c>, a lazy sequence). If the model reads it after it was freed, the call fails with an
/// <see cref="IntermediateReleaseException"/> naming <c>CAPTUM_RELEASE_INTERMEDIATES=0</c>, and the model is not
/// released again in this process; the call is not repeated, since the failed one may already have changed state. If
/// only the caller reads it after the call, the caller gets TorchSharp's own error for a disposed tensor.
/// </para>
/// </remarks>
internal static class IntermediateRelease
{
    /// <summary>
    /// A call of a model whose past calls show it would free fewer elements than this is not released: the hooks' cost
    /// would buy less than 32 MB of float32 (see the remarks). Measured on resnet18_occlusion at 1 thread (batch 1, no
    /// gradients, about 6.5 million elements per pass): released, 54 and 65 ms per pass; unreleased, 49 and 60 ms, at
    /// the same peak (398 to 411 MB against 381 to 409 MB), since the heap reuses so small a pass's blocks anyway.
    /// </summary>
    internal const long DefaultMinimumFreedElements = 1L << 23;

    private static readonly ConditionalWeakTable<nn.Module, Plan> Plans = new();
    private static readonly ConditionalWeakTable<nn.Module, object> Refused = new();
    private static readonly bool ProcessDefault = Environment.GetEnvironmentVariable("CAPTUM_RELEASE_INTERMEDIATES") != "0";
    private static readonly AsyncLocal<bool?> Override = new();
    private static readonly AsyncLocal<long?> MinimumOverride = new();

    /// <summary>
    /// Whether forward calls release intermediates: yes unless the environment variable
    /// <c>CAPTUM_RELEASE_INTERMEDIATES</c> is <c>0</c> when the process starts; tests switch it for their own execution flow.
    /// </summary>
    internal static bool Enabled
    {
        get => Override.Value ?? ProcessDefault;
        set => Override.Value = value;
    }

    /// <summary>
    /// The estimated number of elements a call must free to be released (<see cref="DefaultMinimumFreedElements"/>);
    /// tests set it, for their own execution flow, to 0 to release every call.
    /// </summary>
    internal static long MinimumFreedElements
    {
        get => MinimumOverride.Value ?? DefaultMinimumFreedElements;
        set => MinimumOverride.Value = value;
    }

    /// <summary>Calls <paramref name="forward"/>, which runs <paramref name="root"/>, freeing each eligible submodule's intermediates when it returns.</summary>
    /// <param name="root">The model the forward function runs.</param>
    /// <param name="forward">The call.</param>
    /// <returns>The forward function's result, in the caller's dispose scope as without release.</returns>
    /// <exception cref="IntermediateReleaseException">The model read a tensor release had freed; it is not released again in this process.</exception>
    public static Tensor Run(nn.Module root, Func<Tensor> forward)
    {
        if (!Enabled || Refused.TryGetValue(root, out _))
        {
            return forward();
        }

        var plan = Plans.GetValue(root, static r => Plan.Of(r));
        if (!plan.StillDescribes())
        {
            plan = Plan.Of(root);
            Plans.AddOrUpdate(root, plan);
        }

        var excluded = Excluded(plan);
        var modules = plan.Eligible.Where(m => !excluded.Contains(m)).ToList();
        if (modules.Count == 0)
        {
            return forward();
        }

        using var call = new Call(root, plan, modules, MinimumFreedElements);
        try
        {
            var result = forward();
            call.Learn();
            return result;
        }
        catch (Exception ex)
        {
            // Scopes a call that threw left open would capture every tensor made after it.
            call.CloseOpenScopes();
            if (UsedAReleasedTensor(ex))
            {
                // Not called again: the failed call may already have changed the model's or its inputs' state.
                Refused.AddOrUpdate(root, Refused);
                throw new IntermediateReleaseException(
                    $"{root.GetType().Name} read a tensor after the submodule that made it had returned, kept where intermediate release cannot see it "
                    + "(a static field, a closure, an object that is not a module): this model is no longer released in this process; call again, "
                    + "or set CAPTUM_RELEASE_INTERMEDIATES=0 in the environment to turn intermediate release off.",
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

    /// <summary>
    /// One released forward call: the hooks (removed when disposed), the dispose scopes they opened, and what it freed.
    /// </summary>
    private sealed class Call : IDisposable
    {
        private readonly nn.Module root;
        private readonly Plan plan;
        private readonly IReadOnlyList<nn.Module> modules;
        private readonly long configuration;
        private readonly long minimum;
        private readonly int thread = Environment.CurrentManagedThreadId;
        private readonly Stack<(nn.Module Module, DisposeScope Scope)> open = new();
        private readonly HookScope hooks = new() { ReleasesIntermediates = true };
        private bool decided;
        private bool released;
        private bool rootReleased;
        private long inputElements = -1;
        private long freed;

        /// <param name="root">The model.</param>
        /// <param name="plan">The model's plan.</param>
        /// <param name="modules">The eligible modules that this call may release (none hooked, nor an ancestor of a hooked one).</param>
        /// <param name="minimum">The estimated elements freed below which the call is not released.</param>
        public Call(nn.Module root, Plan plan, IReadOnlyList<nn.Module> modules, long minimum)
        {
            this.root = root;
            this.plan = plan;
            this.modules = modules;
            this.minimum = minimum;
            configuration = Plan.Configuration(modules);
            try
            {
                if (plan.RootTyped)
                {
                    LayerHooks.Register(hooks, root, onInput: true, OnRootInput);
                }

                if (!plan.RootTyped || double.IsNaN(plan.FreedPerInputElement(configuration)))
                {
                    // Nothing to estimate from yet (or no way to see the inputs): release, and learn from it.
                    Release();
                }
            }
            catch
            {
                hooks.Dispose();
                throw;
            }
        }

        /// <summary>Remembers how many elements the call freed per element of the root's tensor inputs.</summary>
        public void Learn()
        {
            if (released && inputElements > 0)
            {
                plan.Learned(configuration, (double)freed / inputElements);
            }
        }

        /// <summary>Disposes the scopes a failed call left open, keeping the tensors the modules' fields hold.</summary>
        public void CloseOpenScopes()
        {
            while (open.TryPop(out var entry))
            {
                Keep(entry.Scope, plan.KeepersOf(entry.Module));
                entry.Scope.Dispose();
            }
        }

        public void Dispose() => hooks.Dispose();

        private Tensor[]? OnRootInput(Tensor[] inputs)
        {
            if (Environment.CurrentManagedThreadId != thread)
            {
                return null;
            }

            if (inputElements < 0)
            {
                inputElements = inputs.Sum(t => t.numel());
            }

            if (!decided)
            {
                // Activations grow with the inputs: small inputs of a model whose released calls freed little are
                // not worth the hooks.
                var estimate = plan.FreedPerInputElement(configuration) * inputElements;
                if (inputElements > 0 && estimate < minimum)
                {
                    decided = true;
                }
                else
                {
                    Release();
                }
            }

            if (rootReleased)
            {
                open.Push((root, torch.NewDisposeScope()));
            }

            return null;
        }

        /// <summary>Hooks the modules.</summary>
        private void Release()
        {
            decided = true;
            released = true;
            foreach (var module in modules)
            {
                if (ReferenceEquals(module, root))
                {
                    // The root's scope is opened by OnRootInput, already hooked.
                    rootReleased = true;
                }
                else
                {
                    LayerHooks.Register(hooks, module, onInput: true, _ =>
                    {
                        if (Environment.CurrentManagedThreadId == thread)
                        {
                            open.Push((module, torch.NewDisposeScope()));
                        }

                        return null;
                    });
                }

                LayerHooks.Register(hooks, module, onInput: false, outputs =>
                {
                    Close(module, outputs);
                    return null;
                });
            }
        }

        private void Close(nn.Module module, Tensor[] outputs)
        {
            if (Environment.CurrentManagedThreadId != thread || !open.Any(entry => ReferenceEquals(entry.Module, module)))
            {
                return;
            }

            // Scopes above this module's own were left open by children that threw and were caught: whatever the
            // module made after that went into them, so its outputs (and what its fields hold) move down through each.
            var keepers = plan.KeepersOf(module);
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

                Keep(entry.Scope, keepers);
                foreach (var disposable in entry.Scope.DisposablesView)
                {
                    if (disposable is Tensor { IsInvalid: false } tensor)
                    {
                        freed += tensor.numel();
                    }
                }

                entry.Scope.Dispose();
            }
            while (!ReferenceEquals(entry.Module, module));
        }

        /// <summary>Moves out of <paramref name="scope"/> every tensor in it that a field of one of <paramref name="keepers"/> holds.</summary>
        private static void Keep(DisposeScope scope, IReadOnlyList<(nn.Module Module, FieldInfo[] Fields)> keepers)
        {
            foreach (var (module, fields) in keepers)
            {
                TensorFields.Visit(module, fields, tensor =>
                {
                    if (scope.Contains(tensor))
                    {
                        scope.MoveToOuter(tensor);
                    }
                });
            }
        }
    }

    /// <summary>A model's modules, their parents and children, the eligible ones and the ones that keep tensors in fields.</summary>
    private sealed class Plan
    {
        private static readonly IReadOnlyList<(nn.Module, FieldInfo[])> NoKeepers = [];
        private readonly Dictionary<nn.Module, nn.Module[]> children;
        private readonly Dictionary<nn.Module, IReadOnlyList<(nn.Module, FieldInfo[])>> keepers;
        private readonly System.Collections.Concurrent.ConcurrentDictionary<long, double> ratios = new();

        private Plan(
            IReadOnlyList<nn.Module> all,
            Dictionary<nn.Module, List<nn.Module>> parents,
            Dictionary<nn.Module, nn.Module[]> children,
            IReadOnlyList<nn.Module> eligible,
            Dictionary<nn.Module, IReadOnlyList<(nn.Module, FieldInfo[])>> keepers,
            bool rootTyped)
        {
            All = all;
            Parents = parents;
            this.children = children;
            Eligible = eligible;
            this.keepers = keepers;
            RootTyped = rootTyped;
        }

        public IReadOnlyList<nn.Module> All { get; }

        public Dictionary<nn.Module, List<nn.Module>> Parents { get; }

        public IReadOnlyList<nn.Module> Eligible { get; }

        /// <summary>Whether the root derives from <c>Module&lt;T1, ..., TResult&gt;</c>, so a pre-hook can see its inputs.</summary>
        public bool RootTyped { get; }

        /// <summary>
        /// The key of a set of released modules: calls with different layers hooked release different modules (a
        /// hooked layer's ancestors are kept whole) and free different amounts.
        /// </summary>
        public static long Configuration(IReadOnlyList<nn.Module> released)
        {
            var key = 17L;
            foreach (var module in released)
            {
                key += (RuntimeHelpers.GetHashCode(module) + 1L) * 1_000_003L;
            }

            return key;
        }

        /// <summary>
        /// Elements freed per element of the root's tensor inputs by the last call that released the modules of
        /// <paramref name="configuration"/>; NaN before one.
        /// </summary>
        public double FreedPerInputElement(long configuration) =>
            ratios.TryGetValue(configuration, out var ratio) ? ratio : double.NaN;

        public void Learned(long configuration, double ratio) => ratios[configuration] = ratio;

        /// <summary>The modules of <paramref name="module"/>'s subtree (itself included) with fields that can hold tensors.</summary>
        public IReadOnlyList<(nn.Module Module, FieldInfo[] Fields)> KeepersOf(nn.Module module) =>
            keepers.TryGetValue(module, out var found) ? found : NoKeepers;

        /// <summary>Whether every module still has the children it had when the plan was made (a walk of the tree, no reflection).</summary>
        public bool StillDescribes()
        {
            foreach (var (module, known) in children)
            {
                var i = 0;
                foreach (var child in module.children())
                {
                    if (i >= known.Length || !ReferenceEquals(known[i], child))
                    {
                        return false;
                    }

                    i++;
                }

                if (i != known.Length)
                {
                    return false;
                }
            }

            return true;
        }

        public static Plan Of(nn.Module root)
        {
            var all = new List<nn.Module>();
            var parents = new Dictionary<nn.Module, List<nn.Module>>(ReferenceEqualityComparer.Instance);
            var childrenOf = new Dictionary<nn.Module, nn.Module[]>(ReferenceEqualityComparer.Instance);
            var eligible = new List<nn.Module>();
            var pending = new Stack<nn.Module>();
            pending.Push(root);
            var seen = new HashSet<nn.Module>(ReferenceEqualityComparer.Instance) { root };
            while (pending.TryPop(out var module))
            {
                all.Add(module);
                var children = module.children().ToArray();
                childrenOf[module] = children;
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

                var ownCode = children.Length > 0 || module.GetType().Assembly != typeof(nn.Module).Assembly;
                if (ownCode && ModuleTypes.FindTypedBase(module.GetType()) is { } typed && IsTensorStructure(typed.GetGenericArguments()[^1]))
                {
                    eligible.Add(module);
                }
            }

            var keepers = new Dictionary<nn.Module, IReadOnlyList<(nn.Module, FieldInfo[])>>(ReferenceEqualityComparer.Instance);
            foreach (var module in eligible)
            {
                var found = Subtree(module, childrenOf)
                    .Select(m => (m, TensorFields.Of(m.GetType())))
                    .Where(k => k.Item2.Length > 0)
                    .ToArray();
                if (found.Length > 0)
                {
                    keepers[module] = found;
                }
            }

            return new Plan(all, parents, childrenOf, eligible, keepers, ModuleTypes.FindTypedBase(root.GetType()) is not null);
        }

        private static IEnumerable<nn.Module> Subtree(nn.Module top, Dictionary<nn.Module, nn.Module[]> childrenOf)
        {
            var seen = new HashSet<nn.Module>(ReferenceEqualityComparer.Instance) { top };
            var pending = new Stack<nn.Module>();
            pending.Push(top);
            while (pending.TryPop(out var module))
            {
                yield return module;
                foreach (var child in childrenOf[module])
                {
                    if (seen.Add(child))
                    {
                        pending.Push(child);
                    }
                }
            }
        }

        /// <summary>A tensor, or a (value) tuple whose items are tensors or such tuples: outputs the post-hook sees whole.</summary>
        private static bool IsTensorStructure(Type type) =>
            type == typeof(Tensor)
            || (type.IsGenericType && typeof(ITuple).IsAssignableFrom(type) && type.GetGenericArguments().All(IsTensorStructure));
    }
}

/// <summary>
/// A forward call that failed because <see cref="IntermediateRelease"/> freed a tensor the model kept where release
/// cannot see it: never to be taken for the model refusing a shape and silently run again (the failed call may have
/// changed state).
/// </summary>
internal sealed class IntermediateReleaseException(string message, Exception innerException) : InvalidOperationException(message, innerException)
{
}
