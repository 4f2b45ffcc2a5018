using Captum.Plugins.Vqa.Model;

namespace Captum.Plugins.Vqa.Scenes;

/// <summary>The sizes of a scenes model: the VQA net's and its backbone's.</summary>
/// <param name="EmbeddingFeatures">Word embedding size.</param>
/// <param name="LstmFeatures">LSTM state size (the question feature).</param>
/// <param name="MidFeatures">Attention hidden size.</param>
/// <param name="Glimpses">Attention glimpses.</param>
/// <param name="ClassifierMidFeatures">Classifier hidden size.</param>
/// <param name="BackboneChannels">The backbone's four widths.</param>
/// <param name="BackboneLastKernel">The kernel size of the backbone's last convolution.</param>
/// <param name="BackboneDownKernel">The kernel size of the backbone's stride-2 convolutions.</param>
public sealed record SceneModelShape(long EmbeddingFeatures, long LstmFeatures, long MidFeatures, long Glimpses, long ClassifierMidFeatures, long[] BackboneChannels, long BackboneLastKernel = 3, long BackboneDownKernel = 3)
{
    /// <summary>The backbone's configuration.</summary>
    public SceneBackboneConfig Backbone => new(BackboneChannels, BackboneLastKernel, BackboneDownKernel);

    /// <summary>The shape of the model that ships with the plugin.</summary>
    public static SceneModelShape Default { get; } = new(32, 64, 64, 2, 128, [24, 48, 96, 96], BackboneLastKernel: 1, BackboneDownKernel: 4);

    /// <summary>The VQA net's sizes for the scenes vocabulary.</summary>
    public VqaConfig NetConfig(double dropout) =>
        new(SceneCheckpoint.Encoder.TokenCount, EmbeddingFeatures, LstmFeatures, Backbone.OutputChannels, MidFeatures, Glimpses, SceneWords.Answers.Count)
        {
            ClassifierMidFeatures = ClassifierMidFeatures,
            Dropout = dropout,
        };
}
