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
