namespace Captum.Plugins.Vqa.Model;

/// <summary>Where a bottleneck ResNet puts its strides.</summary>
public enum ResNetVariant
{
    /// <summary>
    /// The original Caffe ResNet, which the tutorial's image features come from: a block's stride sits on its
    /// first 1x1 convolution, and the stem's max pool has padding 0 with ceil mode.
    /// </summary>
    Caffe,

    /// <summary>torchvision's ResNet: the stride sits on the 3x3 convolution; max pool padding 1.</summary>
    Torchvision,
}
