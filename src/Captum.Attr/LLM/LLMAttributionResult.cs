using TorchSharp;
using static TorchSharp.torch;

namespace Captum.Attr;

/// <summary>
/// What an LLM attribution found: each input feature's attribution towards the whole answer and, when the method
/// gives them, towards each answer token, with the features and the answer tokens as readable text.
/// </summary>
/// <remarks>Python: <c>captum.attr.LLMAttributionResult</c> (<c>seq_attr</c>, <c>token_attr</c>, <c>input_tokens</c>, <c>output_tokens</c>, <c>seq_attr_dict</c>).</remarks>
public sealed class LLMAttributionResult : IDisposable
{
    /// <summary>Creates a result; it owns the tensors.</summary>
    /// <param name="sequenceAttribution">[input features].</param>
    /// <param name="tokenAttribution">[answer tokens, input features], or null.</param>
    /// <param name="inputTokens">The input features as text.</param>
    /// <param name="outputTokens">The answer's tokens as text.</param>
    /// <param name="outputTokenIds">The answer's token ids.</param>
    /// <param name="stepScores">One per answer token, or null.</param>
    /// <param name="foilTokens">The contrastive foil's tokens as text, or null without a foil.</param>
    /// <param name="foilTokenIds">The foil's token ids, or null without a foil.</param>
    public LLMAttributionResult(
        Tensor sequenceAttribution,
        Tensor? tokenAttribution,
        IReadOnlyList<string> inputTokens,
        IReadOnlyList<string> outputTokens,
        IReadOnlyList<long> outputTokenIds,
        IReadOnlyList<LLMStepScore>? stepScores = null,
        IReadOnlyList<string>? foilTokens = null,
        IReadOnlyList<long>? foilTokenIds = null)
    {
        SequenceAttribution = sequenceAttribution ?? throw new ArgumentNullException(nameof(sequenceAttribution));
        TokenAttribution = tokenAttribution;
        InputTokens = inputTokens ?? throw new ArgumentNullException(nameof(inputTokens));
        OutputTokens = outputTokens ?? throw new ArgumentNullException(nameof(outputTokens));
        OutputTokenIds = outputTokenIds ?? throw new ArgumentNullException(nameof(outputTokenIds));
        if (stepScores is not null && stepScores.Count != OutputTokenIds.Count)
        {
            throw new ArgumentException($"stepScores has {stepScores.Count} entries for {OutputTokenIds.Count} answer tokens.", nameof(stepScores));
        }

        StepScores = stepScores;
        FoilTokens = foilTokens;
        FoilTokenIds = foilTokenIds;
    }

    /// <summary>Each input feature's attribution towards the whole answer, [input features]. Python: <c>seq_attr</c>.</summary>
    public Tensor SequenceAttribution { get; }

    /// <summary>Each input feature's attribution towards each answer token, [answer tokens, input features], or null when the method gives only the whole answer's. Python: <c>token_attr</c>.</summary>
    public Tensor? TokenAttribution { get; }

    /// <summary>The input features as text (template values, or tokens). Python: <c>input_tokens</c>.</summary>
    public IReadOnlyList<string> InputTokens { get; }

    /// <summary>The answer's tokens as text. Python: <c>output_tokens</c>.</summary>
    public IReadOnlyList<string> OutputTokens { get; }

    /// <summary>The answer's token ids.</summary>
    public IReadOnlyList<long> OutputTokenIds { get; }

    /// <summary>
    /// Per answer token, its probability and the entropy of the model's next-token distribution at that step, under
    /// the unperturbed prompt (and the answer's earlier tokens); null when not computed. Beyond Captum (Inseq's step
    /// scores <c>probability</c> and <c>entropy</c>).
    /// </summary>
    public IReadOnlyList<LLMStepScore>? StepScores { get; }

    /// <summary>The contrastive foil's tokens as text, when the attribution was contrastive (answer against foil); else null.</summary>
    public IReadOnlyList<string>? FoilTokens { get; }

    /// <summary>The contrastive foil's token ids, or null.</summary>
    public IReadOnlyList<long>? FoilTokenIds { get; }

    /// <summary>Each input feature's text with its attribution towards the whole answer; a repeated text keeps its last value, as Captum's. Python: <c>seq_attr_dict</c>.</summary>
    public IReadOnlyDictionary<string, double> SequenceAttributionByToken
    {
        get
        {
            var values = SequenceAttribution.cpu().to_type(ScalarType.Float64).data<double>().ToArray();
            var map = new Dictionary<string, double>(StringComparer.Ordinal);
            for (var i = 0; i < values.Length; i++)
            {
                map[InputTokens[i]] = values[i];
            }

            return map;
        }
    }

    /// <summary>Disposes the tensors.</summary>
    public void Dispose()
    {
        SequenceAttribution.Dispose();
        TokenAttribution?.Dispose();
    }
}

/// <summary>What the model thought at one answer step, under the unperturbed prompt.</summary>
/// <param name="Probability">The answer token's probability given the prompt and the answer's earlier tokens, 0 to 1.</param>
/// <param name="Entropy">The entropy, in nats, of the next-token distribution at that step: 0 (certain) to log V (uniform over V tokens).</param>
/// <remarks>Beyond Captum; Inseq's <c>probability</c> and <c>entropy</c> step functions.</remarks>
public readonly record struct LLMStepScore(double Probability, double Entropy);
