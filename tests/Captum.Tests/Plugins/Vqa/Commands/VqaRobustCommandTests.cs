using System.Text.Json;
using Captum.Forward;
using Captum.Plugins.Vqa;
using Captum.Plugins.Vqa.Scenes;
using Captum.Plugins.Vqa.Tutorial;
using Captum.Robust;
using TorchSharp;
using Xunit;

namespace Captum.Tests.Plugins.Vqa.Commands;

/// <summary><c>captum vqa-robust</c>, run in-process by the captum command with the plugins bundled beside it.</summary>
public sealed class VqaRobustCommandTests
{
    private const string Question = "what shape is the red object";

    private static (int Code, string Output, string Error) Run(params string[] args) => BundledCli.Run(args);

    [Fact]
    public void VqaRobust_ShapeQuestion_ReportsWhatTheModelAnswersOnPgdPerturbedPixels()
    {
        using var folder = new TempFolder();

        var (code, output, error) = Run("vqa-robust", "--scene", "0", "--question", Question + "?", "--radii", "0,8", "--attack-steps", "10", "--steps", "8", "--out", folder.Path);

        Assert.True(code == 0, error);
        Assert.Contains("Report:", output, StringComparison.Ordinal);
        Assert.Contains("<svg", File.ReadAllText(Path.Combine(folder.Path, "report.html")), StringComparison.Ordinal);
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder.Path, "robust.json")));
        var asked = Assert.Single(json.RootElement.GetProperty("questions").EnumerateArray());
        Assert.Equal(Question, asked.GetProperty("question").GetString());
        var radii = asked.GetProperty("byRadius").EnumerateArray().ToList();
        Assert.Equal(2, radii.Count);

        // The same attack from the library: PGD in pixel space against the clean answer, on the cross entropy of the logits, as the command documents.
        using var scope = torch.NewDisposeScope();
        using var model = VqaModel.LoadDefault(new VqaModelOptions());
        var scene = new SceneGenerator().Generate(json.RootElement.GetProperty("seed").GetInt64(), 0);
        using var image = scene.ToImage();
        var (original, _) = model.Transform.Apply(image);
        var pixels = original.unsqueeze(0);
        var (tokens, length) = model.Encoder.Encode(Question, torch.CPU);
        object?[] words = [tokens.unsqueeze(0), length.unsqueeze(0)];
        var forward = ForwardFunction.FromDelegate(args => model.Forward.Invoke(ImageTransform.Normalize((torch.Tensor)args[0]!), args[1], args[2]));
        using var noGrad = torch.no_grad();
        var clean = torch.nn.functional.softmax(forward.Invoke(pixels, words[0], words[1]), 1)[0];
        var cleanAnswer = clean.argmax().item<long>();
        Assert.Equal(model.Labels[(int)cleanAnswer], radii[0].GetProperty("answer").GetString());
        Assert.Equal(clean[cleanAnswer].item<float>(), radii[0].GetProperty("probability").GetDouble(), 4);
        Assert.False(radii[0].GetProperty("flipped").GetBoolean());
        Assert.Equal(1.0, radii[0].GetProperty("cosineToClean").GetDouble(), 6);

        using var grad = torch.enable_grad();
        var radius = 8 / 255.0;
        using var attacked = new PGD(forward, AttackLosses.CrossEntropy, lowerBound: 0, upperBound: 1).Perturb(
            pixels,
            new PGDOptions { Radius = radius, StepSize = 2.5 * radius / 10, StepNum = 10, Target = cleanAnswer, AdditionalForwardArgs = words });
        using var noGradAgain = torch.no_grad();
        var perturbed = torch.nn.functional.softmax(forward.Invoke(attacked[0], words[0], words[1]), 1)[0];
        var answer = perturbed.argmax().item<long>();
        Assert.Equal(model.Labels[(int)answer], radii[1].GetProperty("answer").GetString());
        Assert.Equal(perturbed[answer].item<float>(), radii[1].GetProperty("probability").GetDouble(), 4);
        Assert.Equal(perturbed[cleanAnswer].item<float>(), radii[1].GetProperty("cleanAnswerProbability").GetDouble(), 4);
        Assert.Equal(answer != cleanAnswer, radii[1].GetProperty("flipped").GetBoolean());
        Assert.InRange(radii[1].GetProperty("largestChange").GetDouble(), 1e-4, radius + 1e-6);
    }

    [Theory]
    [InlineData("--radii", "0,x", "radii")]
    [InlineData("--radii", "4,8", "radii")]
    [InlineData("--radii", "0,300", "radii")]
    [InlineData("--radii", "0,0,8", "radii")]
    [InlineData("--radii", "0,8,4", "radii")]
    [InlineData("--out", "/proc/version", "out")]
    [InlineData("--window", "4", "window")]
    [InlineData("--attack-steps", "0", "attack-steps")]
    [InlineData("--question", "what color is the moon", "question")]
    public void VqaRobust_BadOption_ExitsTwoNamingIt(string option, string value, string name)
    {
        using var folder = new TempFolder();

        var (code, _, error) = option == "--out" ? Run("vqa-robust", option, value) : Run("vqa-robust", option, value, "--out", folder.Path);

        Assert.Equal(2, code);
        Assert.Contains("--" + name, error, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(folder.Path, "report.html")));
    }
}
