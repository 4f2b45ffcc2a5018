using Captum.Samples.TextClassifier;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Captum.Tests.Samples;

/// <summary>The text classifier sample (samples/TextClassifier): it learns the task, and the sentiment word gets the credit.</summary>
/// <remarks>Serial: training seeds TorchSharp's global generator.</remarks>
[Collection(Captum.Tests.Attr.SerialCollection.Name)]
public sealed class TextClassifierSampleTests : IClassFixture<TextClassifierSampleTests.Trained>
{
    private const int Explained = 16;
    private readonly Trained trained;

    public TextClassifierSampleTests(Trained trained) => this.trained = trained;

    [Fact]
    public void Train_GeneratedReviews_ClassifiesNewReviewsAlmostAlways()
    {
        Assert.True(trained.Accuracy >= 0.95, $"accuracy {trained.Accuracy:P1} on new reviews");
    }

    [Fact]
    public void Explain_TrueClass_SentimentWordHasTheLargestPositiveAttribution()
    {
        using var scope = torch.NewDisposeScope();
        var (tokens, labels) = (trained.TestTokens.narrow(0, 0, Explained), trained.TestLabels.narrow(0, 0, Explained));
        using var explanations = WordExplanations.Explain(trained.Model, tokens, labels);
        for (var i = 0; i < Explained; i++)
        {
            var perToken = explanations.PerToken[i];
            var words = Reviews.Words(tokens[i]);
            var position = trained.SentimentPositions[i];
            Assert.Equal(position, (int)perToken.abs().argmax().item<long>());
            Assert.True(perToken[position].item<float>() > 0, $"review {i}: '{words[position]}' counts against its own label");
        }
    }

    [Fact]
    public void Explain_PaddingAndCompleteness_PadsGetZeroAndTokensSumToTheLogitGain()
    {
        using var scope = torch.NewDisposeScope();
        var (tokens, labels) = (trained.TestTokens.narrow(0, 0, Explained), trained.TestLabels.narrow(0, 0, Explained));
        using var explanations = WordExplanations.Explain(trained.Model, tokens, labels);
        Tensor gain;
        using (torch.no_grad())
        {
            var index = labels.unsqueeze(1);
            var padsOnly = torch.full_like(tokens, Reviews.PadId);
            gain = trained.Model.call(tokens).gather(1, index).squeeze(1) - trained.Model.call(padsOnly).gather(1, index).squeeze(1);
        }

        // The reference is <pad> everywhere, so a padding token's embedding equals its reference: exactly zero.
        Assert.Equal(0f, explanations.PerToken.masked_select(tokens.eq(Reviews.PadId)).abs().max().item<float>());
        var sums = explanations.PerToken.sum(dim: 1);
        for (var i = 0; i < Explained; i++)
        {
            var (sum, expected) = (sums[i].item<float>(), gain[i].item<float>());
            Assert.True(Math.Abs(sum - expected) <= 0.01 * Math.Abs(expected), $"review {i}: tokens sum to {sum}, the logit gains {expected}");
            Assert.Equal(sum - expected, explanations.Delta[i].item<float>(), 1e-3);
        }
    }

    [Fact]
    public void WriteReport_EightReviews_ColoursTheSentimentWordsGreen()
    {
        using var scope = torch.NewDisposeScope();
        var path = Path.Combine(Path.GetTempPath(), $"captum-text-sample-{Guid.NewGuid():N}.html");
        try
        {
            var tokens = trained.TestTokens.narrow(0, 0, 8);
            TextClassifierSample.WriteReport(trained.Model, tokens, trained.TestLabels, path, TextWriter.Null);
            var html = File.ReadAllText(path);
            Assert.Equal(8 + 1, html.Split("<tr>").Length - 1);   // the header row and one per review
            for (var i = 0; i < 8; i++)
            {
                var word = Reviews.Words(tokens[i])[trained.SentimentPositions[i]];
                // Explained for its prediction (right on these reviews), the sentiment word is deep green.
                Assert.Matches($@"hsl\(120, 75%, [5-7]\d%\)[^<]*><span[^>]*>\s*{word}</span>", html);
            }
        }
        finally
        {
            File.Delete(path);
        }
    }

    /// <summary>The sample's model, trained once for the class, and its held-out reviews.</summary>
    public sealed class Trained : IDisposable
    {
        public Trained()
        {
            var (trainTokens, trainLabels, _) = Reviews.Generate(256, seed: 1);
            (TestTokens, TestLabels, SentimentPositions) = Reviews.Generate(64, seed: 2);
            using (trainTokens)
            using (trainLabels)
            {
                Model = SentimentModel.Train(trainTokens, trainLabels);
            }

            Accuracy = Model.Accuracy(TestTokens, TestLabels);
        }

        public SentimentModel Model { get; }

        public Tensor TestTokens { get; }

        public Tensor TestLabels { get; }

        public int[] SentimentPositions { get; }

        public double Accuracy { get; }

        public void Dispose()
        {
            Model.Dispose();
            TestTokens.Dispose();
            TestLabels.Dispose();
        }
    }
}
