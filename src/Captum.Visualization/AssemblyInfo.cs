namespace Captum.Visualization;

/// <summary>
/// Placeholder for Captum's visualization module (visualize_text, visualize_image_attr); the
/// port lands with the VQA plugin issue.
/// </summary>
internal static class VisualizationAssembly
{
}
