using Captum.Attr;
using Captum.Visualization;
using TorchSharp;
using static TorchSharp.torch;

namespace Captum.Samples.ImageClassifier;

/// <summary>
/// Three explanations of the same predictions: Integrated Gradients (with its convergence delta), Occlusion (a grey 4x4
/// patch slid over the image) and SmoothGrad (a noise tunnel around Integrated Gradients).
/// </summary>
/// <param name="IntegratedGradients">Integrated Gradients against the grey image, [N, 3, H, W].</param>
/// <param name="Delta">Integrated Gradients' convergence delta, [N].</param>
/// <param name="Occlusion">Occlusion (how much the target logit drops when a patch turns grey), [N, 3, H, W].</param>
/// <param name="SmoothGrad">The mean of Integrated Gradients over noisy copies of each image, [N, 3, H, W].</param>
/// <remarks>
/// Every method compares the image with a plain grey one (<see cref="Baseline"/>, the background's mean): against black,
/// the grey noise itself would count as evidence.
/// </remarks>
public sealed record ImageExplanations(Tensor IntegratedGradients, Tensor Delta, Tensor Occlusion, Tensor SmoothGrad) : IDisposable
{
    /// <summary>The reference every method compares with: a plain grey image of this value.</summary>
    public const double Baseline = 0.45;

    /// <summary>Explains <paramref name="model"/>'s logits for <paramref name="targets"/> on <paramref name="images"/>.</summary>
    /// <param name="model">The classifier.</param>
    /// <param name="images">The images, [N, 3, H, W]; not modified.</param>
    /// <param name="targets">The class to explain per image, [N], int64 (usually the prediction).</param>
    /// <returns>The explanations; the caller disposes them.</returns>
    public static ImageExplanations Explain(SquareNet model, Tensor images, Tensor targets)
    {
        using var scope = torch.NewDisposeScope();
        var ig = new IntegratedGradients(model);
        using var igResult = ig.Attribute(images, new IntegratedGradientsOptions
        {
            Baselines = Baseline,
            Target = targets,
            Steps = 64,
            ReturnConvergenceDelta = true,
        });

        var occlusion = new Occlusion(model);
        using var occlusionResult = occlusion.Attribute(images, new OcclusionOptions
        {
            Baselines = Baseline,
            Target = targets,
            SlidingWindowShapes = new long[] { 3, SquareImages.SquareSize, SquareImages.SquareSize },
            Strides = new long[] { 3, 2, 2 },
        });

        var smoothGrad = NoiseTunnel.Create(ig);
        using var smoothGradResult = smoothGrad.Attribute(images, new NoiseTunnelOptions<IntegratedGradientsOptions>
        {
            NoiseType = NoiseTunnelType.SmoothGrad,
            Samples = 8,
            Stdevs = 0.1,
            Seed = 0,
            MethodOptions = new IntegratedGradientsOptions { Baselines = Baseline, Target = targets, Steps = 16 },
        });

        return new ImageExplanations(
            igResult.Attribution.detach().MoveToOuterDisposeScope(),
            igResult.Delta!.detach().MoveToOuterDisposeScope(),
            occlusionResult.Attribution.detach().MoveToOuterDisposeScope(),
            smoothGradResult.Attribution.detach().MoveToOuterDisposeScope());
    }

    /// <summary>
    /// One figure per image: the image, then each method's heat map (Integrated Gradients' and SmoothGrad's magnitude,
    /// Occlusion's positive part) with a colour bar.
    /// </summary>
    /// <param name="images">The images explained, [N, 3, H, W].</param>
    /// <param name="index">Which image.</param>
    /// <returns>The figure (4 panels).</returns>
    public VisualizationFigure Figure(Tensor images, int index)
    {
        using var scope = torch.NewDisposeScope();
        var image = images[index];
        var figure = VisualizationFigure.Subplots(4, new FigureSize(12, 3.6));
        ImageVisualizer.VisualizeImageAttr(IntegratedGradients[index], image, TensorImageLayout.Chw, ImageVisualizationMethod.OriginalImage, VisualizationSign.All, figure.Panels[0], title: "Image");
        ImageVisualizer.VisualizeImageAttr(IntegratedGradients[index], image, TensorImageLayout.Chw, ImageVisualizationMethod.HeatMap, VisualizationSign.AbsoluteValue, figure.Panels[1], showColorBar: true, title: "Integrated Gradients");
        ImageVisualizer.VisualizeImageAttr(Occlusion[index], image, TensorImageLayout.Chw, ImageVisualizationMethod.HeatMap, VisualizationSign.Positive, figure.Panels[2], showColorBar: true, title: "Occlusion");
        ImageVisualizer.VisualizeImageAttr(SmoothGrad[index], image, TensorImageLayout.Chw, ImageVisualizationMethod.HeatMap, VisualizationSign.AbsoluteValue, figure.Panels[3], showColorBar: true, title: "SmoothGrad (IG)");
        return figure;
    }

    /// <summary>Frees the tensors.</summary>
    public void Dispose()
    {
        IntegratedGradients.Dispose();
        Delta.Dispose();
        Occlusion.Dispose();
        SmoothGrad.Dispose();
    }
}

/// <summary>The whole sample: generate images, train the CNN, explain a few test images, write the HTML report.</summary>
public static class ImageClassifierSample
{
    /// <summary>Runs the sample and writes the report to <paramref name="reportPath"/>.</summary>
    /// <param name="reportPath">The HTML file to write.</param>
    /// <param name="log">Where progress lines go.</param>
    /// <returns>The test accuracy.</returns>
    public static double Run(string reportPath, TextWriter log)
    {
        using var scope = torch.NewDisposeScope();
        var (trainImages, trainLabels, _) = SquareImages.Generate(256, seed: 1);
        var (testImages, testLabels, squares) = SquareImages.Generate(64, seed: 2);
        using var model = SquareNet.Train(trainImages, trainLabels);
        var accuracy = model.Accuracy(testImages, testLabels);
        log.WriteLine($"trained on {trainImages.shape[0]} images; accuracy on {testImages.shape[0]} new images {accuracy:P1}");
        WriteReport(model, testImages.narrow(0, 0, 4), testLabels, squares, reportPath, log);
        return accuracy;
    }

    /// <summary>Explains the model's prediction for each image and writes one figure per image to an HTML report.</summary>
    /// <param name="model">The trained classifier.</param>
    /// <param name="images">The images to explain, [N, 3, H, W].</param>
    /// <param name="labels">Their true labels, [N] or more (the first N are used).</param>
    /// <param name="squares">Their squares' corners, N or more.</param>
    /// <param name="reportPath">The HTML file to write.</param>
    /// <param name="log">Where one line per image goes.</param>
    public static void WriteReport(SquareNet model, Tensor images, Tensor labels, IReadOnlyList<(int Row, int Column)> squares, string reportPath, TextWriter log)
    {
        using var scope = torch.NewDisposeScope();
        Tensor probabilities;
        using (torch.no_grad())
        {
            probabilities = torch.softmax(model.call(images), 1);
        }

        var predicted = probabilities.argmax(1);
        using var explanations = ImageExplanations.Explain(model, images, predicted);
        var report = new HtmlReport("Which pixels decide the class? A CNN on coloured squares")
            .AddParagraph("Each image is grey noise with one coloured square; its colour is the class. Integrated Gradients, "
                + "Occlusion and SmoothGrad should all point at the square.");
        for (var i = 0; i < images.shape[0]; i++)
        {
            var label = SquareImages.Classes[(int)labels[i].item<long>()];
            var prediction = (int)predicted[i].item<long>();
            var (row, column) = squares[i];
            var caption = $"true {label}, predicted {SquareImages.Classes[prediction]} ({probabilities[i, prediction].item<float>():P0}); "
                + $"square at row {row}, column {column}; IG convergence delta {explanations.Delta[i].item<float>():G3}";
            report.AddHeading($"Image {i}").AddFigure(explanations.Figure(images, i), caption);
            log.WriteLine(caption);
        }

        report.Save(reportPath);
        log.WriteLine($"report: {Path.GetFullPath(reportPath)}");
    }
}
