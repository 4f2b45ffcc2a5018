using TorchSharp;
using static TorchSharp.torch;

namespace Captum.Tests;

/// <summary>A GRU (batch first, 3 features, hidden 4) whose module returns its output and its hidden state [layers, n, hidden], then a head on the last step.</summary>
internal sealed class GruModel : nn.Module<Tensor, Tensor>
{
    private readonly TorchSharp.Modules.GRU gru = nn.GRU(3, 4, batchFirst: true);
    private readonly TorchSharp.Modules.Linear head = nn.Linear(4, 2);

    public GruModel()
        : base(nameof(GruModel)) => RegisterComponents();

    public override Tensor forward(Tensor x) => head.call(gru.call(x).Item1[.., -1]);
}
