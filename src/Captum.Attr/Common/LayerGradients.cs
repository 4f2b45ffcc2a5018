using static TorchSharp.torch;

namespace Captum.Attr;

/// <summary>
/// Gradients of the explained output with respect to layer values, shared by the layer and neuron methods that
/// differentiate through a layer: Captum's <c>compute_layer_gradients_and_eval</c>.
/// </summary>
internal static class LayerGradients
{
    /// <summary>
    /// Runs the model on <paramref name="args"/>, selects the target outputs, and returns the gradient of their sum
    /// with respect to every tensor of every layer, with the layer values (attached to the graph) and the output.
    /// </summary>
    /// <param name="evaluation">The layers.</param>
    /// <param name="args">The forward arguments (inputs, then additional arguments).</param>
    /// <param name="onInput">Differentiate with respect to the layers' inputs instead of their outputs.</param>
    /// <param name="target">The explained outputs (already expanded to the batch of <paramref name="args"/>).</param>
    /// <param name="retainGraph">Keep the graph for a further gradient of the same pass.</param>
    /// <exception cref="ArgumentException">A layer tensor holds integers, through which no gradient flows.</exception>
    public static (Tensor[][] Gradients, Tensor[][] Values, Tensor Output) Compute(
        LayerEvaluation evaluation, object?[] args, bool onInput, Target target, bool retainGraph = false)
    {
        using var grad = torch.enable_grad();
        var (output, values) = evaluation.ForwardWithValues(args, onInput);
        var flat = values.SelectMany(v => v).ToArray();
        for (var l = 0; l < values.Length; l++)
        {
            foreach (var value in values[l])
            {
                InputChecks.RequireDifferentiable(value, evaluation.Layers[l].GetType().Name, onInput);
            }
        }

        var grads = Gradients.Of(target.Select(output), flat, retainGraph);
        return (Regroup(grads, values), values, output);
    }

    /// <summary>Splits a flat list of tensors into groups of the sizes of <paramref name="shape"/>'s groups.</summary>
    public static Tensor[][] Regroup(IReadOnlyList<Tensor> flat, IReadOnlyList<IReadOnlyList<Tensor>> shape)
    {
        var result = new Tensor[shape.Count][];
        var next = 0;
        for (var l = 0; l < shape.Count; l++)
        {
            result[l] = new Tensor[shape[l].Count];
            for (var j = 0; j < shape[l].Count; j++)
            {
                result[l][j] = flat[next++];
            }
        }

        return result;
    }
}
