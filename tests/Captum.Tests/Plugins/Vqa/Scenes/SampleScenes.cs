using System.Text.Json;
using Captum.TestData;

namespace Captum.Tests.Plugins.Vqa.Scenes;

/// <summary>The scenes that ship in samples/scenes (the demo's), from their scenes.json.</summary>
internal static class SampleScenes
{
    private static readonly Lazy<IReadOnlyList<SampleScene>> Scenes = new(Read);

    /// <summary>samples/scenes/scenes.json.</summary>
    public static string Manifest => Path.Combine(SharedData.RepositoryRoot(), "samples", "scenes", "scenes.json");

    /// <summary>Every sample scene, in the manifest's order.</summary>
    public static IReadOnlyList<SampleScene> All => Scenes.Value;

    private static IReadOnlyList<SampleScene> Read()
    {
        using var document = JsonDocument.Parse(File.ReadAllText(Manifest));
        var folder = Path.GetDirectoryName(Manifest)!;
        return document.RootElement.GetProperty("scenes").EnumerateArray().Select(s => new SampleScene(
            Path.Combine(folder, s.GetProperty("image").GetString()!),
            s.GetProperty("seed").GetInt64(),
            s.GetProperty("index").GetInt32(),
            s.GetProperty("questions").EnumerateArray().Select(q => (q.GetProperty("question").GetString()!, q.GetProperty("answer").GetString()!)).ToList())).ToList();
    }
}

/// <summary>A sample scene: its PNG file, where it comes from, and its questions with their answers.</summary>
internal sealed record SampleScene(string Image, long Seed, int Index, IReadOnlyList<(string Question, string Answer)> Questions);
