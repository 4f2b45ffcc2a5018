using Captum.Forward;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Captum.Attr;

/// <summary>
/// DeepLift's rescale rule for the nonlinearity modules Captum supports, applied to a batch that holds the
/// inputs in its first half and their references in the second: the multiplier of every element is
/// (y - y_ref) / (x - x_ref), the module's plain gradient where |x - x_ref| &lt; eps.
/// </summary>
internal static class DeepLiftRules
{
    /// <summary>
    /// Activation and pooling modules with no rescale rule in Captum 0.8.0. Captum would back-propagate their
    /// plain gradient, silently breaking summation-to-delta; here they are refused by name.
    /// </summary>
    private static readonly HashSet<Type> Unsupported =
    [
        typeof(GELU), typeof(SiLU), typeof(Mish), typeof(Hardtanh), typeof(ReLU6), typeof(SELU), typeof(CELU),
        typeof(Hardsigmoid), typeof(Hardswish), typeof(Softsign), typeof(Tanhshrink), typeof(LogSigmoid),
        typeof(PReLU), typeof(RReLU), typeof(LogSoftmax), typeof(Softmin), typeof(Softmax2d), typeof(Threshold),
        typeof(Softshrink), typeof(Hardshrink), typeof(GLU), typeof(AdaptiveMaxPool1d), typeof(AdaptiveMaxPool2d),
        typeof(AdaptiveMaxPool3d), typeof(FractionalMaxPool2d), typeof(FractionalMaxPool3d), typeof(LPPool1d),
        typeof(LPPool2d),
    ];

    /// <summary>
    /// The rule selector for <see cref="ModuleGradientOverrides.Register"/>: Captum's supported modules (matched
    /// by exact type, as Captum does) get their rule; <paramref name="exclude"/> gets none.
    /// </summary>
    /// <exception cref="ArgumentException">The model holds an activation DeepLift has no rule for (named by path).</exception>
    public static Func<string, nn.Module, GradientRule?> Selector(double eps, nn.Module? exclude, string argumentName) => (path, module) =>
    {
        if (ReferenceEquals(module, exclude))
        {
            return null;
        }

        var type = module.GetType();
        if (Unsupported.Contains(type))
        {
            throw new ArgumentException(
                $"{argumentName}: module '{(path.Length == 0 ? "(root)" : path)}' is a {type.Name}, a nonlinearity DeepLift has no rule for " +
                "(Captum 0.8.0 supports ReLU, ELU, LeakyReLU, Sigmoid, Tanh, Softplus, Softmax and MaxPool1d/2d/3d). Replace it by a supported module, or use IntegratedGradients.",
                argumentName);
        }

        return type switch
        {
            _ when type == typeof(ReLU) || type == typeof(ELU) || type == typeof(LeakyReLU) || type == typeof(Sigmoid)
                || type == typeof(Tanh) || type == typeof(Softplus) => new Elementwise(eps),
            _ when type == typeof(Softmax) => new SoftmaxRule(((Softmax)module).dim, eps),
            _ when type == typeof(MaxPool1d) => new MaxPoolRule(module, 1, eps),
            _ when type == typeof(MaxPool2d) => new MaxPoolRule(module, 2, eps),
            _ when type == typeof(MaxPool3d) => new MaxPoolRule(module, 3, eps),
            _ => null,
        };
    };

    /// <summary>(x - x_ref) and (y - y_ref), each repeated for both halves of the batch.</summary>
    private static (Tensor DeltaIn, Tensor DeltaOut) Differences(Tensor input, Tensor output) =>
        (Doubled(input), Doubled(output));

    private static Tensor Doubled(Tensor t)
    {
        var halves = t.chunk(2);
        var delta = halves[0] - halves[1];
        return torch.cat([delta, delta]);
    }

    private static void CheckPaired(string module, Tensor input, Tensor output, bool sameShape)
    {
        if (input.dim() == 0 || input.shape[0] % 2 != 0 || output.dim() == 0 || output.shape[0] != input.shape[0])
        {
            throw new ArgumentException(
                $"model: DeepLift needs module '{module}' to see the inputs and their references stacked along dimension 0 (an even batch), " +
                $"but it got input {Shapes.Format(input.shape)} and output {(output.dim() == 0 ? "a scalar" : Shapes.Format(output.shape))}.",
                "model");
        }

        if (sameShape && !input.shape.SequenceEqual(output.shape))
        {
            throw new ArgumentException(
                $"model: module '{module}' changed the shape from {Shapes.Format(input.shape)} to {Shapes.Format(output.shape)}; DeepLift's elementwise rule needs them equal.",
                "model");
        }
    }

    /// <summary>ReLU, ELU, LeakyReLU, Sigmoid, Tanh, Softplus: Captum's <c>nonlinear</c>.</summary>
    private sealed class Elementwise(double eps) : GradientRule
    {
        public override void Check(string module, Tensor input, Tensor output) => CheckPaired(module, input, output, sameShape: true);

        public override (Tensor? ToInput, Tensor? ThroughModule) Backward(Tensor input, Tensor output, Tensor gradOutput)
        {
            var (deltaIn, deltaOut) = Differences(input, output);
            var plain = deltaIn.abs() < eps;

            // Where the input barely moves the module's own derivative applies: the gradient goes through it.
            return ((gradOutput * deltaOut / deltaIn).masked_fill(plain, 0), gradOutput.masked_fill(plain.logical_not(), 0));
        }
    }

    /// <summary>Captum's <c>softmax</c> rule: rescale, then subtract the mean of the whole gradient.</summary>
    private sealed class SoftmaxRule(long dim, double eps) : GradientRule
    {
        public override void Check(string module, Tensor input, Tensor output) => CheckPaired(module, input, output, sameShape: true);

        public override (Tensor? ToInput, Tensor? ThroughModule) Backward(Tensor input, Tensor output, Tensor gradOutput)
        {
            var (deltaIn, deltaOut) = Differences(input, output);
            var plainGradient = output * (gradOutput - (gradOutput * output).sum(dim, keepdim: true));
            var unnormalized = torch.where(deltaIn.abs() < eps, plainGradient, gradOutput * deltaOut / deltaIn);
            return (unnormalized - (unnormalized.sum() / unnormalized.numel()), null);
        }
    }

    /// <summary>
    /// Captum's <c>maxpool</c> rule: the output difference, split at the larger of the two maxima, is routed
    /// to the input positions that won in the input half and in the reference half, and divided by the input
    /// difference; the plain max-pool gradient where that difference vanishes.
    /// </summary>
    private sealed class MaxPoolRule(nn.Module module, int spatialDims, double eps) : GradientRule
    {
        public override void Check(string path, Tensor input, Tensor output)
        {
            CheckPaired(path, input, output, sameShape: false);
            if (input.dim() != spatialDims + 2)
            {
                throw new ArgumentException(
                    $"model: DeepLift's rule for '{path}' ({module.GetType().Name}) needs batched input of {spatialDims + 2} dimensions (N, C, ...), but got {Shapes.Format(input.shape)}.",
                    "model");
            }
        }

        public override (Tensor? ToInput, Tensor? ThroughModule) Backward(Tensor input, Tensor output, Tensor gradOutput)
        {
            var indices = module switch
            {
                MaxPool1d p => p.forward_with_indices(input).Item2,
                MaxPool2d p => p.forward_with_indices(input).Item2,
                MaxPool3d p => p.forward_with_indices(input).Item2,
                _ => throw new InvalidOperationException($"No max-pool rule for {module.GetType().Name}."),
            };

            var deltaIn = Doubled(input);
            var outputs = output.chunk(2);
            var crossMax = torch.maximum(outputs[0], outputs[1]);
            var deltaOut = torch.cat([crossMax - outputs[1], outputs[0] - crossMax]);
            var routed = Unpool(gradOutput * deltaOut, indices, input).chunk(2);
            var routedSum = routed[0] + routed[1];
            var rescaled = torch.cat([routedSum, routedSum]) / deltaIn;
            return (torch.where(deltaIn.abs() < eps, Unpool(gradOutput, indices, input), rescaled), null);
        }

        /// <summary>
        /// Sends every pooled value to the input position that won its window (summing where overlapping
        /// windows share a winner, as the max-pool gradient does).
        /// </summary>
        private static Tensor Unpool(Tensor values, Tensor indices, Tensor like)
        {
            var n = like.shape[0];
            var c = like.shape[1];
            var flat = torch.zeros([n, c, like.shape.Skip(2).Aggregate(1L, (a, b) => a * b)], values.dtype, values.device);
            flat.scatter_add_(2, indices.reshape(n, c, -1), values.reshape(n, c, -1));
            return flat.reshape(like.shape);
        }
    }
}

/// <summary>
/// What DeepLift differentiates, computed (while the rules are in place) from the forward arguments of the stacked
/// batch (inputs, then baselines, additional arguments repeated) and the target repeated for it: the model's
/// selected output for DeepLift, a neuron of a layer for the neuron methods. Its sum over the batch is differentiated.
/// </summary>
internal delegate Tensor StackedSelection(object?[] stackedArgs, Target stackedTarget);

/// <summary>
/// The forward and backward pass DeepLift, DeepLiftShap and LayerDeepLift share: the model runs once on the
/// inputs and their baselines stacked ([inputs; baselines], additional arguments repeated, targets repeated),
/// with the rescale rules in place of the nonlinearities' derivatives.
/// </summary>
internal static class DeepLiftPass
{
    /// <summary>The model DeepLift needs: the forward function's module.</summary>
    /// <exception cref="ArgumentException">The forward function has no module.</exception>
    public static nn.Module ModelOf(ForwardFunction forward, string argumentName) =>
        forward.Module ?? throw new ArgumentException(
            $"{argumentName}: DeepLift needs the model as a module (its nonlinearity modules get the rescale rule); this forward function has none. Build it from the module, or pass the module to ForwardFunction.FromDelegate.",
            argumentName);

    /// <summary>
    /// The multipliers of the inputs: the gradients of the selected outputs of the stacked batch with respect
    /// to the input half, with the rescale rules in place.
    /// </summary>
    public static Tensor[] InputMultipliers(
        nn.Module model,
        IReadOnlyList<Tensor> inputs,
        IReadOnlyList<Tensor> baselines,
        IReadOnlyList<object?> additional,
        Target target,
        double eps,
        StackedSelection select)
    {
        using var grad = torch.enable_grad();
        var leaves = Gradients.Leaves(inputs);
        var stacked = leaves.Select((x, i) => torch.cat([x, baselines[i]])).ToArray();
        var args = ArgumentPreparation.Concat(stacked, ArgumentPreparation.Expand(additional, 2));
        var session = new OverrideSession();
        Tensor selected;
        using (ModuleGradientOverrides.Register(model, DeepLiftRules.Selector(eps, exclude: null, "model"), session))
        {
            selected = select(args, target.Repeat(2));
        }

        var gradients = Gradients.Of(selected, leaves);
        session.ThrowIfFailed();
        return gradients;
    }

    /// <summary>
    /// The attributions from the multipliers: the custom function's when one is given, else the multipliers times
    /// (input - baseline) when multiplying by inputs, else the multipliers themselves.
    /// </summary>
    public static Tensor[] Attributions(
        Tensor[] multipliers, IReadOnlyList<Tensor> inputs, IReadOnlyList<Tensor> baselines, bool multiplyByInputs, CustomAttributionFunc? custom) =>
        custom is not null
            ? Custom(custom, multipliers, inputs, baselines)
            : multiplyByInputs
                ? multipliers.Select((m, i) => (inputs[i].detach() - baselines[i]) * m).ToArray()
                : multipliers;

    /// <summary>Applies a custom attribution function (Python: <c>custom_attribution_func</c>) and checks what it returns.</summary>
    public static Tensor[] Custom(CustomAttributionFunc custom, IReadOnlyList<Tensor> multipliers, IReadOnlyList<Tensor> inputs, IReadOnlyList<Tensor> baselines)
    {
        var result = custom(multipliers, inputs, baselines)
            ?? throw new ArgumentException("CustomAttributionFunc returned null.", "CustomAttributionFunc");
        if (result.Count != multipliers.Count)
        {
            throw new ArgumentException(
                $"CustomAttributionFunc returned {result.Count} tensors for {multipliers.Count} multipliers; it must return one per input.",
                "CustomAttributionFunc");
        }

        // Aliases, so that returning a caller's tensor never moves the caller's own tensor out of its scope.
        return result.Select(t => t.alias()).ToArray();
    }
}
