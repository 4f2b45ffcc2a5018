using Captum.Attr;
using Captum.Forward;
using FsCheck.Xunit;
using TorchSharp;
using static TorchSharp.torch;

namespace Captum.Tests.Attr.Layer;

/// <summary>The laws of Layer and Neuron Feature Ablation: Feature Ablation seen through a layer.</summary>
public sealed class LayerFeatureAblationProperties
{
    [Property(MaxTest = 20)]
    public void LayerFeatureAblation_IdentityLayerOfTheInput_EqualsFeatureAblation(int seed, byte perEvalChoice, byte groupChoice, bool tokens)
    {
        using var scope = torch.NewDisposeScope();
        var perEval = 1 + (perEvalChoice % 7);
        var generator = new torch.Generator((ulong)(uint)seed);
        var mask = torch.randint(0, 1 + (groupChoice % 4), [1, 5], generator: generator);
        int[] target = [2, 0, 1];
        if (tokens)
        {
            // Token ids through the wrapper's identity layer: ablated tokens become the padding id.
            var text = new BagOfWords(seed);
            var ids = torch.randint(1, 12, [3, 5], generator: generator);
            using var layer = new LayerFeatureAblation(new ModelInputWrapper(text), "input_maps.tokens").Attribute(ids, new LayerFeatureAblationOptions
            {
                Target = target,
                LayerMask = mask,
                PerturbationsPerEval = perEval,
            });
            using var input = new FeatureAblation(text).Attribute(ids, new FeatureAblationOptions { Target = target, FeatureMask = mask });
            TensorAssert.AllClose(layer.Attribution, input.Attribution, 1e-6, 1e-5);
            return;
        }

        var model = TestModels.SmoothMlp(seed, inputs: 5);
        var x = torch.randn([3, 5], generator: generator);
        var baseline = torch.randn([1, 5], generator: generator);
        using var ablatedLayer = new LayerFeatureAblation(new ModelInputWrapper(model), "input_maps.x").Attribute(x, new LayerFeatureAblationOptions
        {
            LayerBaselines = baseline,
            Target = target,
            LayerMask = mask,
            PerturbationsPerEval = perEval,
        });
        using var ablatedInput = new FeatureAblation(model).Attribute(x, new FeatureAblationOptions { Baselines = baseline, Target = target, FeatureMask = mask });
        TensorAssert.AllClose(ablatedLayer.Attribution, ablatedInput.Attribution, 1e-6, 1e-5);
    }

    [Property(MaxTest = 20)]
    public void NeuronFeatureAblation_AnyNeuron_EqualsFeatureAblationOfTheNeuronsValue(int seed, byte neuronChoice, byte perEvalChoice, bool onInput)
    {
        using var scope = torch.NewDisposeScope();
        var perEval = 1 + (perEvalChoice % 7);
        var neuron = neuronChoice % 6;
        var model = GradientTestModels.Mlp(seed, "tanh", inputs: 4, hidden: 6);
        var generator = new torch.Generator((ulong)(uint)seed);
        var x = torch.randn([3, 4], generator: generator);
        var baseline = torch.randn([1, 4], generator: generator);

        // The input of lin2 is act1's output: tanh(lin1(x)); the output of act1 is the same value.
        using var result = new NeuronFeatureAblation(model, onInput ? "lin2" : "act1", neuron).Attribute(x, new NeuronFeatureAblationOptions
        {
            Baselines = baseline,
            AttributeToNeuronInput = onInput,
            PerturbationsPerEval = perEval,
        });

        ForwardFunction value = (Func<Tensor, Tensor>)(batch => torch.tanh(model.Lin1.call(batch))[.., neuron]);
        using var expected = new FeatureAblation(value).Attribute(x, new FeatureAblationOptions { Baselines = baseline });
        TensorAssert.AllClose(result.Attribution, expected.Attribution, 1e-6, 1e-5);
    }
}
