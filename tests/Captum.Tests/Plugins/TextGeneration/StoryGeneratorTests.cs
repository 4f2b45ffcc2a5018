using Captum.Plugins.TextGeneration.Stories;
using Xunit;

namespace Captum.Tests.Plugins.TextGeneration;

/// <summary>The generated stories: repeatable, and each one's answer and supporting fact are what the sentences say.</summary>
public sealed class StoryGeneratorTests
{
    private static readonly IReadOnlyList<Story> Stories = StoryGenerator.GenerateMany(5, 3000);

    [Fact]
    public void Generate_SameSeedAndIndex_GivesTheSameStoryWhateverElseIsGenerated()
    {
        var alone = StoryGenerator.Generate(5, 1234);

        Assert.Equal(Stories[1234].Prompt, alone.Prompt);
        Assert.Equal(Stories[1234].SupportingFact, alone.SupportingFact);
        Assert.NotEqual(Stories.Select(s => s.Prompt), StoryGenerator.GenerateMany(6, 3000).Select(s => s.Prompt));
    }

    [Fact]
    public void Generate_ManyStories_TheSupportingFactIsThePersonsLastMoveAndNamesTheAnswer()
    {
        foreach (var story in Stories)
        {
            var words = story.Sentences.Select(s => s.Split(' ')).ToList();
            Assert.InRange(story.Sentences.Count, StoryGenerator.MinSentences, StoryGenerator.MaxSentences);
            Assert.All(words, w => Assert.Equal(["to", "the"], w[2..4]));
            var moves = Enumerable.Range(0, words.Count).Where(i => words[i][0] == story.Person).ToList();
            Assert.Equal(moves[^1], story.SupportingFact);
            Assert.Equal(story.Answer, words[story.SupportingFact][4]);
            Assert.InRange(moves.Count, 1, 2);
            if (moves.Count == 2)
            {
                Assert.NotEqual(words[moves[0]][4], story.Answer);
            }

            Assert.EndsWith($"where is {story.Person} ?", story.Prompt, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Generate_ManyStories_PutTheSupportingFactInEveryPositionAndSomeDistractorMovesOfThePerson()
    {
        // "The last sentence" must not be a shortcut: for stories of 4 sentences each position holds the fact about a quarter of the time.
        var four = Stories.Where(s => s.Sentences.Count == 4).ToList();
        for (var position = 0; position < 4; position++)
        {
            Assert.InRange(four.Count(s => s.SupportingFact == position) / (double)four.Count, 0.2, 0.3);
        }

        var twice = Stories.Count(s => s.Sentences.Count(x => x.StartsWith(s.Person + " ", StringComparison.Ordinal)) == 2);
        Assert.InRange(twice / (double)Stories.Count, 0.15, 0.35);
    }

    [Fact]
    public void Template_FilledWithTheSentences_IsThePrompt()
    {
        var story = Stories[7];
        var input = new Captum.Attr.TextTemplateInput(story.Template, story.Sentences);

        Assert.Equal(story.Prompt, input.Prompt);
        Assert.Equal(story.Sentences.Count, input.FeatureCount);
    }
}
