using Captum.Attr;
using Captum.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace Captum.Samples.GettingStarted;

/// <summary>Captum's toy model: two linear layers with a ReLU between them, fixed weights.</summary>
public sealed class ToyModel : nn.Module<Tensor, Tensor>
{
    private readonly nn.Module<Tensor, Tensor> lin1;
    private readonly nn.Module<Tensor, Tensor> relu;
    private readonly nn.Module<Tensor, Tensor> lin2;

    /// <summary>Builds the model with Captum's weights.</summary>
    public ToyModel()
        : base(nameof(ToyModel))
    {
        var first = nn.Linear(3, 3);
        var second = nn.Linear(3, 2);
        using (torch.no_grad())
        {
            first.weight!.copy_(torch.arange(-4.0f, 5.0f).view(3, 3));
            first.bias!.zero_();
            second.weight!.copy_(torch.arange(-3.0f, 3.0f).view(2, 3));
            second.bias!.fill_(1.0f);
        }

        lin1 = first;
        relu = nn.ReLU();
        lin2 = second;
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor input) => lin2.call(relu.call(lin1.call(input)));
}

/// <summary>The getting-started example: which input features drive output 0 of the toy model.</summary>
public static class GettingStartedExample
{
    /// <summary>Runs Integrated Gradients on two random inputs against a zero baseline.</summary>
    /// <returns>The attributions ([2, 3]) and the convergence delta ([2]); the caller disposes them.</returns>
    public static AttributionResult Run()
    {
        // Loads libtorch (or says in one exception what is missing) before the first module is made; a module made
        // first would fail with TorchSharp's DllNotFoundException where no backend package is referenced.
        TorchRuntime.EnsureAvailable();
        var model = new ToyModel();
        model.eval();

        torch.manual_seed(123);
        var input = torch.rand(2, 3);
        var baseline = torch.zeros(2, 3);

        var ig = new IntegratedGradients(model);
        return ig.Attribute(input, new IntegratedGradientsOptions
        {
            Baselines = baseline,
            Target = 0,
            ReturnConvergenceDelta = true,
        });
    }
}
