using Captum.Attr;
using Captum.Layers;
using Captum.Plugins.Vqa.Model;

namespace Captum.Plugins.Vqa.Tutorial;

/// <summary>How the question is attributed: the two setups of Captum's VQA tutorial, which give the same numbers.</summary>
public enum VqaAttributionMethod
{
    /// <summary>
    /// Option (2): <see cref="LayerIntegratedGradients"/> on a <see cref="ModelInputWrapper"/> over
    /// <c>input_maps.v</c> and <c>module.text.embedding</c> at once, baselines the black image and the pad tokens.
    /// </summary>
    LayerIntegratedGradients,

    /// <summary>
    /// Option (1): an interpretable embedding on <c>text.embedding</c>, then <see cref="IntegratedGradients"/>
    /// over the image and the question's embeddings.
    /// </summary>
    InterpretableEmbedding,
}

/// <summary>
/// The explanation of one answer: what the model answered and how much every question word and every
/// pixel contributed. Owns <see cref="ImageAttribution"/>; dispose it.
/// </summary>
/// <param name="Question">The question as asked.</param>
/// <param name="Tokens">Its words as the model saw them (lowercased).</param>
/// <param name="Answer">The predicted answer.</param>
/// <param name="AnswerIndex">Its class index.</param>
/// <param name="Probability">Its softmax probability.</param>
/// <param name="Logits">Every answer's logit.</param>
/// <param name="TokenAttributions">Per word, the attribution summed over the embedding dimension.</param>
/// <param name="TextContribution">The sum of all word attributions.</param>
/// <param name="ImageContribution">The sum of all image attributions.</param>
/// <param name="Delta">The convergence delta: total contribution minus F(input) - F(baseline).</param>
/// <param name="ImageAttribution">The attribution of every input pixel, [3, H, W].</param>
public sealed record VqaExplanation(
    string Question,
    IReadOnlyList<string> Tokens,
    string Answer,
    long AnswerIndex,
    double Probability,
    IReadOnlyList<float> Logits,
    IReadOnlyList<float> TokenAttributions,
    double TextContribution,
    double ImageContribution,
    double Delta,
    Tensor ImageAttribution) : IDisposable
{
    /// <summary>Text plus image contribution.</summary>
    public double TotalContribution => TextContribution + ImageContribution;

    /// <summary>Frees the image attribution.</summary>
    public void Dispose() => ImageAttribution.Dispose();
}

/// <summary>
/// Captum's VQA tutorial flow over any <see cref="VqaNet"/> with an image network: predict an answer, then
/// attribute it to the image and the question words at once.
/// </summary>
public sealed class VqaInterpreter
{
    private readonly VqaNet model;
    private readonly ModelInputWrapper wrapper;
    private readonly LayerIntegratedGradients layerIg;

    /// <summary>Creates the interpreter.</summary>
    /// <param name="model">The net, with its image network, in eval mode.</param>
    /// <param name="encoder">The question vocabulary.</param>
    /// <param name="answerWords">The answer of every class.</param>
    public VqaInterpreter(VqaNet model, QuestionEncoder encoder, IReadOnlyList<string> answerWords)
    {
        this.model = model ?? throw new ArgumentNullException(nameof(model));
        Encoder = encoder ?? throw new ArgumentNullException(nameof(encoder));
        AnswerWords = answerWords ?? throw new ArgumentNullException(nameof(answerWords));
        wrapper = new ModelInputWrapper(model);
        layerIg = new LayerIntegratedGradients(wrapper, new LayerReference[] { "input_maps.v", "module.text.embedding" });
    }

    /// <summary>The question vocabulary.</summary>
    public QuestionEncoder Encoder { get; }

    /// <summary>The answer of every class.</summary>
    public IReadOnlyList<string> AnswerWords { get; }

    /// <summary>The wrapped model (<c>input_maps.v</c>, <c>input_maps.q</c>, <c>input_maps.q_len</c>, <c>module</c>).</summary>
    public ModelInputWrapper Wrapper => wrapper;

    /// <summary>
    /// Answers <paramref name="question"/> about <paramref name="image"/> and explains the answer.
    /// </summary>
    /// <param name="image">The normalised image, [1, 3, H, W], on the model's device.</param>
    /// <param name="question">The question; at least one word.</param>
    /// <param name="steps">Integration steps (the tutorial uses 30).</param>
    /// <param name="method">The tutorial's option (2) or (1).</param>
    /// <param name="progress">Optional progress of the integration.</param>
    /// <param name="cancellationToken">Checked between internal batches.</param>
    /// <exception cref="ArgumentException">The image is not [1, 3, H, W] or the question is empty.</exception>
    public VqaExplanation Explain(
        Tensor image,
        string question,
        int steps = 30,
        VqaAttributionMethod method = VqaAttributionMethod.LayerIntegratedGradients,
        IProgress<AttributionProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(image);
        if (image.dim() != 4 || image.shape[0] != 1 || image.shape[1] != 3)
        {
            throw new ArgumentException($"image must be [1, 3, H, W], not {string.Join("x", image.shape)}.", nameof(image));
        }

        using var scope = torch.NewDisposeScope();
        var (q, qLen) = Encoder.Encode(question, image.device);
        var tokens = QuestionEncoder.Tokenize(question);
        var q1 = q.unsqueeze(0);
        var qLen1 = qLen.unsqueeze(0);

        Tensor logits;
        using (torch.no_grad())
        {
            logits = model.call(image, q1, qLen1);
        }

        var (probability, index) = torch.softmax(logits, 1).max(1);
        var answerIndex = index.item<long>();
        var reference = new TokenReferenceBase(Encoder.PadIndex).GenerateReference(tokens.Count, image.device).unsqueeze(0);

        Tensor imageAttribution, wordAttribution, delta;
        if (method == VqaAttributionMethod.LayerIntegratedGradients)
        {
            using var result = layerIg.Attribute(Inputs.Of(image, q1), new LayerIntegratedGradientsOptions
            {
                Baselines = new BaselineValue[] { image * 0.0, reference },
                Target = answerIndex,
                AdditionalForwardArgs = [qLen1],
                Steps = steps,
                ReturnConvergenceDelta = true,
                Progress = progress,
            }, cancellationToken);
            (imageAttribution, wordAttribution, delta) = (result[0].alias(), result[1].alias(), result.Delta!.alias());
        }
        else
        {
            var interpretable = InterpretableEmbeddings.ConfigureInterpretableEmbeddingLayer(model, "text.embedding");
            try
            {
                var embeddings = interpretable.IndicesToEmbeddings(q1);
                var baseline = interpretable.IndicesToEmbeddings(reference);
                using var result = new IntegratedGradients(model).Attribute(Inputs.Of(image, embeddings), new IntegratedGradientsOptions
                {
                    Baselines = new BaselineValue[] { 0.0, baseline },
                    Target = answerIndex,
                    AdditionalForwardArgs = [qLen1],
                    Steps = steps,
                    ReturnConvergenceDelta = true,
                    Progress = progress,
                }, cancellationToken);
                (imageAttribution, wordAttribution, delta) = (result[0].alias(), result[1].alias(), result.Delta!.alias());
            }
            finally
            {
                InterpretableEmbeddings.RemoveInterpretableEmbeddingLayer(model, interpretable);
            }
        }

        var perToken = wordAttribution.sum(dim: 2).squeeze(0);
        var explanation = new VqaExplanation(
            question,
            tokens,
            answerIndex < AnswerWords.Count ? AnswerWords[(int)answerIndex] : $"#{answerIndex}",
            answerIndex,
            probability.item<float>(),
            logits.squeeze(0).cpu().data<float>().ToArray(),
            perToken.cpu().data<float>().ToArray(),
            wordAttribution.sum().item<float>(),
            imageAttribution.sum().item<float>(),
            delta.item<float>(),
            imageAttribution.squeeze(0).detach().MoveToOuterDisposeScope());
        return explanation;
    }
}
