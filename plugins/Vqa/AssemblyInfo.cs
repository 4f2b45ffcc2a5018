namespace Captum.Plugins.Vqa;

/// <summary>Placeholder for the VQA plugin; the model port lands with the VQA plugin issue.</summary>
internal static class VqaAssembly
{
}
