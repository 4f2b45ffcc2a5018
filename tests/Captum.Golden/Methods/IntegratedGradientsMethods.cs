using Captum.Attr;
using Captum.Layers;
using TorchSharp;
using static TorchSharp.torch;

namespace Captum.Golden.Methods;

/// <summary>IntegratedGradients, with or without an interpretable embedding.</summary>
internal sealed class IntegratedGradientsMethod : IGoldenMethod
{
    public IReadOnlyCollection<string> Methods => ["IntegratedGradients"];

    public IReadOnlyCollection<string> AttributeKeys => ["n_steps", "method", "internal_batch_size", "return_convergence_delta"];

    public void Run(GoldenCase c, nn.Module model, List<string> failures)
    {
        var options = IntegratedGradientsMethods.Options(c);
        var inputs = c.Inputs;
        var baselines = options.Baselines;
        InterpretableEmbeddingBase? interpretable = null;
        try
        {
            if (c.InterpretableEmbedding is { } path)
            {
                // The case's token-id inputs and baselines go through the interpretable layer's lookup.
                interpretable = InterpretableEmbeddings.ConfigureInterpretableEmbeddingLayer(model, path);
                var converted = new BaselineValue[inputs.Length];
                var embedded = new Tensor[inputs.Length];
                for (var i = 0; i < inputs.Length; i++)
                {
                    var b = baselines.IsNone ? 0.0 : baselines.For(i, inputs.Length);
                    if (inputs[i].is_floating_point())
                    {
                        embedded[i] = inputs[i];
                        converted[i] = b;
                        continue;
                    }

                    embedded[i] = interpretable.IndicesToEmbeddings(inputs[i]);
                    converted[i] = b.Tensor is { } ids
                        ? interpretable.IndicesToEmbeddings(ids)
                        : throw new InvalidOperationException($"baseline {i} must be token ids for the interpretable embedding");
                }

                inputs = embedded;
                baselines = converted;
            }

            var ig = new IntegratedGradients(GoldenArguments.Forward(c, model), GoldenArguments.MultiplyByInputs(c));
            using var result = ig.Attribute(Inputs.Of(inputs), options with { Baselines = baselines });
            GoldenArguments.Compare("attributions", result.Attributions, c.ExpectedAttributions, failures);
            GoldenArguments.CompareDelta(result.Delta, c, failures);
        }
        finally
        {
            if (interpretable is not null)
            {
                InterpretableEmbeddings.RemoveInterpretableEmbeddingLayer(model, interpretable);
            }
        }

        if (interpretable is not null)
        {
            using var noGrad = torch.no_grad();
            var again = GoldenArguments.Forward(c, model).Invoke([.. c.Inputs, .. c.AdditionalForwardArgs ?? []]);
            if (!GoldenRunner.Close(again, c.Forward, 1e-4, 1e-3, out var why))
            {
                failures.Add($"after removing the interpretable embedding the model's output differs from the recorded forward: {why}");
            }
        }
    }
}

/// <summary>LayerIntegratedGradients over one layer or several.</summary>
internal sealed class LayerIntegratedGradientsMethod : IGoldenMethod
{
    public IReadOnlyCollection<string> Methods => ["LayerIntegratedGradients"];

    public IReadOnlyCollection<string> AttributeKeys => ["n_steps", "method", "internal_batch_size", "return_convergence_delta", "attribute_to_layer_input"];

    public void Run(GoldenCase c, nn.Module model, List<string> failures)
    {
        var layers = c.Layers ?? throw new InvalidOperationException("LayerIntegratedGradients case without layers");
        var forward = GoldenArguments.Forward(c, model);
        var multiply = GoldenArguments.MultiplyByInputs(c);
        var lig = layers.Length == 1
            ? new LayerIntegratedGradients(forward, layers[0], multiply)
            : new LayerIntegratedGradients(forward, layers.Select(l => (LayerReference)l).ToArray(), multiply);
        var options = IntegratedGradientsMethods.Options(c);
        using var result = lig.Attribute(Inputs.Of(c.Inputs), new LayerIntegratedGradientsOptions
        {
            Baselines = options.Baselines,
            Target = options.Target,
            AdditionalForwardArgs = options.AdditionalForwardArgs,
            ReturnConvergenceDelta = options.ReturnConvergenceDelta,
            InternalBatchSize = options.InternalBatchSize,
            Steps = options.Steps,
            Method = options.Method,
            AttributeToLayerInput = GoldenArguments.Bool(c.Attribute, "attribute_to_layer_input"),
        });

        var expected = GoldenArguments.ExpectedLayers(c, layers.Length);
        if (expected.Length != result.Layers.Count)
        {
            failures.Add($"{result.Layers.Count} layers attributed, {expected.Length} expected");
            return;
        }

        for (var l = 0; l < expected.Length; l++)
        {
            GoldenArguments.Compare($"layer {layers[l]}", result.Layers[l], expected[l], failures);
        }

        GoldenArguments.CompareDelta(result.Delta, c, failures);
    }
}

/// <summary>The integrated-gradients options a case records.</summary>
internal static class IntegratedGradientsMethods
{
    public static IntegratedGradientsOptions Options(GoldenCase c)
    {
        var a = c.Attribute;
        var options = new IntegratedGradientsOptions
        {
            Baselines = GoldenArguments.Baselines(c),
            Target = GoldenArguments.Target(c),
            AdditionalForwardArgs = c.AdditionalForwardArgs,
            ReturnConvergenceDelta = GoldenArguments.Bool(a, "return_convergence_delta"),
            InternalBatchSize = GoldenArguments.Int(a, "internal_batch_size"),
        };
        if (GoldenArguments.Int(a, "n_steps") is { } steps)
        {
            options = options with { Steps = steps };
        }

        if (a["method"] is System.Text.Json.Nodes.JsonValue method)
        {
            options = options with { Method = GoldenArguments.Method(method.GetValue<string>()) };
        }

        return options;
    }
}
