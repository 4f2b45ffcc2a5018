using Captum.Attr;
using Captum.Explain;
using Captum.Forward;
using Captum.Plugins;
using Captum.Plugins.Vqa;
using Captum.Tests.Checkpoints;
using TorchSharp;
using Xunit;

namespace Captum.Tests.Explain;

/// <summary>The occlusion strategy (the CLI's, Insights', the batch runs') leaves the perturbations per pass to the memory budget.</summary>
public sealed class OcclusionStrategyTests
{
    [Fact]
    public void Explain_NoInternalBatchSize_TheMemoryBudgetChoosesThePerturbationsPerPass()
    {
        using var scope = torch.NewDisposeScope();
        using var inner = VqaModel.LoadDefault();
        var model = new CountingModel(inner);
        var strategy = ExplanationStrategies.BuiltIn.Get("occlusion");
        var prepared = inner.Prepare(new Dictionary<string, string> { ["image"] = CheckpointFiles.PathOf("e2e/image.png"), ["question"] = "what color is the circle" });

        // A budget below one perturbation's memory: one perturbation per pass (the prediction and the unperturbed pass included).
        using (MemoryBudget.WithDefaultBytes(1))
        {
            using var tight = strategy.Explain(model, prepared, new ExplanationOptions());
        }

        Assert.All(model.BatchSizes, b => Assert.Equal(1, b));
        Assert.True(model.BatchSizes.Count > 100, $"{model.BatchSizes.Count} passes");

        // A budget far above it: the most rows a pass may hold, plus the unperturbed row that checks the model keeps rows apart.
        model.BatchSizes.Clear();
        using (MemoryBudget.WithDefaultBytes(64L << 30))
        {
            using var ample = strategy.Explain(model, prepared, new ExplanationOptions());
        }

        Assert.Equal(PerturbationOptions.AutomaticPerturbationRows + 1, model.BatchSizes.Max());

        // A given internal batch size is used as given.
        model.BatchSizes.Clear();
        using var given = strategy.Explain(model, prepared, new ExplanationOptions { InternalBatchSize = 5 });

        Assert.Equal(5, model.BatchSizes.Max());
    }

    /// <summary>The scenes model with its forward passes' batch sizes counted.</summary>
    private sealed class CountingModel(VqaModel inner) : IInterpretableModel
    {
        public List<long> BatchSizes { get; } = [];

        public string Name => inner.Name;

        public IReadOnlyList<RawInputSpec> RawInputs => inner.RawInputs;

        public ForwardFunction Forward => ForwardFunction.FromDelegate(
            (object?[] args) =>
            {
                BatchSizes.Add(((torch.Tensor)args[0]!).shape[0]);
                return inner.Forward.Invoke(args);
            },
            inner.Forward.Module);

        public IReadOnlyList<Captum.Layers.LayerReference> AttributionLayers => inner.AttributionLayers;

        public IReadOnlyList<string> Labels => inner.Labels;

        public PreparedInput Prepare(IReadOnlyDictionary<string, string> rawInputs) => inner.Prepare(rawInputs);

        public void Dispose()
        {
        }
    }
}
