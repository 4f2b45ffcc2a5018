using Captum.Forward;
using Captum.Layers;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Captum.Attr;

/// <summary>
/// The machinery of GuidedBackprop and Deconvolution (Captum's <c>ModifiedReluGradientAttribution</c>): the
/// gradient of the selected output with every <c>nn.ReLU</c> module back-propagating only positive
/// gradients. Guided backpropagation keeps ReLU's own mask as well (relu of the gradient with respect to its
/// input); deconvolution ignores the mask (relu of the gradient with respect to its output).
/// </summary>
internal static class ModifiedReluGradient
{
    /// <summary>The model these methods need: the forward function's module.</summary>
    /// <exception cref="ArgumentException">The forward function has no module.</exception>
    public static nn.Module ModelOf(ForwardFunction forward, string method) =>
        forward.Module ?? throw new ArgumentException(
            $"model: {method} needs the model as a module (its ReLU modules get the modified backward); this forward function has none. Build it from the module, or pass the module to ForwardFunction.FromDelegate.",
            "model");

    /// <summary>
    /// The modified gradients with respect to every input; <paramref name="useReluGradOutput"/> is true for
    /// deconvolution (Python: <c>use_relu_grad_output</c>).
    /// </summary>
    public static Tensor[] Compute(
        ForwardFunction forward,
        nn.Module model,
        IReadOnlyList<Tensor> inputs,
        IReadOnlyList<object?> additional,
        Target target,
        bool useReluGradOutput) =>
        Compute(model, inputs, additional, useReluGradOutput, args => target.Select(forward.Invoke(args)));

    /// <summary>
    /// The modified gradients of what <paramref name="selectedOutput"/> computes from the forward arguments (run while
    /// the ReLU modules are overridden; its sum over the batch is differentiated), with respect to every input: the
    /// neuron methods select a neuron of a layer there instead of the model's target output.
    /// </summary>
    public static Tensor[] Compute(
        nn.Module model,
        IReadOnlyList<Tensor> inputs,
        IReadOnlyList<object?> additional,
        bool useReluGradOutput,
        Func<object?[], Tensor> selectedOutput)
    {
        using var grad = torch.enable_grad();
        var leaves = Gradients.Leaves(inputs);
        var session = new OverrideSession();
        var rule = new PositiveGradient(useReluGradOutput);
        Tensor selected;
        using (ModuleGradientOverrides.Register(model, (_, module) => module is ReLU ? rule : null, session))
        {
            selected = selectedOutput(ArgumentPreparation.Concat(leaves, additional));
        }

        var gradients = Gradients.Of(selected, leaves);
        session.ThrowIfFailed();
        return gradients;
    }

    private sealed class PositiveGradient(bool useReluGradOutput) : GradientRule
    {
        public override (Tensor? ToInput, Tensor? ThroughModule) Backward(Tensor input, Tensor output, Tensor gradOutput) =>
            useReluGradOutput
                ? (torch.nn.functional.relu(gradOutput), null)

                // Through ReLU's own backward: relu(g) * mask = relu(g * mask), the guided gradient.
                : (null, torch.nn.functional.relu(gradOutput));
    }
}

/// <summary>
/// NeuronGuidedBackprop and NeuronDeconvolution (Captum's modified-ReLU attribution with the neuron's gradient
/// function): the modified gradients of one neuron of a layer.
/// </summary>
internal sealed class NeuronModifiedReluGradient
{
    private readonly nn.Module model;
    private readonly bool useReluGradOutput;
    private readonly string method;

    /// <summary>Creates the method; <paramref name="method"/> is the name errors give.</summary>
    /// <exception cref="ArgumentException">The forward function has no module, the layer cannot be resolved, or the selector is empty.</exception>
    public NeuronModifiedReluGradient(ForwardFunction model, LayerReference layer, NeuronSelector neuronSelector, bool useReluGradOutput, string method)
    {
        Neuron = new NeuronOutput(model, layer, neuronSelector);
        this.model = ModifiedReluGradient.ModelOf(model, method);
        this.useReluGradOutput = useReluGradOutput;
        this.method = method;
    }

    /// <summary>The explained neuron.</summary>
    public NeuronOutput Neuron { get; }

    /// <summary>Checks the inputs and returns the neuron's modified gradients with respect to every input.</summary>
    /// <exception cref="ArgumentException">An argument does not fit; the message names it.</exception>
    public AttributionResult Attribute(
        Inputs inputs, IReadOnlyList<object?>? additional, bool onInput, IProgress<AttributionProgress>? progress, CancellationToken cancellationToken)
    {
        var tensors = inputs.Tensors;
        using var scope = torch.NewDisposeScope();
        ArgumentPreparation.BatchSize(tensors);
        InputChecks.RequireFloatingPoint(tensors, method);
        cancellationToken.ThrowIfCancellationRequested();

        var gradients = ModifiedReluGradient.Compute(model, tensors, additional ?? [], useReluGradOutput, args => Neuron.Value(args, onInput));
        progress?.Report(new AttributionProgress(1, 1));
        return new AttributionResult(gradients.Select(g => g.MoveToOuterDisposeScope()).ToArray(), null);
    }
}
