using Captum.Attr;
using Captum.Visualization;
using TorchSharp;
using static TorchSharp.torch;

namespace Captum.Samples.TextClassifier;

/// <summary>
/// Layer Integrated Gradients on the embedding layer, against reviews made of <c>&lt;pad&gt;</c> only
/// (<see cref="TokenReferenceBase"/>): one attribution per token, the embedding dimension summed.
/// </summary>
/// <param name="PerToken">The attribution of each token to the target logit, [N, L].</param>
/// <param name="Delta">The convergence delta, [N].</param>
public sealed record WordExplanations(Tensor PerToken, Tensor Delta) : IDisposable
{
    /// <summary>Explains <paramref name="model"/>'s logits for <paramref name="targets"/> on <paramref name="tokens"/>.</summary>
    /// <param name="model">The classifier.</param>
    /// <param name="tokens">The reviews' token ids, [N, L].</param>
    /// <param name="targets">The class to explain per review, [N], int64 (usually the prediction).</param>
    /// <returns>The explanations; the caller disposes them.</returns>
    public static WordExplanations Explain(SentimentModel model, Tensor tokens, Tensor targets)
    {
        using var scope = torch.NewDisposeScope();
        var lig = new LayerIntegratedGradients(model, "embedding");
        var reference = new TokenReferenceBase(referenceTokenIdx: Reviews.PadId).GenerateReference(tokens.shape[1]).unsqueeze(0).expand(tokens.shape[0], -1);
        using var result = lig.Attribute(tokens, new LayerIntegratedGradientsOptions
        {
            Baselines = reference,
            Target = targets,
            ReturnConvergenceDelta = true,
        });
        return new WordExplanations(
            result.Attribution.sum(dim: 2).detach().MoveToOuterDisposeScope(),
            result.Delta!.detach().MoveToOuterDisposeScope());
    }

    /// <summary>
    /// The text visualizer's rows: each review's words coloured by their attribution scaled to unit L2 norm (as
    /// Captum's tutorials do), with the prediction and its probability.
    /// </summary>
    /// <param name="tokens">The reviews explained, [N, L].</param>
    /// <param name="labels">Their true labels, [N].</param>
    /// <param name="targets">The classes explained, [N].</param>
    /// <param name="probabilities">The model's class probabilities, [N, 2].</param>
    /// <returns>One record per review.</returns>
    public IReadOnlyList<VisualizationDataRecord> Records(Tensor tokens, Tensor labels, Tensor targets, Tensor probabilities)
    {
        using var scope = torch.NewDisposeScope();
        var records = new List<VisualizationDataRecord>();
        for (var i = 0; i < tokens.shape[0]; i++)
        {
            var perToken = PerToken[i];
            var target = (int)targets[i].item<long>();
            var predicted = (int)probabilities[i].argmax().item<long>();
            records.Add(VisualizationDataRecord.FromTensor(
                perToken / perToken.norm(),
                predProb: probabilities[i, predicted].item<float>(),
                predClass: Reviews.Classes[predicted],
                trueClass: Reviews.Classes[(int)labels[i].item<long>()],
                attrClass: Reviews.Classes[target],
                attrScore: perToken.sum().item<float>(),
                rawInputIds: Reviews.Words(tokens[i]),
                convergenceScore: Delta[i].item<float>()));
        }

        return records;
    }

    /// <summary>Frees the tensors.</summary>
    public void Dispose()
    {
        PerToken.Dispose();
        Delta.Dispose();
    }
}

/// <summary>The whole sample: generate reviews, train the model, explain a few new reviews, write the HTML report.</summary>
public static class TextClassifierSample
{
    /// <summary>Runs the sample and writes the report to <paramref name="reportPath"/>.</summary>
    /// <param name="reportPath">The HTML file to write.</param>
    /// <param name="log">Where progress lines go.</param>
    /// <returns>The accuracy on new reviews.</returns>
    public static double Run(string reportPath, TextWriter log)
    {
        using var scope = torch.NewDisposeScope();
        var (trainTokens, trainLabels, _) = Reviews.Generate(256, seed: 1);
        var (testTokens, testLabels, _) = Reviews.Generate(64, seed: 2);
        using var model = SentimentModel.Train(trainTokens, trainLabels);
        var accuracy = model.Accuracy(testTokens, testLabels);
        log.WriteLine($"trained on {trainTokens.shape[0]} reviews; accuracy on {testTokens.shape[0]} new reviews {accuracy:P1}");
        WriteReport(model, testTokens.narrow(0, 0, 8), testLabels, reportPath, log);
        return accuracy;
    }

    /// <summary>Explains the model's prediction for each review and writes the coloured words to an HTML report.</summary>
    /// <param name="model">The trained classifier.</param>
    /// <param name="tokens">The reviews to explain, [N, L].</param>
    /// <param name="labels">Their true labels, [N] or more (the first N are used).</param>
    /// <param name="reportPath">The HTML file to write.</param>
    /// <param name="log">Where one line per review goes.</param>
    public static void WriteReport(SentimentModel model, Tensor tokens, Tensor labels, string reportPath, TextWriter log)
    {
        using var scope = torch.NewDisposeScope();
        Tensor probabilities;
        using (torch.no_grad())
        {
            probabilities = torch.softmax(model.call(tokens), 1);
        }

        var predicted = probabilities.argmax(1);
        using var explanations = WordExplanations.Explain(model, tokens, predicted);
        var records = explanations.Records(tokens, labels.narrow(0, 0, tokens.shape[0]), predicted, probabilities);
        new HtmlReport("Which words decide the sentiment? Layer Integrated Gradients on a bag of embeddings")
            .AddParagraph("Each review has one sentiment word among neutral ones; green words pushed the prediction up, red ones down.")
            .AddText(records)
            .Save(reportPath);
        foreach (var record in records)
        {
            log.WriteLine($"{record.PredClass} ({record.PredProb:P0}): "
                + string.Join(' ', record.RawInputIds.Zip(record.WordAttributions, (word, a) => $"{word}({a:+0.00;-0.00})")));
        }

        log.WriteLine($"report: {Path.GetFullPath(reportPath)}");
    }
}
