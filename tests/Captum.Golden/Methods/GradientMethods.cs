using Captum.Attr;
using TorchSharp;
using static TorchSharp.torch;

namespace Captum.Golden.Methods;

/// <summary>Saliency, with or without the absolute value.</summary>
internal sealed class SaliencyMethod : IGoldenMethod
{
    public IReadOnlyCollection<string> Methods => ["Saliency"];

    public IReadOnlyCollection<string> AttributeKeys => ["abs"];

    public void Run(GoldenCase c, nn.Module model, List<string> failures)
    {
        var saliency = new Saliency(GoldenArguments.Forward(c, model));
        using var result = saliency.Attribute(Inputs.Of(c.Inputs), new SaliencyOptions
        {
            Target = GoldenArguments.Target(c),
            AdditionalForwardArgs = c.AdditionalForwardArgs,
            Abs = GoldenArguments.Bool(c.Attribute, "abs", fallback: true),
        });
        GoldenArguments.Compare("attributions", result.Attributions, c.ExpectedAttributions, failures);
    }
}

/// <summary>InputXGradient.</summary>
internal sealed class InputXGradientMethod : IGoldenMethod
{
    public IReadOnlyCollection<string> Methods => ["InputXGradient"];

    public IReadOnlyCollection<string> AttributeKeys => [];

    public void Run(GoldenCase c, nn.Module model, List<string> failures)
    {
        var method = new InputXGradient(GoldenArguments.Forward(c, model));
        using var result = method.Attribute(Inputs.Of(c.Inputs), new InputXGradientOptions
        {
            Target = GoldenArguments.Target(c),
            AdditionalForwardArgs = c.AdditionalForwardArgs,
        });
        GoldenArguments.Compare("attributions", result.Attributions, c.ExpectedAttributions, failures);
    }
}

/// <summary>DeepLift (rescale rule); afterwards the model must give its recorded outputs again (every hook removed).</summary>
internal sealed class DeepLiftMethod : IGoldenMethod
{
    public IReadOnlyCollection<string> Methods => ["DeepLift"];

    public IReadOnlyCollection<string> AttributeKeys => ["return_convergence_delta"];

    public void Run(GoldenCase c, nn.Module model, List<string> failures)
    {
        var forward = GoldenArguments.Forward(c, model);
        var eps = GoldenArguments.Double(c.Constructor, "eps") ?? 1e-10;
        var deepLift = new DeepLift(forward, GoldenArguments.MultiplyByInputs(c), eps);
        using (var result = deepLift.Attribute(Inputs.Of(c.Inputs), new DeepLiftOptions
        {
            Baselines = GoldenArguments.Baselines(c),
            Target = GoldenArguments.Target(c),
            AdditionalForwardArgs = c.AdditionalForwardArgs,
            ReturnConvergenceDelta = GoldenArguments.Bool(c.Attribute, "return_convergence_delta"),
        }))
        {
            GoldenArguments.Compare("attributions", result.Attributions, c.ExpectedAttributions, failures);
            GoldenArguments.CompareDelta(result.Delta, c, failures);
        }

        using var noGrad = torch.no_grad();
        var again = forward.Invoke([.. c.ForwardArguments()]);
        if (!GoldenRunner.Close(again, c.Forward, 1e-4, 1e-3, out var why))
        {
            failures.Add($"after DeepLift the model's output differs from the recorded forward: {why}");
        }
    }
}
