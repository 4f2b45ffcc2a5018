using Captum.Forward;
using Captum.Influence;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Captum.Tests.Influence;

/// <summary>The one-pass gradients of linear layers equal the example-by-example ones, wherever they apply.</summary>
public sealed class PerExampleGradientsTests
{
    /// <summary>A token-sequence model: Linear over each position ([n, 4, 3] to [n, 4, 5]), tanh, mean over positions, Linear; optionally the first layer twice.</summary>
    private sealed class SequenceModel : nn.Module<Tensor, Tensor>
    {
        private readonly TorchSharp.Modules.Linear first = nn.Linear(3, 5);
        private readonly TorchSharp.Modules.Linear second = nn.Linear(5, 2);
        private readonly bool twice;

        public SequenceModel(bool twice)
            : base(nameof(SequenceModel))
        {
            this.twice = twice;
            RegisterComponents();
        }

        public override Tensor forward(Tensor x)
        {
            var h = torch.tanh(first.call(x));
            if (twice)
            {
                h = torch.tanh(first.call(h.narrow(2, 0, 3)));
            }

            return second.call(h.mean([1]));
        }
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(false, true)]
    [InlineData(true, false)]
    public void Compute_LinearLayers_EqualsExampleByExample(bool calledTwice, bool lastLayerOnly)
    {
        using var scope = torch.NewDisposeScope();
        torch.manual_seed(21);
        var model = new SequenceModel(calledTwice);
        var forward = ForwardFunction.FromModule(model);
        var parameters = lastLayerOnly ? model.named_parameters().Where(p => p.name.StartsWith("second", StringComparison.Ordinal)).Select(p => p.parameter).ToList() : model.parameters().ToList();
        var batch = new InfluenceBatch(torch.randn(6, 4, 3), torch.tensor(new long[] { 0, 1, 1, 0, 1, 0 }));

        var fast = PerExampleGradients.Compute(forward, parameters, batch, InfluenceLosses.CrossEntropy, CancellationToken.None, out var onePass);
        Tensor slow;
        using (torch.enable_grad())
        {
            slow = PerExampleGradients.ExampleByExample(forward, parameters, batch, InfluenceLosses.CrossEntropy, CancellationToken.None);
        }

        Assert.Equal(!calledTwice, onePass); // a layer called twice needs the per-example passes
        Assert.Equal(slow.shape, fast.shape);
        TensorAssert.AllClose(fast, slow, 1e-6, 1e-5);
    }

    /// <summary>Adds the square of its Linear's output computed from the Linear's weight directly, beside the Linear's own call.</summary>
    private sealed class WeightReadTwice : nn.Module<Tensor, Tensor>
    {
        private readonly TorchSharp.Modules.Linear fc = nn.Linear(4, 3);

        public WeightReadTwice()
            : base(nameof(WeightReadTwice)) => RegisterComponents();

        public override Tensor forward(Tensor x) => fc.call(x) + (0.5 * x.matmul(fc.weight!.t()).pow(2));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Compute_LinearWeightUsedElsewhere_EqualsExampleByExample(bool tiedToEmbedding)
    {
        using var scope = torch.NewDisposeScope();
        torch.manual_seed(22);
        nn.Module<Tensor, Tensor> model;
        InfluenceBatch batch;
        if (tiedToEmbedding)
        {
            // A language model's output layer tied to its embedding, differentiated as TracInCP's Layers = ["head"] does:
            // the weight's gradient also comes through the embedding.
            var embedding = nn.Embedding(10, 4);
            var head = nn.Linear(4, 10, hasBias: false);
            head.weight = embedding.weight!;
            model = nn.Sequential(("emb", embedding), ("head", head));
            batch = new InfluenceBatch(torch.tensor(new long[] { 1, 4, 4, 7, 9 }), torch.tensor(new long[] { 2, 4, 0, 7, 3 }));
        }
        else
        {
            model = new WeightReadTwice();
            batch = new InfluenceBatch(torch.randn(5, 4), torch.tensor(new long[] { 0, 1, 2, 1, 0 }));
        }

        var forward = ForwardFunction.FromModule(model);
        var parameters = model.named_parameters().Where(p => !p.name.StartsWith("emb", StringComparison.Ordinal)).Select(p => p.parameter).ToList();
        var fast = PerExampleGradients.Compute(forward, parameters, batch, InfluenceLosses.CrossEntropy, CancellationToken.None, out var onePass);
        Tensor slow;
        using (torch.enable_grad())
        {
            slow = PerExampleGradients.ExampleByExample(forward, parameters, batch, InfluenceLosses.CrossEntropy, CancellationToken.None);
        }

        Assert.False(onePass); // the layer's input and output gradient miss the weight's other use
        TensorAssert.AllClose(fast, slow, 1e-6, 1e-5);
    }
}
