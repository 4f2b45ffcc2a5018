using Captum.Plugins.Vqa.Commands;
using Microsoft.Extensions.DependencyInjection;

namespace Captum.Plugins.Vqa;

/// <summary>The VQA plugin's entry point: the VQA model, the scenes dataset, and the vqa, vqa-train, vqa-eval, vqa-scenes, vqa-influence, vqa-robust, vqa-tcav and vqa-words commands.</summary>
public sealed class VqaPlugin : ICaptumPlugin
{
    /// <inheritdoc />
    public string Name => "vqa";

    /// <inheritdoc />
    public string Description => "Captum's multimodal VQA tutorial model, and a VQA model of generated scenes trained with the project.";

    /// <inheritdoc />
    public void ConfigureServices(IServiceCollection services)
    {
        services.AddSingleton<IInterpretableModelProvider, VqaModelProvider>();
        services.AddSingleton<IExampleDatasetProvider, Scenes.SceneDataset>();
        services.AddSingleton<IPluginCommand, VqaCommand>();
        services.AddSingleton<IPluginCommand, VqaTrainCommand>();
        services.AddSingleton<IPluginCommand, VqaEvalCommand>();
        services.AddSingleton<IPluginCommand, VqaScenesCommand>();
        services.AddSingleton<IPluginCommand, VqaInfluenceCommand>();
        services.AddSingleton<IPluginCommand, VqaRobustCommand>();
        services.AddSingleton<IPluginCommand, VqaTcavCommand>();
        services.AddSingleton<IPluginCommand, VqaWordsCommand>();
    }
}
