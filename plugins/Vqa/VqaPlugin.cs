using System.Globalization;
using Captum.Attr;
using Captum.Checkpoints;
using Captum.Explain;
using Captum.Forward;
using Captum.Layers;
using Captum.Plugins.Vqa.Model;
using Captum.Plugins.Vqa.Scenes;
using Captum.Plugins.Vqa.Tutorial;

namespace Captum.Plugins.Vqa;

/// <summary>The VQA plugin's entry point.</summary>
public sealed class VqaPlugin : ICaptumPlugin
{
    /// <inheritdoc />
    public string Name => "vqa";

    /// <inheritdoc />
    public string Description => "Captum's multimodal VQA tutorial model, and a VQA model of generated scenes trained with the project.";

    /// <inheritdoc />
    public void ConfigureServices(Microsoft.Extensions.DependencyInjection.IServiceCollection services)
    {
        Microsoft.Extensions.DependencyInjection.ServiceCollectionServiceExtensions.AddSingleton<IInterpretableModelProvider, VqaModelProvider>(services);
        Microsoft.Extensions.DependencyInjection.ServiceCollectionServiceExtensions.AddSingleton<IPluginCommand, Commands.VqaCommand>(services);
        Microsoft.Extensions.DependencyInjection.ServiceCollectionServiceExtensions.AddSingleton<IPluginCommand, Commands.VqaTrainCommand>(services);
        Microsoft.Extensions.DependencyInjection.ServiceCollectionServiceExtensions.AddSingleton<IPluginCommand, Commands.VqaEvalCommand>(services);
        Microsoft.Extensions.DependencyInjection.ServiceCollectionServiceExtensions.AddSingleton<IPluginCommand, Commands.VqaScenesCommand>(services);
    }
}
