using System.Runtime.CompilerServices;
using static TorchSharp.torch;

namespace Captum.Layers;

/// <summary>
/// Flattens a layer's value (a tensor, or a value tuple of tensors and other things, possibly nested)
/// into its tensors, and rebuilds a value of the same structure with the tensors replaced.
/// </summary>
internal static class TensorPack
{
    public static Tensor[] Flatten(object? value)
    {
        var list = new List<Tensor>();
        Collect(value, list);
        return list.ToArray();
    }

    public static object? Rebuild(object? template, IReadOnlyList<Tensor> tensors)
    {
        var next = 0;
        var result = Replace(template, tensors, ref next);
        if (next != tensors.Count)
        {
            throw new InvalidOperationException($"Rebuilt {next} of {tensors.Count} tensors: the layer's structure changed between passes.");
        }

        return result;
    }

    private static void Collect(object? value, List<Tensor> into)
    {
        switch (value)
        {
            case Tensor t:
                into.Add(t);
                break;
            case ITuple tuple:
                for (var i = 0; i < tuple.Length; i++)
                {
                    Collect(tuple[i], into);
                }

                break;
        }
    }

    private static object? Replace(object? value, IReadOnlyList<Tensor> tensors, ref int next)
    {
        switch (value)
        {
            case Tensor:
                return tensors[next++];
            case ITuple tuple:
                var items = new object?[tuple.Length];
                for (var i = 0; i < tuple.Length; i++)
                {
                    items[i] = Replace(tuple[i], tensors, ref next);
                }

                return Activator.CreateInstance(value.GetType(), items);
            default:
                return value;
        }
    }
}
