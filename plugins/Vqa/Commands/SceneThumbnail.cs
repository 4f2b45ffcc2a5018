using System.Net;
using Captum.Plugins.Vqa.Scenes;
using SixLabors.ImageSharp;

namespace Captum.Plugins.Vqa.Commands;

/// <summary>A scene as an inline PNG for the commands' HTML reports.</summary>
internal static class SceneThumbnail
{
    /// <summary>An <c>img</c> element showing <paramref name="scene"/> at <paramref name="size"/> pixels, pixelated.</summary>
    public static string Html(Scene scene, int size, string alt)
    {
        using var image = scene.ToImage();
        using var png = new MemoryStream();
        image.SaveAsPng(png);
        return $"<img src=\"data:image/png;base64,{Convert.ToBase64String(png.ToArray())}\" width=\"{size}\" height=\"{size}\" alt=\"{WebUtility.HtmlEncode(alt)}\" style=\"image-rendering: pixelated\" />";
    }
}
