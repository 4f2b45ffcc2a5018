using Captum.Samples.ImageClassifier;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Captum.Tests.Samples;

/// <summary>The image classifier sample (samples/ImageClassifier): it learns the task, and every method finds the square.</summary>
/// <remarks>Serial: training seeds TorchSharp's global generator.</remarks>
[Collection(Captum.Tests.Attr.SerialCollection.Name)]
public sealed class ImageClassifierSampleTests : IClassFixture<ImageClassifierSampleTests.Trained>
{
    private const int Explained = 4;
    private readonly Trained trained;

    public ImageClassifierSampleTests(Trained trained) => this.trained = trained;

    [Fact]
    public void Train_GeneratedSquares_ClassifiesNewImagesAlmostAlways()
    {
        Assert.True(trained.Accuracy >= 0.95, $"accuracy {trained.Accuracy:P1} on new images");
    }

    [Fact]
    public void Explain_EveryMethod_PeaksInsideTheDecidingSquare()
    {
        using var scope = torch.NewDisposeScope();
        var (images, labels) = (trained.TestImages.narrow(0, 0, Explained), trained.TestLabels.narrow(0, 0, Explained));
        using var explanations = ImageExplanations.Explain(trained.Model, images, labels);
        var methods = new (string Name, Tensor Map)[]
        {
            ("IntegratedGradients", explanations.IntegratedGradients.abs().sum(dim: 1)),
            ("Occlusion", explanations.Occlusion.sum(dim: 1)),
            ("SmoothGrad", explanations.SmoothGrad.abs().sum(dim: 1)),
        };
        for (var i = 0; i < Explained; i++)
        {
            var (row, column) = trained.Squares[i];
            foreach (var (name, map) in methods)
            {
                var peak = map[i].argmax().item<long>();
                var (y, x) = (peak / SquareImages.Size, peak % SquareImages.Size);
                Assert.True(
                    y >= row && y < row + SquareImages.SquareSize && x >= column && x < column + SquareImages.SquareSize,
                    $"{name} on image {i} peaks at ({y}, {x}), outside the square at ({row}, {column})");
            }

            // Most of Integrated Gradients' mass is on the square and the pixel around it that the 3x3 convolution also
            // sees there: at most 36 of 256 pixels.
            var igMap = methods[0].Map[i];
            var (top, left) = (Math.Max(row - 1, 0), Math.Max(column - 1, 0));
            var (bottom, right) = (Math.Min(row + SquareImages.SquareSize + 1, SquareImages.Size), Math.Min(column + SquareImages.SquareSize + 1, SquareImages.Size));
            var near = igMap.narrow(0, top, bottom - top).narrow(1, left, right - left).sum().item<float>();
            Assert.True(near > 0.5f * igMap.sum().item<float>(), $"image {i}: {near} of {igMap.sum().item<float>()} on and around the square");
        }
    }

    [Fact]
    public void Explain_IntegratedGradients_SumsToTheLogitGainOverTheGreyImage()
    {
        using var scope = torch.NewDisposeScope();
        var (images, labels) = (trained.TestImages.narrow(0, 0, Explained), trained.TestLabels.narrow(0, 0, Explained));
        using var explanations = ImageExplanations.Explain(trained.Model, images, labels);
        Tensor gain;
        using (torch.no_grad())
        {
            var index = labels.unsqueeze(1);
            gain = trained.Model.call(images).gather(1, index).squeeze(1) - trained.Model.call(torch.full_like(images, ImageExplanations.Baseline)).gather(1, index).squeeze(1);
        }

        var sums = explanations.IntegratedGradients.sum(dim: [1, 2, 3]);
        for (var i = 0; i < Explained; i++)
        {
            var (sum, expected) = (sums[i].item<float>(), gain[i].item<float>());
            Assert.True(expected > 1, $"image {i}: the target logit gains only {expected}");
            Assert.True(Math.Abs(sum - expected) <= 0.02 * expected, $"image {i}: attributions sum to {sum}, the logit gains {expected}");
            Assert.Equal(sum - expected, explanations.Delta[i].item<float>(), 1e-3);
        }
    }

    [Fact]
    public void WriteReport_TwoImages_WritesAFigurePerImageWithEveryMethod()
    {
        using var scope = torch.NewDisposeScope();
        var path = Path.Combine(Path.GetTempPath(), $"captum-image-sample-{Guid.NewGuid():N}.html");
        try
        {
            var log = new StringWriter();
            ImageClassifierSample.WriteReport(trained.Model, trained.TestImages.narrow(0, 0, 2), trained.TestLabels, trained.Squares, path, log);
            var html = File.ReadAllText(path);
            Assert.Equal(2, html.Split("<figure").Length - 1);
            foreach (var title in new[] { "Integrated Gradients", "Occlusion", "SmoothGrad (IG)" })
            {
                Assert.Equal(2, html.Split(">" + title + "<").Length - 1);
            }

            Assert.Contains($"square at row {trained.Squares[1].Row}, column {trained.Squares[1].Column}", log.ToString(), StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(path);
        }
    }

    /// <summary>The sample's model, trained once for the class, and its held-out images.</summary>
    public sealed class Trained : IDisposable
    {
        public Trained()
        {
            var (trainImages, trainLabels, _) = SquareImages.Generate(256, seed: 1);
            (TestImages, TestLabels, Squares) = SquareImages.Generate(64, seed: 2);
            using (trainImages)
            using (trainLabels)
            {
                Model = SquareNet.Train(trainImages, trainLabels);
            }

            Accuracy = Model.Accuracy(TestImages, TestLabels);
        }

        public SquareNet Model { get; }

        public Tensor TestImages { get; }

        public Tensor TestLabels { get; }

        public (int Row, int Column)[] Squares { get; }

        public double Accuracy { get; }

        public void Dispose()
        {
            Model.Dispose();
            TestImages.Dispose();
            TestLabels.Dispose();
        }
    }
}
