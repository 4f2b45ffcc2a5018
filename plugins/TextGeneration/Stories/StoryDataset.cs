using System.Globalization;

namespace Captum.Plugins.TextGeneration.Stories;

/// <summary>
/// The <c>stories</c> dataset of the <c>story</c> model: generated stories (<see cref="StoryGenerator"/>) with their
/// question as the prompt and the place as the true answer, the same for the same seed on every machine. Example
/// <c>k</c> is story <c>k</c> of the seed's stream. The shipped model was trained on stream 1 and checked on stream 2
/// (docs/llm.md); the default seed 0 gives stories it has not seen.
/// </summary>
public sealed class StoryDataset : IExampleDatasetProvider
{
    /// <inheritdoc />
    public string Name => "stories";

    /// <inheritdoc />
    public string Description => "Generated stories of people moving between places, each with the question \"where is X ?\" and its answer; the supporting sentence is an annotation.";

    /// <inheritdoc />
    public string ModelName => "story";

    /// <inheritdoc />
    public int DefaultCount => 100;

    /// <inheritdoc />
    /// <remarks>No settings are taken; a setting is refused, naming it.</remarks>
    public IExampleDataset Open(ExampleDatasetOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var count = options.CheckedCount(Name, DefaultCount);

        return new Opened(options.Seed, count);
    }

    private sealed class Opened(long seed, int count) : IExampleDataset
    {
        public int Count => count;

        public DatasetExample Get(int index)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(index);
            ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, count);
            var story = StoryGenerator.Generate(seed, index);
            return new DatasetExample(
                string.Create(CultureInfo.InvariantCulture, $"story-{seed}-{index}"),
                new Dictionary<string, RawInputValue> { [StoryAnswerModel.PromptInput] = story.Prompt },
                story.Answer,
                new Dictionary<string, string>
                {
                    ["person"] = story.Person,
                    ["sentences"] = story.Sentences.Count.ToString(CultureInfo.InvariantCulture),
                    ["supportingFact"] = story.Sentences[story.SupportingFact],
                });
        }

        public void Dispose()
        {
        }
    }
}
