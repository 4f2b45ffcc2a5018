using System.Globalization;
using Captum;
using Captum.Attr;
using Captum.Forward;
using Captum.Layers;
using Captum.Plugins.Vqa;
using Captum.Plugins.Vqa.Model;
using Captum.Plugins.Vqa.Scenes;
using TorchSharp;
using static TorchSharp.torch;

namespace Captum.Bench;

/// <summary>
/// How many integration points adaptive integration needs to reach the convergence delta that Captum's default,
/// fixed 50-step Gauss-Legendre, reaches on the same examples.
/// </summary>
internal static class AdaptiveComparison
{
    public static int Run()
    {
        Console.WriteLine("| model | examples | GL-50 max abs delta | tolerance | adaptive points per example | mean | fixed points |");
        Console.WriteLine("| --- | --- | --- | --- | --- | --- | --- |");
        using (torch.NewDisposeScope())
        {
            torch.manual_seed(1);
            var mlp = nn.Sequential(("0", nn.Linear(64, 128)), ("1", nn.Tanh()), ("2", nn.Linear(128, 128)), ("3", nn.Tanh()), ("4", nn.Linear(128, 10)));
            mlp.eval();
            Compare("3-layer tanh MLP", new IntegratedGradients(mlp), torch.randn(8, 64), 3);
        }

        using (torch.NewDisposeScope())
        {
            torch.manual_seed(2);
            var resnet = new ResNet18();
            resnet.eval();
            Compare("ResNet-18 (random weights)", new IntegratedGradients(resnet), torch.randn(2, 3, 224, 224), 3);
        }

        using (torch.NewDisposeScope())
        {
            torch.manual_seed(3);
            var net = new VqaNet(new VqaConfig(40, 16, 32, 64, 24, 2, 12), new ResNetLayer4(new ResNetConfig([1, 1, 2, 1], 2, ResNetVariant.Caffe)));
            net.eval();
            var wrapper = new ModelInputWrapper(net);
            var lig = new LayerIntegratedGradients(wrapper, new LayerReference[] { "input_maps.v", "module.text.embedding" });
            var images = torch.randn(4, 3, 64, 64);
            var questions = torch.randint(1, 40, [4, 6], ScalarType.Int64);
            var lengths = torch.full(4, 6L, ScalarType.Int64);
            var baseline = new BaselineValue[] { 0.0, torch.zeros(1, 6, ScalarType.Int64) };
            using var fixedRule = lig.Attribute(Inputs.Of(images, questions), new LayerIntegratedGradientsOptions
            {
                Baselines = baseline, Target = 5, AdditionalForwardArgs = [lengths], Steps = 50, ReturnConvergenceDelta = true,
            });
            var reached = fixedRule.Delta!.abs().max().item<float>();
            var tolerance = Math.Max(reached, Floor(fixedRule.Layers.Select(l => l[0]).ToArray(), 2));
            using var adaptive = lig.Attribute(Inputs.Of(images, questions), new LayerIntegratedGradientsOptions
            {
                Baselines = baseline, Target = 5, AdditionalForwardArgs = [lengths], ReturnConvergenceDelta = true,
                Adaptive = new AdaptiveIntegration { Tolerance = tolerance, MaxSteps = 257 },
            });
            Report("VQA net, small caffe ResNet (random weights), LayerIG on image and embedding", 4, reached, tolerance, adaptive.StepsPerExample!);
        }

        using (torch.NewDisposeScope())
        {
            // The trained scenes model the plugin ships, on 8 questions of fresh scenes, explaining the right answer
            // with the tutorial's baselines (zero image, pad tokens), as captum vqa and vqa-eval do.
            var model = VqaModel.LoadDefault();
            var items = new SceneGenerator().GenerateMany(2025, 4).SelectMany(scene => scene.Questions.Take(2).Select(q => new SceneItem(scene, q))).ToList();
            using var batch = SceneBatch.Create(items, model.Encoder, model.AnswerIndices);
            var images = batch.Images.index_select(0, batch.ImageIndex);
            var lig = new LayerIntegratedGradients(model.Wrapper, model.AttributionLayers);
            var baseline = new BaselineValue[] { VqaModel.Baseline(images, ImageBaseline.Zero), torch.zeros_like(batch.Questions) };
            using var fixedRule = lig.Attribute(Inputs.Of(images, batch.Questions), new LayerIntegratedGradientsOptions
            {
                Baselines = baseline, Target = batch.Answers, AdditionalForwardArgs = [batch.Lengths], Steps = 50, ReturnConvergenceDelta = true,
            });
            var reached = fixedRule.Delta!.abs().max().item<float>();
            var tolerance = Math.Max(reached, Floor(fixedRule.Layers.Select(l => l[0]).ToArray(), 2));
            using var adaptive = lig.Attribute(Inputs.Of(images, batch.Questions), new LayerIntegratedGradientsOptions
            {
                Baselines = baseline, Target = batch.Answers, AdditionalForwardArgs = [batch.Lengths], ReturnConvergenceDelta = true,
                Adaptive = new AdaptiveIntegration { Tolerance = tolerance, MaxSteps = 257 },
            });
            Report("trained scenes VQA model (shipped), LayerIG on image and embedding", items.Count, reached, tolerance, adaptive.StepsPerExample!);
        }

        return 0;
    }

    private static void Compare(string name, IntegratedGradients ig, Tensor x, int target)
    {
        using var fixedRule = ig.Attribute(x, new IntegratedGradientsOptions { Target = target, Steps = 50, ReturnConvergenceDelta = true });
        var reached = fixedRule.Delta!.abs().max().item<float>();
        var tolerance = Math.Max(reached, Floor(fixedRule.Attributions, 1));
        using var adaptive = ig.Attribute(x, new IntegratedGradientsOptions
        {
            Target = target,
            Adaptive = new AdaptiveIntegration { Tolerance = tolerance, MaxSteps = 257 },
            ReturnConvergenceDelta = true,
            InternalBatchSize = 40,
        });
        Report(name, (int)x.shape[0], reached, tolerance, adaptive.StepsPerExample!);
    }

    /// <summary>
    /// A delta below float32 rounding of the attribution sum cannot be asked for: the floor is 1e-5 of the largest
    /// per-example total attribution (about the rounding of summing float32 values of that size).
    /// </summary>
    private static double Floor(IReadOnlyList<Tensor> attributions, int count)
    {
        var total = attributions.Take(count).Select(a => a.reshape(a.shape[0], -1).sum(dim: 1)).Aggregate((x, y) => x + y);
        return 1e-5 * total.abs().max().item<float>();
    }

    private static void Report(string name, int examples, double reached, double tolerance, IReadOnlyList<int> steps) =>
        Console.WriteLine(string.Create(
            CultureInfo.InvariantCulture,
            $"| {name} | {examples} | {reached:G3} | {tolerance:G3} | {string.Join(", ", steps)} | {steps.Average():F1} | 50 |"));
}
