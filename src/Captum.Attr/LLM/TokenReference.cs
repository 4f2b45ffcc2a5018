using TorchSharp;
using static TorchSharp.torch;

namespace Captum.Attr;

/// <summary>A token given by its id or by its string, as Captum accepts both for baselines and skipped tokens.</summary>
/// <remarks>Converts implicitly from <see cref="int"/>, <see cref="long"/> and <see cref="string"/>.</remarks>
public readonly record struct TokenReference
{
    private TokenReference(long? id, string? token) => (Id, Token) = (id, token);

    /// <summary>The id, when given by id.</summary>
    public long? Id { get; }

    /// <summary>The token string, when given by string.</summary>
    public string? Token { get; }

    /// <summary>A token by id.</summary>
    public static implicit operator TokenReference(long id) => new(id, null);

    /// <summary>A token by id.</summary>
    public static implicit operator TokenReference(int id) => new(id, null);

    /// <summary>A token by its string.</summary>
    public static implicit operator TokenReference(string token) => new(null, token ?? throw new ArgumentNullException(nameof(token)));

    /// <summary>The id, looking a token string up in <paramref name="tokenizer"/>.</summary>
    /// <exception cref="ArgumentException">The tokenizer has no such token (see <see cref="ITextTokenizer.ConvertTokensToIds"/>).</exception>
    public long Resolve(ITextTokenizer tokenizer)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        return Id ?? tokenizer.ConvertTokensToIds([Token!])[0];
    }

    /// <summary>
    /// <see cref="Resolve(ITextTokenizer)"/> for the argument <paramref name="argument"/>: a string the tokenizer refuses
    /// is refused naming that argument. Captum (Hugging Face's <c>convert_tokens_to_ids</c>) would take it as the
    /// unknown token, which GPT-2 does not have, silently.
    /// </summary>
    internal long Resolve(ITextTokenizer tokenizer, string argument)
    {
        try
        {
            return Resolve(tokenizer);
        }
        catch (ArgumentException ex) when (Token is not null)
        {
            throw new ArgumentException($"{argument}: {this} is not a token of the tokenizer's vocabulary ({ErrorMessages.OneLine(ex)}).", argument, ex);
        }
    }

    /// <summary>The ids of <paramref name="tokens"/> (none when null), refusing a string that is no token naming <paramref name="argument"/>.</summary>
    internal static HashSet<long> ResolveAll(IReadOnlyList<TokenReference>? tokens, ITextTokenizer tokenizer, string argument) =>
        tokens is null ? [] : tokens.Select(t => t.Resolve(tokenizer, argument)).ToHashSet();

    /// <inheritdoc />
    public override string ToString() => Id?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? $"\"{Token}\"";
}
