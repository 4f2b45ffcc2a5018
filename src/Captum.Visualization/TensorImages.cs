using Captum.Runtime;
using TorchSharp;

namespace Captum.Visualization;

/// <summary>Conversions from TorchSharp image tensors to the H x W x C float arrays the visualizers draw.</summary>
public static class TensorImages
{
    /// <summary>
    /// Copies an image or attribution tensor into an H x W x C float array (Captum's numpy layout). Accepted shapes:
    /// H x W (one channel); C x H x W for <see cref="TensorImageLayout.Chw"/> or H x W x C for
    /// <see cref="TensorImageLayout.Hwc"/>; and either with a leading batch dimension of 1. Any dtype and device; the
    /// values are converted to float32 on the CPU. Captum's tutorials do the same with
    /// <c>np.transpose(t.squeeze().cpu().detach().numpy(), (1, 2, 0))</c>.
    /// </summary>
    /// <param name="image">The tensor.</param>
    /// <param name="layout">Whether a 3-D (or 1 x 3-D) tensor is channels first or channels last.</param>
    /// <returns>The H x W x C array.</returns>
    /// <exception cref="ArgumentException">Another rank, a batch dimension other than 1, or an empty dimension.</exception>
    public static float[,,] ToHwcArray(torch.Tensor image, TensorImageLayout layout) => ToHwc(image, layout, nameof(image));

    internal static float[,,] ToHwc(torch.Tensor image, TensorImageLayout layout, string paramName)
    {
        ArgumentNullException.ThrowIfNull(image, paramName);
        if (layout is not (TensorImageLayout.Chw or TensorImageLayout.Hwc))
        {
            throw new ArgumentOutOfRangeException(nameof(layout), layout, "Unknown tensor image layout.");
        }

        TorchRuntime.EnsureAvailable();
        using var scope = torch.NewDisposeScope();
        var shape = image.shape;
        var t = image.detach().to(torch.ScalarType.Float32, torch.CPU);
        if (shape.Length == 4)
        {
            if (shape[0] != 1)
            {
                throw new ArgumentException($"A 4-D image tensor must have batch size 1; got shape [{string.Join(", ", shape)}].", paramName);
            }

            t = t.squeeze(0);
        }
        else if (shape.Length == 2)
        {
            t = t.unsqueeze(-1);
        }
        else if (shape.Length != 3)
        {
            throw new ArgumentException($"An image tensor must be H x W, C x H x W or H x W x C (optionally with a batch of 1); got shape [{string.Join(", ", shape)}].", paramName);
        }

        if (shape.Length != 2 && layout == TensorImageLayout.Chw)
        {
            t = t.permute(1, 2, 0);
        }

        t = t.contiguous();
        int h = (int)t.shape[0], w = (int)t.shape[1], c = (int)t.shape[2];
        if (h == 0 || w == 0 || c == 0)
        {
            throw new ArgumentException($"The image tensor has an empty dimension: H x W x C = {h} x {w} x {c}.", paramName);
        }

        var data = t.data<float>().ToArray();
        var result = new float[h, w, c];
        Buffer.BlockCopy(data, 0, result, 0, data.Length * sizeof(float));
        return result;
    }
}
