using Captum.Plugins.TextGeneration.Stories;
using Xunit;

namespace Captum.Tests.Plugins.TextGeneration;

/// <summary>The story model's word-level tokenizer (Microsoft.ML.Tokenizers' WordPiece over whole words).</summary>
public sealed class StoryTokenizerTests
{
    private readonly StoryTokenizer tokenizer = new();

    [Fact]
    public void Encode_StoryPrompt_GivesEachWordsVocabularyIndex()
    {
        var prompt = "mary went to the garden . where is mary ?";

        var ids = tokenizer.Encode(prompt);

        Assert.Equal(prompt.Split(' ').Select(w => (long)StoryWords.Vocabulary.ToList().IndexOf(w)), ids);
        Assert.Equal(prompt.Split(' '), tokenizer.ConvertIdsToTokens(ids));
        Assert.Equal(ids, tokenizer.ConvertTokensToIds(prompt.Split(' ')));
    }

    [Fact]
    public void Encode_CapitalsAndPunctuationAgainstWords_GiveTheSameIds()
    {
        Assert.Equal(tokenizer.Encode("mary went to the garden . where is mary ?"), tokenizer.Encode("Mary went to the Garden. Where is Mary?"));
    }

    [Fact]
    public void Encode_WordOutsideTheVocabulary_IsUnknown()
    {
        var ids = tokenizer.Encode("bob went to the garden");

        Assert.Equal(StoryWords.Unknown, tokenizer.ConvertIdsToTokens(ids)[0]);
        Assert.Equal(tokenizer.ConvertTokensToIds([StoryWords.Unknown]), tokenizer.ConvertTokensToIds(["bob"]));
    }

    [Fact]
    public void Decode_AnswerAndEnd_LeavesTheSpecialTokensOut()
    {
        Assert.Equal("garden", tokenizer.Decode([.. tokenizer.Encode("garden"), tokenizer.EndId, tokenizer.PadId]));
        Assert.Equal([tokenizer.EndId], tokenizer.Encode(StoryWords.End));
    }

    [Fact]
    public void SaveThenLoad_VocabularyFile_GivesTheSameTokenizer()
    {
        using var folder = new TempFolder();

        tokenizer.Save(folder.Path);
        var loaded = StoryTokenizer.Load(folder.Path);

        Assert.Equal(tokenizer.Vocabulary, loaded.Vocabulary);
        Assert.Equal(tokenizer.Encode("john moved to the office ."), loaded.Encode("john moved to the office ."));
    }

    [Fact]
    public void Constructor_VocabularyWithoutEndToken_NamesVocabulary()
    {
        var error = Assert.Throws<ArgumentException>(() => new StoryTokenizer(["[pad]", "[unk]", "mary"]));

        Assert.Equal("vocabulary", error.ParamName);
        Assert.Contains("[eos]", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ConvertIdsToTokens_IdOutsideTheVocabulary_NamesIds()
    {
        Assert.Equal("ids", Assert.Throws<ArgumentException>(() => tokenizer.ConvertIdsToTokens([999])).ParamName);
    }
}
