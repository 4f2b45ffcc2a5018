using static TorchSharp.torch;

namespace Captum.Attr;

/// <summary>
/// The features of a feature mask, as FeatureAblation, FeaturePermutation, LayerFeatureAblation and
/// NeuronFeatureAblation perturb them: across inputs, one per distinct id in ascending order; per input, input by
/// input, one per distinct id of that input's mask.
/// </summary>
internal sealed class MaskedFeatures : AblationFeatures
{
    private readonly ResolvedFeatureMask mask;
    private readonly (int Input, long Id)[] features;

    public MaskedFeatures(ResolvedFeatureMask mask, int inputs, bool crossTensor)
    {
        this.mask = mask;
        features = crossTensor
            ? mask.Ids.Select(id => (-1, id)).ToArray()
            : Enumerable.Range(0, inputs).SelectMany(i => mask.IdsOf(i).Select(id => (i, id))).ToArray();
    }

    public override int Count => features.Length;

    public override bool PerExample => mask.PerExample;

    public override bool Touches(int feature, int input)
    {
        var (owner, id) = features[feature];
        return owner < 0 ? mask.Contains(input, id) : owner == input;
    }

    public override Tensor Mask(int feature, int input) => mask.Masks[input].eq(features[feature].Id);
}
