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
    public LLMAttributionResult(Tensor sequenceAttribution, Tensor? tokenAttribution, IReadOnlyList<string> inputTokens, IReadOnlyList<string> outputTokens, IReadOnlyList<long> outputTokenIds)
    {
        SequenceAttribution = sequenceAttribution ?? throw new ArgumentNullException(nameof(sequenceAttribution));
        TokenAttribution = tokenAttribution;
        InputTokens = inputTokens ?? throw new ArgumentNullException(nameof(inputTokens));
        OutputTokens = outputTokens ?? throw new ArgumentNullException(nameof(outputTokens));
        OutputTokenIds = outputTokenIds ?? throw new ArgumentNullException(nameof(outputTokenIds));
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
