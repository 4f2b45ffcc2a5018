using Captum.Layers;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Captum.Influence;

/// <summary>The parameters an influence method differentiates: the model's, or those of chosen layers.</summary>
internal static class InfluenceParameters
{
    /// <exception cref="ArgumentException">A layer is not in the model, is repeated, or has no parameters; the message names Layers.</exception>
    public static IReadOnlyList<Parameter> Of(nn.Module model, IReadOnlyList<LayerReference>? layers)
    {
        if (layers is null)
        {
            var all = model.parameters().ToList();
            return all.Count > 0 ? all : throw new ArgumentException("model: the model has no parameters to differentiate.", nameof(model));
        }

        if (layers.Count == 0)
        {
            throw new ArgumentException("Layers: give at least one layer, or null for every parameter of the model.", "Layers");
        }

        var result = new List<Parameter>();
        var seen = new HashSet<nn.Module>(ReferenceEqualityComparer.Instance);
        foreach (var layer in layers)
        {
            var module = layer.Resolve(model, "Layers");
            if (!seen.Add(module))
            {
                throw new ArgumentException($"Layers: {layer} is given twice.", "Layers");
            }

            var own = module.parameters().ToList();
            if (own.Count == 0)
            {
                throw new ArgumentException($"Layers: {layer} has no parameters to differentiate.", "Layers");
            }

            result.AddRange(own);
        }

        return result;
    }
}
