namespace Captum.Plugins.Vqa.Scenes;

/// <summary>How <see cref="SceneTrainer"/> trains a scenes model.</summary>
public sealed record SceneTrainingOptions
{
    /// <summary>
    /// The seed of everything: <c>torch.manual_seed</c> (initial weights, dropout) and the training scenes (the scene
    /// stream <c>Seed</c>). The held-out check uses the stream <c>Seed + 1</c>.
    /// </summary>
    public long Seed { get; init; } = 1;

    /// <summary>Optimisation steps.</summary>
    public int Steps { get; init; } = 3000;

    /// <summary>Scenes per step; every question of each is asked (3.9 a scene on average).</summary>
    public int ScenesPerStep { get; init; } = 64;

    /// <summary>Adam's peak learning rate (cosine decay to 2% of it).</summary>
    public double LearningRate { get; init; } = 3e-3;

    /// <summary>Dropout while training.</summary>
    public double Dropout { get; init; } = 0.1;

    /// <summary>
    /// The share of training scenes shown faded towards the attribution baseline: the image becomes
    /// <c>b + alpha * (x - b)</c> with <c>alpha</c> uniform in [0, 1], a point on Integrated Gradients' path from the
    /// baseline <c>b</c> to the scene. The model then meets the path's images in training, not only when explained.
    /// </summary>
    public double Fade { get; init; } = 0.5;

    /// <summary>The image baseline the model is meant to be explained with (and faded towards); saved in its checkpoint.</summary>
    public ImageBaseline Baseline { get; init; } = ImageBaseline.Zero;

    /// <summary>libtorch's intra-op threads (<c>torch.set_num_threads</c>): fixed, so that runs repeat bit for bit.</summary>
    public int Threads { get; init; } = 1;

    /// <summary>Scenes of the held-out check after training (all their questions).</summary>
    public int HeldOutScenes { get; init; } = 1000;

    /// <summary>The model's sizes.</summary>
    public SceneModelShape Shape { get; init; } = SceneModelShape.Default;

    /// <summary>The device to train on; the CPU when null.</summary>
    public Device? Device { get; init; }
}
