using Captum.Plugins;

namespace Captum.Explain.Strategies;

/// <summary>Helpers of the layer strategies.</summary>
internal static class LayerTensors
{
    /// <summary>The one tensor of every attributed layer.</summary>
    /// <exception cref="ArgumentException">A layer produced several tensors.</exception>
    public static Tensor[] OnePerLayer(IEnumerable<IReadOnlyList<Tensor>> layers, IInterpretableModel model) =>
        layers.Select(l => l.Count == 1 ? l[0] : throw new ArgumentException("every attribution layer must produce one tensor.", nameof(model))).ToArray();
}
