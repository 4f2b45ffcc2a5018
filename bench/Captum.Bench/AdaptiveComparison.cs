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
/// How many integration points adaptive integration (Romberg and Gauss-Kronrod rules) needs to reach the convergence
/// delta that Captum's default, fixed 50-step Gauss-Legendre, reaches on the same examples, and how far each method's
/// attributions are from a high-accuracy reference (many-point Gauss-Legendre), feature by feature: the delta alone
/// can cancel.
/// </summary>
internal static class AdaptiveComparison
{
    /// <summary>One attribution run: its attributions (per integrated tensor, [n, ...]), |delta| per example, and the points each example used (null: fixed).</summary>
    private sealed record Outcome(Tensor[] Attributions, float[] Deltas, IReadOnlyList<int>? Steps);

    /// <summary>Runs the method with fixed steps and rule, or adaptively when <paramref name="adaptive"/> is set.</summary>
    private delegate Outcome Method(int steps, AdaptiveIntegration? adaptive);

    public static int Run()
    {
        Console.WriteLine("| model | examples | tolerance | reference (GL points), max L1 of its attributions | GL-50: points, max abs delta, max L1 error | Romberg: points per example (mean), max abs delta, max L1 error | Gauss-Kronrod: points per example (mean), max abs delta, max L1 error | tolerance = GL-50's max L1 error, ceiling 1025: Romberg | the same: Gauss-Kronrod |");
        Console.WriteLine("| --- | --- | --- | --- | --- | --- | --- | --- | --- |");
        using (torch.NewDisposeScope())
        {
            torch.manual_seed(1);
            var mlp = nn.Sequential(("0", nn.Linear(64, 128)), ("1", nn.Tanh()), ("2", nn.Linear(128, 128)), ("3", nn.Tanh()), ("4", nn.Linear(128, 10)));
            mlp.eval();
            Compare("3-layer tanh MLP", 8, IntegratedGradientsMethod(new IntegratedGradients(mlp), torch.randn(8, 64), 3, 400), 1, 4096);
        }

        using (torch.NewDisposeScope())
        {
            torch.manual_seed(2);
            var resnet = new ResNet18();
            resnet.eval();
            Compare("ResNet-18 (random weights)", 2, IntegratedGradientsMethod(new IntegratedGradients(resnet), torch.randn(2, 3, 224, 224), 3, 32), 1, ReferenceSteps("ResNet", 1024));
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
            var method = LayerMethod(lig, Inputs.Of(images, questions), new LayerIntegratedGradientsOptions { Baselines = baseline, Target = 5, AdditionalForwardArgs = [lengths] });
            Compare("VQA net, small caffe ResNet (random weights), LayerIG on image and embedding", 4, method, 2, ReferenceSteps("VQA", 2048));
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
            var method = LayerMethod(lig, Inputs.Of(images, batch.Questions), new LayerIntegratedGradientsOptions { Baselines = baseline, Target = batch.Answers, AdditionalForwardArgs = [batch.Lengths] });
            Compare("trained scenes VQA model (shipped), LayerIG on image and embedding", items.Count, method, 2, ReferenceSteps("Scenes", 2048));
        }

        return 0;
    }

    /// <summary>The reference's points; CAPTUM_BENCH_REFERENCE_{name} overrides them (a large model's reference is the costly part).</summary>
    private static int ReferenceSteps(string name, int steps) =>
        int.TryParse(Environment.GetEnvironmentVariable("CAPTUM_BENCH_REFERENCE_" + name.ToUpperInvariant()), CultureInfo.InvariantCulture, out var s) ? s : steps;

    private static Method IntegratedGradientsMethod(IntegratedGradients ig, Tensor x, int target, int internalBatchSize) => (steps, adaptive) =>
    {
        var result = ig.Attribute(x, new IntegratedGradientsOptions
        {
            Target = target, Steps = steps, Adaptive = adaptive, ReturnConvergenceDelta = true, InternalBatchSize = internalBatchSize,
        });
        return new Outcome([result.Attribution], result.Delta!.abs().to_type(ScalarType.Float32).data<float>().ToArray(), result.StepsPerExample);
    };

    private static Method LayerMethod(LayerIntegratedGradients lig, Inputs inputs, LayerIntegratedGradientsOptions options) => (steps, adaptive) =>
    {
        var result = lig.Attribute(inputs, options with { Steps = steps, Adaptive = adaptive, ReturnConvergenceDelta = true, InternalBatchSize = 64 });
        return new Outcome(result.Layers.Select(l => l[0]).ToArray(), result.Delta!.abs().to_type(ScalarType.Float32).data<float>().ToArray(), result.StepsPerExample);
    };

    private static void Compare(string name, int examples, Method method, int floorTensors, int referenceSteps)
    {
        var reference = method(referenceSteps, null);
        var fixedRule = method(50, null);
        var reached = (double)fixedRule.Deltas.Max();
        var tolerance = Math.Max(reached, Floor(fixedRule.Attributions, floorTensors));
        var romberg = method(50, new AdaptiveIntegration { Tolerance = tolerance, MaxSteps = 257 });
        var kronrod = method(50, new AdaptiveIntegration { Tolerance = tolerance, MaxSteps = 257, Rule = AdaptiveRule.GaussKronrod });
        // The same per-feature accuracy as GL-50: the tolerance is GL-50's measured L1 error against the reference.
        var perFeature = Error(fixedRule, reference);
        var rombergPerFeature = method(50, new AdaptiveIntegration { Tolerance = perFeature, MaxSteps = 1025 });
        var kronrodPerFeature = method(50, new AdaptiveIntegration { Tolerance = perFeature, MaxSteps = 1025, Rule = AdaptiveRule.GaussKronrod });
        var scale = L1(reference.Attributions, reference.Attributions.Select(t => torch.zeros_like(t)).ToArray()).Max();
        Console.WriteLine(string.Create(
            CultureInfo.InvariantCulture,
            $"| {name} | {examples} | {tolerance:G3} | {referenceSteps}, {scale:G3} | 50, {reached:G3}, {Error(fixedRule, reference):G3} | {Describe(romberg, reference)} | {Describe(kronrod, reference)} | {Describe(rombergPerFeature, reference)} | {Describe(kronrodPerFeature, reference)} |"));
    }

    private static string Describe(Outcome run, Outcome reference) =>
        string.Create(CultureInfo.InvariantCulture, $"{string.Join(", ", run.Steps!)} ({run.Steps!.Average():F1}), {run.Deltas.Max():G3}, {Error(run, reference):G3}");

    /// <summary>The largest per-example L1 distance (summed over features and integrated tensors) to the reference.</summary>
    private static double Error(Outcome run, Outcome reference) => L1(run.Attributions, reference.Attributions).Max();

    private static double[] L1(Tensor[] a, Tensor[] b) =>
        a.Select((t, i) => (t.to_type(ScalarType.Float64) - b[i].to_type(ScalarType.Float64)).abs().reshape(t.shape[0], -1).sum(dim: 1))
            .Aggregate((x, y) => x + y).data<double>().ToArray();

    /// <summary>
    /// A delta below float32 rounding of the attribution sum cannot be asked for: the floor is 1e-5 of the largest
    /// per-example total attribution (about the rounding of summing float32 values of that size).
    /// </summary>
    private static double Floor(IReadOnlyList<Tensor> attributions, int count)
    {
        var total = attributions.Take(count).Select(a => a.reshape(a.shape[0], -1).sum(dim: 1)).Aggregate((x, y) => x + y);
        return 1e-5 * total.abs().max().item<float>();
    }
}
