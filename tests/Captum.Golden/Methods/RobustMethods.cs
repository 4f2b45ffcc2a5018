using System.Text.Json.Nodes;
using Captum.Robust;
using TorchSharp;
using static TorchSharp.torch;

namespace Captum.Golden.Methods;

/// <summary>
/// The robustness cases (captum.robust's FGSM and PGD, in shared/golden/captum-0.8.0-modules): the attack built with
/// the case's bounds and Captum's default loss, its perturbed inputs compared with Captum's.
/// </summary>
internal sealed class RobustAttackMethod : IGoldenMethod
{
    public IReadOnlyCollection<string> Methods => ["FGSM", "PGD"];

    public IReadOnlyCollection<string> AttributeKeys => ["epsilon", "radius", "step_size", "step_num", "norm", "targeted", "random_start"];

    public void Run(GoldenCase c, nn.Module model, List<string> failures)
    {
        var forward = GoldenArguments.Forward(c, model);
        var lower = GoldenArguments.Double(c.Constructor, "lower_bound") ?? double.NegativeInfinity;
        var upper = GoldenArguments.Double(c.Constructor, "upper_bound") ?? double.PositiveInfinity;
        var call = c.Attribute;
        var target = GoldenArguments.Target(c);
        var targeted = GoldenArguments.Bool(call, "targeted");
        using var perturbed = c.Method == "FGSM"
            ? new FGSM(forward, lowerBound: lower, upperBound: upper).Perturb(Inputs.Of(c.Inputs), new FGSMOptions
            {
                Epsilon = Required(call, "epsilon"),
                Target = target,
                AdditionalForwardArgs = c.AdditionalForwardArgs,
                Targeted = targeted,
            })
            : new PGD(forward, lowerBound: lower, upperBound: upper).Perturb(Inputs.Of(c.Inputs), new PGDOptions
            {
                Radius = Required(call, "radius"),
                StepSize = Required(call, "step_size"),
                StepNum = GoldenArguments.Int(call, "step_num") ?? throw new InvalidOperationException("call.step_num is missing"),
                Norm = call["norm"]?.GetValue<string>() switch
                {
                    null or "Linf" => PGDNorm.Linf,
                    "L2" => PGDNorm.L2,
                    var other => throw new InvalidOperationException($"unknown norm '{other}'"),
                },
                Target = target,
                AdditionalForwardArgs = c.AdditionalForwardArgs,
                Targeted = targeted,
                RandomStart = GoldenArguments.Bool(call, "random_start"),
            });

        var expected = c.Expected["perturbed"] is JsonArray list
            ? list.Select(t => GoldenCase.ReadTensor(t!)).ToArray()
            : null;
        GoldenArguments.Compare("perturbed", [.. perturbed], expected, failures);
    }

    private static double Required(JsonObject call, string key) =>
        GoldenArguments.Double(call, key) ?? throw new InvalidOperationException($"call.{key} is missing");
}
