using Captum.Forward;
using static TorchSharp.torch;

namespace Captum.Tests.Attr.Neuron;

/// <summary>
/// Forward functions that return one neuron of a test model's layer per example, [n], computed by calling the model's
/// own modules through <c>call</c> (so that gradient overrides reach them): the input methods applied to these are what
/// the neuron methods must equal.
/// </summary>
internal static class NeuronForwards
{
    /// <summary>The layers of <see cref="ModuleMlp"/> in order.</summary>
    public static readonly string[] MlpLayers = ["lin1", "act1", "lin2", "act2"];

    /// <summary>The layers of <see cref="ReluCnn"/> in order, with their shapes after the batch.</summary>
    public static readonly (string Name, long[] Shape)[] CnnLayers =
        [("conv1", [3, 6, 6]), ("relu1", [3, 6, 6]), ("conv2", [4, 3, 3]), ("relu2", [4, 3, 3])];

    /// <summary>Neuron <paramref name="k"/> of <paramref name="layer"/>'s output.</summary>
    public static ForwardFunction Mlp(ModuleMlp model, string layer, int k) => ForwardFunction.FromDelegate(
        (Tensor[] a) =>
        {
            var modules = new nn.Module<Tensor, Tensor>[] { model.Lin1, model.Act1, model.Lin2, model.Act2 };
            var h = a[0];
            for (var i = 0; i <= Array.IndexOf(MlpLayers, layer); i++)
            {
                h = modules[i].call(h);
            }

            return h[.., k];
        },
        model);

    /// <summary>Neuron (c, i, j) of <paramref name="layer"/>'s output.</summary>
    public static ForwardFunction Cnn(ReluCnn model, string layer, (int C, int I, int J) neuron) => ForwardFunction.FromDelegate(
        (Tensor[] a) =>
        {
            var modules = new nn.Module<Tensor, Tensor>[] { model.Conv1, model.Relu1, model.Conv2, model.Relu2 };
            var h = a[0];
            for (var i = 0; i <= Array.FindIndex(CnnLayers, l => l.Name == layer); i++)
            {
                h = modules[i].call(h);
            }

            return h[.., neuron.C, neuron.I, neuron.J];
        },
        model);

    /// <summary>A neuron of a <see cref="ReluCnn"/> layer chosen from three bytes, within the layer's shape.</summary>
    public static (int C, int I, int J) CnnNeuron(string layer, byte c, byte i, byte j)
    {
        var shape = Array.Find(CnnLayers, l => l.Name == layer).Shape;
        return (c % (int)shape[0], i % (int)shape[1], j % (int)shape[2]);
    }
}
