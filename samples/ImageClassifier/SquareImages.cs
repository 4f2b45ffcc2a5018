using TorchSharp;
using static TorchSharp.torch;

namespace Captum.Samples.ImageClassifier;

/// <summary>
/// Generated images: grey noise with one coloured square somewhere; the square's colour (red, green or blue) is the
/// class, so the square is the only evidence a classifier can use.
/// </summary>
public static class SquareImages
{
    /// <summary>The images' height and width in pixels.</summary>
    public const int Size = 16;

    /// <summary>The square's side in pixels.</summary>
    public const int SquareSize = 4;

    /// <summary>The class names, by label.</summary>
    public static IReadOnlyList<string> Classes { get; } = ["red", "green", "blue"];

    /// <summary>Makes <paramref name="count"/> images; the same seed gives the same images on every machine.</summary>
    /// <param name="count">How many images.</param>
    /// <param name="seed">The seed of the generator (System.Random) that places and colours the squares.</param>
    /// <returns>
    /// The images ([count, 3, 16, 16], values in [0, 1]), their labels ([count], int64) and each square's top-left
    /// corner (row, column); the caller disposes the tensors.
    /// </returns>
    public static (Tensor Images, Tensor Labels, (int Row, int Column)[] Squares) Generate(int count, int seed)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        var random = new Random(seed);
        var pixels = new float[count * 3 * Size * Size];
        var labels = new long[count];
        var squares = new (int Row, int Column)[count];
        for (var n = 0; n < count; n++)
        {
            for (var p = 0; p < Size * Size; p++)
            {
                var grey = 0.2f + (0.5f * random.NextSingle());
                for (var c = 0; c < 3; c++)
                {
                    pixels[(((n * 3) + c) * Size * Size) + p] = grey;
                }
            }

            var label = random.Next(Classes.Count);
            var (row, column) = (random.Next(Size - SquareSize + 1), random.Next(Size - SquareSize + 1));
            for (var y = row; y < row + SquareSize; y++)
            {
                for (var x = column; x < column + SquareSize; x++)
                {
                    for (var c = 0; c < 3; c++)
                    {
                        pixels[(((n * 3) + c) * Size * Size) + (y * Size) + x] = c == label ? 0.9f : 0.1f;
                    }
                }
            }

            labels[n] = label;
            squares[n] = (row, column);
        }

        return (torch.tensor(pixels).view(count, 3, Size, Size), torch.tensor(labels), squares);
    }
}

/// <summary>
/// A small CNN: a 3x3 convolution with ReLU, a global max pool (so a square counts wherever it is) and a linear
/// layer to the three classes' logits.
/// </summary>
public sealed class SquareNet : nn.Module<Tensor, Tensor>
{
    private readonly nn.Module<Tensor, Tensor> conv1;
    private readonly nn.Module<Tensor, Tensor> relu1;
    private readonly nn.Module<Tensor, Tensor> pool;
    private readonly nn.Module<Tensor, Tensor> fc;

    /// <summary>Creates the network with TorchSharp's default (random) initialisation.</summary>
    public SquareNet()
        : base(nameof(SquareNet))
    {
        conv1 = nn.Conv2d(3, 8, 3, padding: 1);
        relu1 = nn.ReLU();
        pool = nn.AdaptiveMaxPool2d(new long[] { 1, 1 });
        fc = nn.Linear(8, SquareImages.Classes.Count);
        RegisterComponents();
    }

    /// <summary>The logits ([N, 3]) of images [N, 3, H, W].</summary>
    /// <param name="input">The images.</param>
    /// <returns>The logits.</returns>
    public override Tensor forward(Tensor input) =>
        fc.call(pool.call(relu1.call(conv1.call(input))).flatten(1));

    /// <summary>
    /// Trains a new network on <paramref name="images"/> with Adam and cross-entropy (a second or two on a CPU) and
    /// returns it in evaluation mode.
    /// </summary>
    /// <param name="images">The training images, [N, 3, H, W].</param>
    /// <param name="labels">Their labels, [N], int64.</param>
    /// <param name="epochs">Passes over the images, in batches of 32.</param>
    /// <param name="seed">Seeds TorchSharp's global generator before the weights are initialised.</param>
    /// <returns>The trained network; the caller disposes it.</returns>
    public static SquareNet Train(Tensor images, Tensor labels, int epochs = 8, long seed = 0)
    {
        torch.manual_seed(seed);
        var model = new SquareNet();
        using var optimizer = torch.optim.Adam(model.parameters(), lr: 0.01);
        var count = images.shape[0];
        for (var epoch = 0; epoch < epochs; epoch++)
        {
            for (long start = 0; start < count; start += 32)
            {
                using var scope = torch.NewDisposeScope();
                var length = Math.Min(32, count - start);
                optimizer.zero_grad();
                var loss = nn.functional.cross_entropy(model.call(images.narrow(0, start, length)), labels.narrow(0, start, length));
                loss.backward();
                optimizer.step();
            }
        }

        model.eval();
        return model;
    }

    /// <summary>The fraction of <paramref name="images"/> classified as <paramref name="labels"/>.</summary>
    /// <param name="images">The images, [N, 3, H, W].</param>
    /// <param name="labels">Their labels, [N].</param>
    /// <returns>The accuracy, in [0, 1].</returns>
    public double Accuracy(Tensor images, Tensor labels)
    {
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        return call(images).argmax(1).eq(labels).to_type(ScalarType.Float64).mean().item<double>();
    }
}
