using TorchSharp;

namespace Captum.Attr;

/// <summary>
/// Options that choose the explained output per example. Implemented by <see cref="TargetedAttributionOptions"/>
/// (and so by every method's options that take a target).
/// </summary>
public interface ITargetOptions
{
    /// <summary>Which output to explain. Python: <c>target</c>.</summary>
    Target Target { get; }

    /// <summary>A copy of these options with <paramref name="target"/> in place of <see cref="Target"/>.</summary>
    AttributionOptions WithTarget(Target target);
}

/// <summary>
/// Options that carry reference inputs. Implemented by <see cref="BaselineAttributionOptions"/> and
/// <see cref="NeuronBaselineAttributionOptions"/>.
/// </summary>
public interface IBaselineOptions
{
    /// <summary>The baselines (reference inputs). Python: <c>baselines</c>.</summary>
    Baselines Baselines { get; }

    /// <summary>A copy of these options with <paramref name="baselines"/> in place of <see cref="Baselines"/>.</summary>
    AttributionOptions WithBaselines(Baselines baselines);
}

/// <summary>
/// Options that group the inputs' elements into features. Implemented by <see cref="MaskedPerturbationOptions"/>,
/// <see cref="FeaturePermutationOptions"/> and <see cref="NeuronFeatureAblationOptions"/>.
/// </summary>
public interface IFeatureMaskOptions
{
    /// <summary>The feature mask. Python: <c>feature_mask</c>.</summary>
    FeatureMask FeatureMask { get; }

    /// <summary>A copy of these options with <paramref name="featureMask"/> in place of <see cref="FeatureMask"/>.</summary>
    AttributionOptions WithFeatureMask(FeatureMask featureMask);
}

/// <summary>Options of a method that attributes to a layer's values, which it can read at the layer's input or output.</summary>
public interface ILayerAttributionOptions
{
    /// <summary>Attribute to the layers' inputs instead of their outputs. Python: <c>attribute_to_layer_input</c>.</summary>
    bool AttributeToLayerInput { get; }
}

/// <summary>
/// Options of a method that draws random numbers (samples, permutations, random baselines): from a private CPU
/// generator seeded with <see cref="Seed"/>, from the caller's <see cref="Generator"/>, or, with neither, from
/// TorchSharp's default generator. Implemented by every method's options record that has both (GradientShap's,
/// ShapleyValueSampling's, Lime's and KernelShap's, ...); wrappers that run a method several times
/// (<see cref="LLMAttribution{TOptions}"/>'s trials) hand it one generator through <see cref="WithGenerator"/>.
/// </summary>
public interface IRandomSourceOptions
{
    /// <summary>Seeds a private generator for the call's draws; null draws from <see cref="Generator"/> or TorchSharp's default one. Beyond Captum.</summary>
    long? Seed { get; }

    /// <summary>The generator the call draws from, advanced by it; null: <see cref="Seed"/>'s or TorchSharp's default one. Beyond Captum.</summary>
    torch.Generator? Generator { get; }

    /// <summary>A copy of these options drawing from <paramref name="generator"/>, without a <see cref="Seed"/>.</summary>
    AttributionOptions WithGenerator(torch.Generator generator);
}
