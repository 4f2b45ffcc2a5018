using Captum.Attr;
using TorchSharp;
using static TorchSharp.torch;

namespace Captum.Golden.Methods;

/// <summary>LayerGradCam on one layer.</summary>
internal sealed class LayerGradCamMethod : IGoldenMethod
{
    public IReadOnlyCollection<string> Methods => ["LayerGradCam"];

    public IReadOnlyCollection<string> AttributeKeys => ["attribute_to_layer_input", "relu_attributions", "attr_dim_summation"];

    public void Run(GoldenCase c, nn.Module model, List<string> failures)
    {
        var layer = LayerMethods.SingleLayer(c);
        var a = c.Attribute;
        var gradCam = new LayerGradCam(GoldenArguments.Forward(c, model), layer);
        using var result = gradCam.Attribute(Inputs.Of(c.Inputs), new LayerGradCamOptions
        {
            Target = GoldenArguments.Target(c),
            AdditionalForwardArgs = c.AdditionalForwardArgs,
            AttributeToLayerInput = GoldenArguments.Bool(a, "attribute_to_layer_input"),
            ReluAttributions = GoldenArguments.Bool(a, "relu_attributions"),
            AttrDimSummation = GoldenArguments.Bool(a, "attr_dim_summation", fallback: true),
        });
        LayerMethods.Compare(c, layer, result, failures);
    }
}

/// <summary>LayerConductance on one layer.</summary>
internal sealed class LayerConductanceMethod : IGoldenMethod
{
    public IReadOnlyCollection<string> Methods => ["LayerConductance"];

    public IReadOnlyCollection<string> AttributeKeys => ["n_steps", "method", "internal_batch_size", "return_convergence_delta", "attribute_to_layer_input"];

    public void Run(GoldenCase c, nn.Module model, List<string> failures)
    {
        var layer = LayerMethods.SingleLayer(c);
        var a = c.Attribute;
        var options = new LayerConductanceOptions
        {
            Baselines = GoldenArguments.Baselines(c),
            Target = GoldenArguments.Target(c),
            AdditionalForwardArgs = c.AdditionalForwardArgs,
            InternalBatchSize = GoldenArguments.Int(a, "internal_batch_size"),
            ReturnConvergenceDelta = GoldenArguments.Bool(a, "return_convergence_delta"),
            AttributeToLayerInput = GoldenArguments.Bool(a, "attribute_to_layer_input"),
        };
        if (GoldenArguments.Int(a, "n_steps") is { } steps)
        {
            options = options with { Steps = steps };
        }

        if (a["method"] is System.Text.Json.Nodes.JsonValue method)
        {
            options = options with { Method = GoldenArguments.Method(method.GetValue<string>()) };
        }

        using var result = new LayerConductance(GoldenArguments.Forward(c, model), layer).Attribute(Inputs.Of(c.Inputs), options);
        LayerMethods.Compare(c, layer, result, failures);
    }
}

/// <summary>What the single-layer methods share.</summary>
internal static class LayerMethods
{
    public static string SingleLayer(GoldenCase c) =>
        c.Layers is [var layer] ? layer : throw new InvalidOperationException($"{c.Method} case needs exactly one layer");

    public static void Compare(GoldenCase c, string layer, LayerAttributionResult result, List<string> failures)
    {
        var expected = GoldenArguments.ExpectedLayers(c, 1);
        GoldenArguments.Compare($"layer {layer}", result.Layers[0], expected[0], failures);
        GoldenArguments.CompareDelta(result.Delta, c, failures);
    }
}
