using Captum.Forward;
using Captum.Layers;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Captum.Attr;

/// <summary>A module LRP propagates through: its path, and its rule (null for a nonlinearity relevance passes through).</summary>
internal sealed record LrpLayer(string Path, nn.Module Module, PropagationRule? Rule)
{
    /// <summary>How errors name the module.</summary>
    public string Name => Describe(Path, Module);

    /// <summary>How errors name a module: its path and its type.</summary>
    public static string Describe(string path, nn.Module module) => $"'{(path.Length == 0 ? "(root)" : path)}' ({module.GetType().Name})";
}

/// <summary>The result of one propagation: the explained output per example, and the normalised relevances asked for.</summary>
/// <param name="Output">The selected output of the model with its own weights, [n] (or [1] for one output for the whole batch).</param>
/// <param name="Normalized">The relevances of the inputs or of the layer's tensors, for an output relevance of 1.</param>
internal sealed record LrpOutcome(Tensor Output, Tensor[] Normalized);

/// <summary>
/// Layer-wise relevance propagation as a modified gradient, shared by <see cref="LRP"/> and <see cref="LayerLRP"/>.
/// Every leaf module of the model is a layer: it has a rule (given, or Captum's default for its type), or relevance
/// passes through it (Captum's nonlinearities), or the model is refused.
/// </summary>
/// <remarks>
/// Captum hooks the tensors of every rule layer: the gradient arriving at the output is divided by
/// (z + epsilon * sign(z)), goes back through the layer, and is multiplied by the input at the input; full backward
/// hooks make the nonlinearities pass the gradient through unchanged. TorchSharp has neither tensor nor backward
/// hooks, so forward hooks insert custom autograd functions with those backward passes instead (the same mathematics).
/// Like Captum, a rule that changes weights needs two forward passes: the first, with the model's own weights, records
/// every rule layer's input and the explained output; the second runs with the changed weights while each rule layer
/// is fed the input it had in the first. Without such a rule both passes would compute the same values, so only the
/// second runs.
/// </remarks>
internal sealed class LrpPropagation
{
    /// <summary>Captum's <c>SUPPORTED_LAYERS_WITH_RULES</c>: these get the epsilon rule unless a rule is given.</summary>
    private static readonly HashSet<Type> EpsilonByDefault =
    [
        typeof(Linear), typeof(Conv2d), typeof(MaxPool1d), typeof(MaxPool2d), typeof(MaxPool3d), typeof(AvgPool2d),
        typeof(AdaptiveAvgPool2d), typeof(BatchNorm2d),
    ];

    /// <summary>
    /// Captum's <c>SUPPORTED_NON_LINEAR_LAYERS</c> (ReLU, Dropout, Tanh), and modules that only reshape or copy
    /// (Flatten, Unflatten, Identity), which Captum refuses although relevance passes them exactly as it passes
    /// the equivalent functional reshape.
    /// </summary>
    private static readonly HashSet<Type> PassThrough =
    [
        typeof(ReLU), typeof(Dropout), typeof(Tanh), typeof(Flatten), typeof(Unflatten), typeof(Identity),
    ];

    private static readonly EpsilonRule DefaultRule = new();

    private readonly ForwardFunction forward;
    private readonly Dictionary<nn.Module, PropagationRule> rules = new(ReferenceEqualityComparer.Instance);

    /// <summary>Resolves the rules and checks that LRP can propagate through every leaf module.</summary>
    /// <param name="forward">The model, a forward function with its module.</param>
    /// <param name="rules">Rules per module (by instance or path); null for Captum's defaults everywhere.</param>
    /// <param name="method">The method's name, for errors.</param>
    /// <exception cref="ArgumentException">The forward function has no module, a rule does not name a leaf module of the model, or a leaf has no rule.</exception>
    public LrpPropagation(ForwardFunction forward, IReadOnlyDictionary<LayerReference, PropagationRule>? rules, string method)
    {
        this.forward = forward;
        Model = forward.Module ?? throw new ArgumentException(
            $"model: {method} needs the model as a module (its layers get propagation rules); this forward function has none. Build it from the module, or pass the module to ForwardFunction.FromDelegate.",
            "model");
        var leaves = Leaves(Model);
        foreach (var (reference, rule) in rules ?? new Dictionary<LayerReference, PropagationRule>())
        {
            var module = reference.Resolve(Model, "rules");
            if (!leaves.Any(l => ReferenceEquals(l.Module, module)))
            {
                var path = LayerPath.PathOf(Model, module);
                throw new ArgumentException(
                    path is null
                        ? $"rules: module {reference} ({module.GetType().Name}) is not part of the model."
                        : $"rules: module '{path}' ({module.GetType().Name}) contains other modules; rules apply to leaf modules, the layers relevance is propagated through.",
                    "rules");
            }

            if (rule is null)
            {
                throw new ArgumentException($"rules: the rule for {reference} is null.", "rules");
            }

            if (!this.rules.TryAdd(module, rule))
            {
                throw new ArgumentException($"rules: module {reference} is given more than once (by path and by instance).", "rules");
            }
        }

        Layers();
    }

    /// <summary>The model.</summary>
    public nn.Module Model { get; }

    /// <summary>Every leaf module of the model with its rule, as the model is now.</summary>
    /// <exception cref="ArgumentException">A leaf has no rule and is not a nonlinearity relevance passes through.</exception>
    public IReadOnlyList<LrpLayer> Layers()
    {
        var result = new List<LrpLayer>();
        foreach (var (path, module) in Leaves(Model))
        {
            if (rules.TryGetValue(module, out var rule))
            {
                result.Add(new LrpLayer(path, module, rule));
                continue;
            }

            var type = module.GetType();
            if (EpsilonByDefault.Contains(type))
            {
                result.Add(new LrpLayer(path, module, DefaultRule));
            }
            else if (PassThrough.Contains(type))
            {
                result.Add(new LrpLayer(path, module, null));
            }
            else
            {
                throw new ArgumentException(
                    $"model: module {LrpLayer.Describe(path, module)} has no propagation rule, and LRP has no default rule for {type.Name} " +
                    "(Captum 0.8.0 gives Linear, Conv2d, MaxPool1d/2d/3d, AvgPool2d, AdaptiveAvgPool2d and BatchNorm2d the epsilon rule, and passes relevance " +
                    "through ReLU, Dropout and Tanh). Give this module a rule in the rules dictionary if one is appropriate for its type.",
                    "model");
            }
        }

        return result;
    }

    /// <summary>
    /// Propagates the relevance of the selected output back to the inputs, or to one layer's tensors.
    /// </summary>
    /// <param name="inputs">The inputs; the floating-point ones require grad.</param>
    /// <param name="additional">The additional forward arguments.</param>
    /// <param name="target">The explained output.</param>
    /// <param name="layer">The layer whose relevance is wanted, or null for the inputs'.</param>
    /// <param name="onInput">With a layer: its inputs' relevance instead of its output's.</param>
    /// <param name="cancellationToken">Checked before each pass.</param>
    /// <exception cref="ArgumentException">
    /// A leaf has no rule, a rule layer (or the layer) is called more than once, the layer is never called, or the
    /// output is not one value per example.
    /// </exception>
    public LrpOutcome Run(
        IReadOnlyList<Tensor> inputs,
        IReadOnlyList<object?> additional,
        Target target,
        nn.Module? layer,
        bool onInput,
        CancellationToken cancellationToken)
    {
        var layers = Layers();
        var captured = layer is null ? null : layers.FirstOrDefault(l => ReferenceEquals(l.Module, layer)) ?? throw NotALayer(layer);
        var n = inputs[0].shape[0];
        var args = ArgumentPreparation.Concat(inputs, additional);

        Tensor? output = null;
        Dictionary<nn.Module, Tensor[]>? activations = null;
        if (layers.Any(l => l.Rule is { ChangesParameters: true }))
        {
            cancellationToken.ThrowIfCancellationRequested();
            (output, activations) = RecordActivations(layers, args, target, n);
        }

        cancellationToken.ThrowIfCancellationRequested();
        using var changes = new ParameterChanges();
        using (torch.no_grad())
        {
            foreach (var l in layers)
            {
                l.Rule?.ChangeParameters(l.Module, changes);
            }
        }

        using var grad = torch.enable_grad();
        var session = new OverrideSession();
        var pass = new Pass(activations, captured, onInput, session);
        Tensor selected;
        using (pass.Register(layers))
        {
            selected = Selected(target, forward.Invoke(args), n);
        }

        if (captured is not null)
        {
            pass.CheckCapturedOnce();
        }

        var normalized = Gradients.Of(selected, captured is null ? inputs : pass.Captured);
        session.ThrowIfFailed();
        return new LrpOutcome(output ?? selected.detach(), normalized);
    }

    /// <summary>Relevances from normalised ones: each example's times its explained output (Captum's normalisation undone).</summary>
    public static Tensor[] Scale(IEnumerable<Tensor> normalized, Tensor output) =>
        normalized.Select(r => r * output.reshape([-1, .. Enumerable.Repeat(1L, (int)r.dim() - 1)])).ToArray();

    /// <summary>Captum's delta: per example, the explained output minus the sum of all relevances.</summary>
    public static Tensor Delta(IEnumerable<Tensor> relevances, Tensor output)
    {
        Tensor? sum = null;
        foreach (var r in relevances)
        {
            var rows = ArgumentPreparation.SumRows(r);
            sum = sum is null ? rows : sum + rows;
        }

        return output.flatten().to_type(sum!.dtype) - sum;
    }

    /// <summary>
    /// The leaf modules of the model, each once; the model itself when it has no children (Captum would find no layer
    /// there and return gradient times output).
    /// </summary>
    private static List<(string Path, nn.Module Module)> Leaves(nn.Module model)
    {
        if (!model.children().Any())
        {
            return [(string.Empty, model)];
        }

        var seen = new HashSet<nn.Module>(ReferenceEqualityComparer.Instance);
        return model.named_modules()
            .Where(m => !m.module.children().Any() && seen.Add(m.module))
            .Select(m => (m.name, m.module))
            .ToList();
    }

    private static ArgumentException NotALayer(nn.Module layer) => new(
        $"layer {layer.GetType().Name} is not a leaf module of the model; LayerLRP attributes to a module relevance is propagated through " +
        "(one with a rule, or a nonlinearity relevance passes through).",
        "layer");

    /// <summary>The explained output, one value per example (or one for the whole batch, which Captum broadcasts).</summary>
    private static Tensor Selected(Target target, Tensor output, long n)
    {
        var selected = target.Select(output);
        if (selected.numel() != n && selected.numel() != 1)
        {
            throw new ArgumentException(
                $"the explained output has {selected.numel()} values for {n} examples; LRP propagates one value per example (choose it with target).",
                "target");
        }

        return selected.reshape(-1);
    }

    /// <summary>
    /// The first pass, without gradients and with the model's own weights: the input of every rule layer and the
    /// explained output.
    /// </summary>
    private (Tensor Output, Dictionary<nn.Module, Tensor[]> Activations) RecordActivations(
        IReadOnlyList<LrpLayer> layers, object?[] args, Target target, long n)
    {
        using var noGrad = torch.no_grad();
        var activations = new Dictionary<nn.Module, Tensor[]>(ReferenceEqualityComparer.Instance);
        using var hooks = new HookSet();
        foreach (var l in layers.Where(l => l.Rule is not null))
        {
            hooks.Add(LayerHooks.Register(l.Module, onInput: true, tensors =>
            {
                if (!activations.TryAdd(l.Module, tensors.Select(t => t.detach()).ToArray()))
                {
                    throw CalledMoreThanOnce(l);
                }

                return null;
            }, "model"));
        }

        return (Selected(target, forward.Invoke(args), n), activations);
    }

    private static ArgumentException CalledMoreThanOnce(LrpLayer layer) => new(
        $"model: module {layer.Name} is called more than once in one forward pass; LRP needs every layer with a rule to be used once (Captum raises the same error).",
        "model");

    /// <summary>
    /// The hooks of the propagating pass, each a <see cref="GradientOverrideFunction"/>: a rule layer is fed the
    /// recorded activation in place of each input (times that activation backward), and the gradient at its output is
    /// divided by (z + epsilon * sign(z)) before its own backward; the output gradient of a module relevance passes
    /// through goes straight to its input. The layer asked for is captured on the way.
    /// </summary>
    private sealed class Pass(Dictionary<nn.Module, Tensor[]>? activations, LrpLayer? layer, bool onInput, OverrideSession session)
    {
        private static readonly GradientRule Unchanged = new UnchangedRule();
        private static readonly GradientRule TimesActivation = new TimesActivationRule();
        private readonly Dictionary<nn.Module, int> calls = new(ReferenceEqualityComparer.Instance);
        private readonly Dictionary<nn.Module, Stack<Tensor[]>> pending = new(ReferenceEqualityComparer.Instance);

        /// <summary>The tensors of the layer asked for, whose gradients are its normalised relevances.</summary>
        public List<Tensor> Captured { get; } = [];

        public IDisposable Register(IReadOnlyList<LrpLayer> layers)
        {
            var hooks = new HookSet();
            try
            {
                foreach (var l in layers)
                {
                    pending[l.Module] = new Stack<Tensor[]>();
                    hooks.Add(LayerHooks.Register(l.Module, onInput: true, tensors => Before(l, tensors), "model"));
                    hooks.Add(LayerHooks.Register(l.Module, onInput: false, tensors => After(l, tensors), "model"));
                }
            }
            catch
            {
                hooks.Dispose();
                throw;
            }

            return hooks;
        }

        public void CheckCapturedOnce()
        {
            if (!calls.ContainsKey(layer!.Module))
            {
                throw new ArgumentException(
                    $"layer {layer.Name} was never called by the forward pass. It must be part of the model and invoked through call(...), not forward(...), so that its hooks fire.",
                    "layer");
            }

            if (Captured.Count == 0)
            {
                throw new ArgumentException($"layer {layer.Name}: its {(onInput ? "inputs hold" : "output holds")} no tensor to attribute to.", "layer");
            }
        }

        private bool IsCaptured(LrpLayer l) => ReferenceEquals(l, layer);

        private Tensor[] Before(LrpLayer l, Tensor[] tensors)
        {
            var count = calls[l.Module] = calls.GetValueOrDefault(l.Module) + 1;
            if (count > 1 && (l.Rule is not null || IsCaptured(l)))
            {
                throw l.Rule is not null
                    ? CalledMoreThanOnce(l)
                    : new ArgumentException($"layer {l.Name} is called more than once in one forward pass; LayerLRP needs a layer that is called exactly once.", "layer");
            }

            Tensor[]? recorded = null;
            if (l.Rule is not null && activations is not null && (!activations.TryGetValue(l.Module, out recorded) || recorded.Length != tensors.Length))
            {
                throw new ArgumentException($"model: module {l.Name} was not called the same way in both forward passes; LRP needs a model that calls the same layers with the same inputs each time.", "model");
            }

            // The tensors the layer's backward reaches (kept for a pass-through module's bypass), and what it is fed.
            var reached = new Tensor[tensors.Length];
            var fed = new Tensor[tensors.Length];
            var inPlace = ModuleGradientOverrides.IsInPlace(l.Module);
            for (var k = 0; k < tensors.Length; k++)
            {
                var x = tensors[k];
                if (!x.is_floating_point())
                {
                    if (IsCaptured(l) && onInput)
                    {
                        throw new ArgumentException($"layer {l.Name}: input tensor {k} has dtype {x.dtype}; relevance needs floating-point layer values.", "layer");
                    }

                    reached[k] = fed[k] = x;
                    continue;
                }

                if (IsCaptured(l) && onInput)
                {
                    x = x.requires_grad ? x.alias() : x.detach().requires_grad_(true);
                    Captured.Add(x);
                }

                if (l.Rule is { } rule)
                {
                    var activation = recorded is null ? x.detach() : recorded[k];
                    var relevance = GradientOverrideFunction.apply(x, activation, new OverrideBinding(rule.PassesThrough ? Unchanged : TimesActivation, session));
                    reached[k] = relevance;
                    fed[k] = inPlace ? relevance.clone() : relevance;
                }
                else
                {
                    // An in-place module overwrites what it is fed: it gets a copy, and the bypass reaches the original.
                    reached[k] = x;
                    fed[k] = inPlace ? x.clone() : x.alias();
                }
            }

            pending[l.Module].Push(reached);
            return fed;
        }

        private Tensor[] After(LrpLayer l, Tensor[] tensors)
        {
            var reached = pending[l.Module].Pop();
            var result = new Tensor[tensors.Length];
            for (var k = 0; k < tensors.Length; k++)
            {
                var y = tensors[k];
                if (!y.is_floating_point())
                {
                    if (IsCaptured(l) && !onInput)
                    {
                        throw new ArgumentException($"layer {l.Name}: output tensor {k} has dtype {y.dtype}; relevance needs floating-point layer values.", "layer");
                    }

                    result[k] = y;
                    continue;
                }

                // A z-rule's division needs the output alone: it stands for the input as well.
                var w = l.Rule is { PassesThrough: false } rule
                    ? GradientOverrideFunction.apply(y, y, new OverrideBinding(new DividedByOutput(rule.Stabilizer), session))
                    : GradientOverrideFunction.apply(SingleInput(l, reached, tensors, y), y, new OverrideBinding(Unchanged, session));
                if (IsCaptured(l) && !onInput)
                {
                    Captured.Add(w);
                    w = w.alias();
                }

                result[k] = w;
            }

            return result;
        }

        /// <summary>The one floating-point input of a module relevance passes through, checked against its output.</summary>
        private static Tensor SingleInput(LrpLayer l, Tensor[] inputs, Tensor[] outputs, Tensor output)
        {
            var floating = inputs.Where(t => t.is_floating_point()).ToArray();
            if (floating.Length != 1 || outputs.Length != 1 || floating[0].numel() != output.numel())
            {
                throw new ArgumentException(
                    $"model: module {l.Name} passes relevance through unchanged ({(l.Rule is null ? "a nonlinearity" : "IdentityRule")}), which needs one input and one output " +
                    $"of as many elements, but it has {inputs.Length} input and {outputs.Length} output tensors ({string.Join(", ", inputs.Concat(outputs).Select(t => Shapes.Format(t.shape)))}).",
                    "model");
            }

            return floating[0];
        }
    }

    /// <summary>Sends the output's gradient to the input unchanged (reshaped to it).</summary>
    private sealed class UnchangedRule : GradientRule
    {
        public override (Tensor? ToInput, Tensor? ThroughModule) Backward(Tensor input, Tensor output, Tensor gradOutput) =>
            (gradOutput.reshape(input.shape), null);
    }

    /// <summary>
    /// At a rule layer's input, whose "output" is the activation the layer is fed: the gradient times that activation
    /// goes to the input the layer was called with (Captum's input tensor hook, after its replacement of the input's data).
    /// </summary>
    private sealed class TimesActivationRule : GradientRule
    {
        public override (Tensor? ToInput, Tensor? ThroughModule) Backward(Tensor input, Tensor output, Tensor gradOutput) =>
            (gradOutput * output, null);
    }

    /// <summary>
    /// At a rule layer's output z: the gradient divided by (z + epsilon * sign(z)), sign(0) taken as 1, goes back through
    /// the layer (Captum's output tensor hook).
    /// </summary>
    private sealed class DividedByOutput(double epsilon) : GradientRule
    {
        public override (Tensor? ToInput, Tensor? ThroughModule) Backward(Tensor input, Tensor output, Tensor gradOutput) =>
            (null, gradOutput / (output + ((((output >= 0).to_type(output.dtype) * 2) - 1) * epsilon)));
    }

    private sealed class HookSet : IDisposable
    {
        private readonly List<IDisposable> hooks = [];

        public void Add(IDisposable hook) => hooks.Add(hook);

        public void Dispose()
        {
            for (var i = hooks.Count - 1; i >= 0; i--)
            {
                hooks[i].Dispose();
            }

            hooks.Clear();
        }
    }
}
