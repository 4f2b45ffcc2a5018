namespace Captum.Plugins.Vqa.Scenes;

/// <summary>The widths of the <see cref="SceneBackbone"/>'s four convolutions and the size of the last one's kernel.</summary>
/// <param name="Channels">Output channels of conv1..conv4.</param>
/// <param name="LastKernel">conv4's kernel size (odd): 1 keeps each cell's view small, 3 lets it see its neighbours.</param>
/// <param name="DownKernel">
/// The kernel size of the stride-2 convolutions conv1..conv3 (padding 1): 3, or 4, which keeps every grid cell
/// centred on the pixels it covers (cell k centred on pixel 8k + 3.5; with 3 the grid sits 3.5 pixels up and left)
/// and overlaps every pixel equally (no checkerboard in the gradients).
/// </param>
public sealed record SceneBackboneConfig(long[] Channels, long LastKernel = 3, long DownKernel = 3)
{
    /// <summary>The name the scenes checkpoint's config gives this backbone.</summary>
    public const string Kind = "scenes-cnn";

    /// <summary>The image feature channels: conv4's and the two coordinate channels.</summary>
    public long OutputChannels => Channels[^1] + 2;

    /// <summary>Reads the widths from the backbone's state dict (keys <c>conv1.weight</c> .. <c>conv4.weight</c>).</summary>
    /// <exception cref="ArgumentException">A convolution is missing or its shape does not fit the backbone.</exception>
    public static SceneBackboneConfig FromStateDict(IReadOnlyDictionary<string, Tensor> state)
    {
        ArgumentNullException.ThrowIfNull(state);
        var channels = new long[4];
        var kernels = new long[4];
        for (var i = 0; i < 4; i++)
        {
            var name = $"conv{i + 1}.weight";
            if (!state.TryGetValue(name, out var weight) || weight.dim() != 4)
            {
                throw new ArgumentException($"state dict lacks the 4-D '{name}' of the scenes backbone.", nameof(state));
            }

            channels[i] = weight.shape[0];
            kernels[i] = weight.shape[3];
        }

        return new SceneBackboneConfig(channels, kernels[3], kernels[0]);
    }
}
