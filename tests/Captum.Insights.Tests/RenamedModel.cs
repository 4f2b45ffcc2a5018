using Captum.Forward;
using Captum.Layers;
using Captum.Plugins;
using static TorchSharp.torch;

namespace Captum.Insights.Tests;

/// <summary>A model served under another name (a server takes one model of a name): everything else is the inner model's, which it disposes.</summary>
internal sealed class RenamedModel(IInterpretableModel inner, string name) : IInterpretableModel
{
    public string Name => name;

    public IReadOnlyList<RawInputSpec> RawInputs => inner.RawInputs;

    public ForwardFunction Forward => inner.Forward;

    public IReadOnlyList<LayerReference> AttributionLayers => inner.AttributionLayers;

    public IReadOnlyList<string> Labels => inner.Labels;

    public Tensor Scores(Tensor outputs) => inner.Scores(outputs);

    public PreparedInput Prepare(IReadOnlyDictionary<string, string> rawInputs) => inner.Prepare(rawInputs);

    public PreparedInput Prepare(IReadOnlyDictionary<string, RawInputValue> rawInputs) => inner.Prepare(rawInputs);

    public void Dispose() => inner.Dispose();
}
