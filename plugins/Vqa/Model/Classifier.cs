using TorchSharp.Modules;

namespace Captum.Plugins.Vqa.Model;

/// <summary>The answer classifier: dropout, linear, ReLU, dropout, linear.</summary>
/// <remarks>Python: pytorch-vqa's <c>model.Classifier</c> (a Sequential with drop1, lin1, relu, drop2, lin2).</remarks>
public sealed class Classifier : nn.Module<Tensor, Tensor>
{
    private readonly Dropout drop1;
    private readonly Linear lin1;
    private readonly Dropout drop2;
    private readonly Linear lin2;

    /// <summary>Creates the classifier.</summary>
    public Classifier(long inFeatures, long midFeatures, long outFeatures, double dropout = 0.5)
        : base(nameof(Classifier))
    {
        drop1 = nn.Dropout(dropout);
        lin1 = nn.Linear(inFeatures, midFeatures);
        drop2 = nn.Dropout(dropout);
        lin2 = nn.Linear(midFeatures, outFeatures);
        RegisterComponents();
    }

    /// <summary>Answer logits for the combined features.</summary>
    public override Tensor forward(Tensor x) => lin2.call(drop2.call(torch.nn.functional.relu(lin1.call(drop1.call(x)))));
}
