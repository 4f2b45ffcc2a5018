using Captum.Plugins.TextGeneration;
using Xunit;

namespace Captum.Tests.Plugins.TextGeneration;

/// <summary>GPT-2's token strings as Hugging Face spells them, and the end-of-sequence token of a folder's own BPE files.</summary>
public sealed class Gpt2TokenizerTests
{
    private static readonly Gpt2Tokenizer Gpt2 = new();

    [Fact]
    public void ConvertIdsToTokens_EveryId_RoundTripsThroughConvertTokensToIds()
    {
        var ids = Enumerable.Range(0, (int)Gpt2Tokenizer.EndOfText + 1).Select(i => (long)i).ToList();

        var tokens = Gpt2.ConvertIdsToTokens(ids);

        Assert.Equal(ids.Count, tokens.Distinct().Count());
        Assert.Equal(ids, Gpt2.ConvertTokensToIds(tokens));
    }

    [Theory]
    [InlineData(" the", "Ġthe")]
    [InlineData("\n", "Ċ")]
    [InlineData("😀", "ðŁĺĢ")]
    [InlineData(" café", "ĠcafÃ©")]
    public void ConvertIdsToTokens_Text_IsSpelledByteByByteAsHuggingFaceSpellsIt(string text, string spelled)
    {
        // GPT-2's byte-to-character table: a space is Ġ, a newline Ċ, 😀's bytes F0 9F 98 80 are ð Ł ĺ Ģ, é's C3 A9 are Ã ©.
        var ids = Gpt2.Encode(text);

        Assert.Equal(spelled, string.Concat(Gpt2.ConvertIdsToTokens(ids)));
    }

    [Fact]
    public void ConvertTokensToIds_StringThatIsNoToken_IsRefusedNamingIt()
    {
        var ex = Assert.Throws<ArgumentException>(() => Gpt2.ConvertTokensToIds(["Ġthe", "<s>"]));

        Assert.Equal("tokens", ex.ParamName);
        Assert.Contains("\"<s>\"", ex.Message, StringComparison.Ordinal);
        Assert.Equal("ids", Assert.Throws<ArgumentException>(() => Gpt2.ConvertIdsToTokens([Gpt2Tokenizer.EndOfText + 1])).ParamName);
    }

    private static void WriteFiles(string folder, bool withEndOfText)
    {
        var entries = new List<string> { "\"a\": 0", "\"b\": 1", "\"ab\": 2" };
        if (withEndOfText)
        {
            entries.Add("\"<|endoftext|>\": 3");
        }

        File.WriteAllText(Path.Combine(folder, "vocab.json"), "{" + string.Join(", ", entries) + "}");
        File.WriteAllText(Path.Combine(folder, "merges.txt"), "#version: 0.2\na b\n");
    }

    [Fact]
    public void FromFolder_NonAsciiToken_IsSpelledAsItsVocabularyWritesItAndRoundTrips()
    {
        // vocab.json spells é (C3 A9) byte by byte, as "Ã©": the token string is that spelling, not the character.
        using var temp = new TempFolder();
        File.WriteAllText(Path.Combine(temp.Path, "vocab.json"), "{\"Ã\": 0, \"©\": 1, \"Ã©\": 2, \"<|endoftext|>\": 3}");
        File.WriteAllText(Path.Combine(temp.Path, "merges.txt"), "#version: 0.2\nÃ ©\n");
        var tokenizer = Gpt2Tokenizer.FromFolder(temp.Path);

        var ids = tokenizer.Encode("é");

        Assert.Equal([2L], ids);
        Assert.Equal(["Ã©"], tokenizer.ConvertIdsToTokens(ids));
        Assert.Equal([2L], tokenizer.ConvertTokensToIds(["Ã©"]));
    }

    [Fact]
    public void FromFolder_VocabularyWithEndOfText_HasItsId()
    {
        using var temp = new TempFolder();
        WriteFiles(temp.Path, withEndOfText: true);

        var tokenizer = Gpt2Tokenizer.FromFolder(temp.Path);

        Assert.Equal(3, tokenizer.EndOfSequenceTokenId);
        Assert.Equal([2L], tokenizer.Encode("ab"));
    }

    [Fact]
    public void FromFolder_VocabularyWithoutEndOfText_IsRefusedNamingCheckpointAndTheToken()
    {
        using var temp = new TempFolder();
        WriteFiles(temp.Path, withEndOfText: false);

        // Microsoft.ML.Tokenizers' byte-level BPE needs the token (its unknown token too): refused, naming the checkpoint.
        var ex = Assert.Throws<ArgumentException>(() => Gpt2Tokenizer.FromFolder(temp.Path));

        Assert.Equal("checkpoint", ex.ParamName);
        Assert.Contains("<|endoftext|>", ex.Message, StringComparison.Ordinal);
    }
}
