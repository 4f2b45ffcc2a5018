namespace Captum.Plugins.Vqa.Model;

/// <summary>The shape of a bottleneck ResNet: blocks per stage, stem width, and variant.</summary>
/// <param name="Blocks">Bottleneck blocks in layer1..layer4 ([3, 8, 36, 3] for ResNet-152).</param>
/// <param name="BaseWidth">The stem's output channels (64 for the ImageNet nets).</param>
/// <param name="Variant">Where the strides sit.</param>
public sealed record ResNetConfig(int[] Blocks, long BaseWidth, ResNetVariant Variant)
{
    /// <summary>ResNet-152 of the given variant.</summary>
    public static ResNetConfig ResNet152(ResNetVariant variant) => new([3, 8, 36, 3], 64, variant);

    /// <summary>Reads depth and width from a torchvision-named state dict (keys like <c>layer3.17.conv2.weight</c>).</summary>
    /// <exception cref="ArgumentException">The state dict is not a bottleneck ResNet's.</exception>
    public static ResNetConfig FromStateDict(IReadOnlyDictionary<string, Tensor> state, ResNetVariant variant)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (!state.TryGetValue("conv1.weight", out var stem))
        {
            throw new ArgumentException("state dict lacks 'conv1.weight': it is not a torchvision-named ResNet.", nameof(state));
        }

        var blocks = new int[4];
        for (var stage = 0; stage < 4; stage++)
        {
            var prefix = $"layer{stage + 1}.";
            var indices = state.Keys
                .Where(k => k.StartsWith(prefix, StringComparison.Ordinal) && k.EndsWith(".conv3.weight", StringComparison.Ordinal))
                .Select(k => int.Parse(k.AsSpan(prefix.Length, k.IndexOf('.', prefix.Length) - prefix.Length), System.Globalization.CultureInfo.InvariantCulture))
                .ToList();
            if (indices.Count == 0)
            {
                throw new ArgumentException($"state dict has no bottleneck blocks in layer{stage + 1} (no '{prefix}N.conv3.weight').", nameof(state));
            }

            blocks[stage] = indices.Max() + 1;
        }

        return new ResNetConfig(blocks, stem.shape[0], variant);
    }
}
