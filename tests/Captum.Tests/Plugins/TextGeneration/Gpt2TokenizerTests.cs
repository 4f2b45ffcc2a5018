using Captum.Plugins.TextGeneration;
using Xunit;

namespace Captum.Tests.Plugins.TextGeneration;

/// <summary>The end-of-sequence token of a Hugging Face folder's own BPE files.</summary>
public sealed class Gpt2TokenizerTests
{
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
