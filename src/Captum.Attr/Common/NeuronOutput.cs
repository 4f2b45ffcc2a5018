using Captum.Forward;
using Captum.Layers;
using static TorchSharp.torch;

namespace Captum.Attr;

/// <summary>
/// The neuron a neuron method explains in place of the model's output: the resolved layer and the selector. It runs
/// the model and selects the neuron of every example from the layer's output (or input), attached to the graph.
/// </summary>
internal sealed class NeuronOutput
{
    private readonly LayerEvaluation evaluation;
    private readonly string layerName;

    /// <summary>Checks the selector and resolves the layer.</summary>
    /// <exception cref="ArgumentException">The selector is empty, or the layer cannot be resolved.</exception>
    public NeuronOutput(ForwardFunction forwardFunc, LayerReference layer, NeuronSelector selector)
    {
        evaluation = NeuronGradient.Evaluation(forwardFunc, layer, selector);
        layerName = layer.ToString();
        Selector = selector;
    }

    /// <summary>The resolved layer.</summary>
    public nn.Module Layer => evaluation.Layers[0];

    /// <summary>The neuron.</summary>
    public NeuronSelector Selector { get; }

    /// <summary>Runs the model on <paramref name="args"/> and returns the neuron of every example, [batch].</summary>
    public Tensor Value(object?[] args, bool onInput) => NeuronGradient.NeuronValue(evaluation, Selector, layerName, args, onInput);

    /// <summary>
    /// The gradients of the neuron's sum over the batch at <paramref name="points"/> (followed by
    /// <paramref name="additional"/>), with respect to detached copies of the points.
    /// </summary>
    public Tensor[] Gradients(IReadOnlyList<Tensor> points, IReadOnlyList<object?> additional, bool onInput)
    {
        var leaves = Attr.Gradients.Leaves(points);
        return NeuronGradient.NeuronGradients(evaluation, Selector, layerName, ArgumentPreparation.Concat(leaves, additional), leaves, onInput);
    }
}
