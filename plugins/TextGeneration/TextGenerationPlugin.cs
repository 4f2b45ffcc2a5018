using Captum.Plugins.TextGeneration.Commands;
using Microsoft.Extensions.DependencyInjection;

namespace Captum.Plugins.TextGeneration;

/// <summary>
/// The text-generation plugin's entry point. It holds the GPT-2 model family the LLM attribution runs on
/// (<see cref="Model.Gpt2LMHeadModel"/>, Hugging Face folders by <see cref="Model.Gpt2Checkpoint"/>, GPT-2's BPE by
/// <see cref="Gpt2Tokenizer"/>), the story model it ships (<see cref="Stories.StoryModel"/>), offered to the host as the
/// <c>story</c> model (<see cref="StoryModelProvider"/>) with its <c>stories</c> dataset (<see cref="Stories.StoryDataset"/>),
/// so that captum explain, captum insights and captum attribute-dataset serve it, and its llm, llm-train and llm-eval commands.
/// </summary>
public sealed class TextGenerationPlugin : ICaptumPlugin
{
    /// <inheritdoc />
    public string Name => "text-generation";

    /// <inheritdoc />
    public string Description => "GPT-2 language models (Hugging Face's names and weights layout) for LLM attribution.";

    /// <inheritdoc />
    public void ConfigureServices(IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddSingleton<IInterpretableModelProvider, StoryModelProvider>();
        services.AddSingleton<IExampleDatasetProvider, Stories.StoryDataset>();
        services.AddSingleton<IPluginCommand, Commands.LlmCommand>();
        services.AddSingleton<IPluginCommand, LlmTrainCommand>();
        services.AddSingleton<IPluginCommand, LlmEvalCommand>();
    }
}
