using System.Diagnostics;

using System.Globalization;
using Captum;
using Captum.Attr;
using Captum.Bench;
using Captum.Layers;
using Captum.Plugins.Vqa.Model;
using TorchSharp;
using static TorchSharp.torch;

// scripts/bench.sh WORKLOAD --threads N [--repeats R]   (gpt2-llm-fa also takes --no-cache, --long for a larger model and prompt, and --smoke for a tiny run that only checks it works)
// (Workloads named with underscores, as in captum_bench.py, are our side of scripts/bench-vs-captum.sh: SideBySide.cs.)
// Times CaptumSharp against "raw": the same forward and backward passes over the same expanded batches,
// written directly in TorchSharp. Ends with one machine-readable line.
// --return-large-blocks: as the captum command does with CAPTUM_RETURN_LARGE_BLOCKS=1 (docs/performance.md, Memory).
if (args.Contains("--return-large-blocks"))
{
    Captum.Runtime.NativeAllocator.ReturnLargeBlocks();
}

var workload = args.FirstOrDefault(a => !a.StartsWith("--", StringComparison.Ordinal)) ?? "mlp-steps";
if (workload == "influence-scale")
{
    torch.set_num_threads(Option("--threads", 1));
    return InfluenceScale.Run(Option("--checkpoints", 1), Option("--size", 0), args.SkipWhile(a => a != "--method").Skip(1).FirstOrDefault());
}

if (workload == "adaptive")
{
    torch.set_num_threads(Option("--threads", 1));
    return AdaptiveComparison.Run();
}

if (SideBySide.IsWorkload(workload))
{
    var n = Option("--threads", 1);
    torch.set_num_threads(n);
    torch.manual_seed(0);
    return SideBySide.Run(workload, n, workload switch
    {
        "resnet18_ig" => () => ResNet18Ig().Item1,
        "vqa_lig" => () => VqaLig().Item1,
        "resnet18_ig_raw" => () => ResNet18Ig().Item2,
        "vqa_lig_raw" => () => VqaLig().Item2,
        _ => null,
    });
}

var threads = Option("--threads", 1);
var repeats = Option("--repeats", workload == "vqa-lig" || args.Contains("--smoke") ? 1 : 3);
torch.set_num_threads(threads);
torch.manual_seed(0);

Func<(Action Captum, Action Raw, int Passes, int Steps)> build = workload switch
{
    "resnet18-ig" => ResNet18Ig,
    "vqa-lig" => VqaLig,
    "mlp-steps" => MlpSteps,
    "gpt2-llm-fa" => () => Gpt2LlmFa.Build(args.Contains("--no-cache"), args.Contains("--smoke"), args.Contains("--long")),
    _ => throw new ArgumentException($"unknown workload '{workload}': resnet18-ig, vqa-lig, mlp-steps, gpt2-llm-fa [--no-cache] [--long] [--smoke], adaptive or influence-scale"),
};
using var setup = torch.NewDisposeScope();
var (captum, raw, passes, steps) = build();

// Warm up both (allocator, kernels), then alternate so drift hits both alike.
Time(captum);
Time(raw);
var captumTimes = new List<double>();
var rawTimes = new List<double>();
long captumPeak = 0;
for (var r = 0; r < repeats; r++)
{
    rawTimes.Add(Time(raw).Seconds);
    var (seconds, peak) = Time(captum);
    captumTimes.Add(seconds);
    captumPeak = Math.Max(captumPeak, peak);
}

var s = Median(captumTimes);
var rawSeconds = Median(rawTimes);
var perStepUs = (s - rawSeconds) / steps * 1e6;
Console.WriteLine($"| workload | threads | passes | captum s | raw s | ratio | overhead/step us | peak RSS MB |");
Console.WriteLine($"| --- | --- | --- | --- | --- | --- | --- | --- |");
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {workload} | {threads} | {passes} | {s:F3} | {rawSeconds:F3} | {s / rawSeconds:F3} | {perStepUs:F1} | {captumPeak / 1024.0:F0} |"));
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"workload={workload} threads={threads} seconds={s:F3} raw_seconds={rawSeconds:F3} ratio={s / rawSeconds:F3} peak_rss_mb={captumPeak / 1024.0:F0}"));
return 0;

int Option(string name, int fallback)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1], CultureInfo.InvariantCulture) : fallback;
}

static double Median(List<double> values)
{
    var sorted = values.Order().ToList();
    return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[(sorted.Count / 2) - 1] + sorted[sorted.Count / 2]) / 2;
}

static (double Seconds, long PeakKb) Time(Action run)
{
    GC.Collect();
    ProcessMemory.ResetPeak();
    var watch = Stopwatch.StartNew();
    using (torch.NewDisposeScope())
    {
        run();
    }

    watch.Stop();
    return (watch.Elapsed.TotalSeconds, ProcessMemory.PeakKb());
}

// The raw floor of Integrated Gradients: chunks of steps, scaled inputs, forward, select, backward, weighted sum.
static Tensor RawIntegratedGradients(Func<Tensor, Tensor> forwardSelect, Tensor x, Tensor baseline, int steps, int stepsPerPass)
{
    var (sizes, alphas) = Approximation.Parameters(IntegrationMethod.GaussLegendre, steps);
    var total = torch.zeros_like(x);
    var difference = x - baseline;
    for (var start = 0; start < steps; start += stepsPerPass)
    {
        var k = Math.Min(stepsPerPass, steps - start);
        using var chunk = torch.NewDisposeScope();
        var a = torch.tensor(alphas.AsSpan(start, k).ToArray(), x.dtype, x.device).reshape([k, .. Enumerable.Repeat(1L, (int)x.dim())]);
        var scaled = (baseline.unsqueeze(0) + (a * difference.unsqueeze(0))).reshape([k * x.shape[0], .. x.shape[1..]]).requires_grad_(true);
        var g = torch.autograd.grad([forwardSelect(scaled).sum()], [scaled])[0];
        var w = torch.tensor(sizes.AsSpan(start, k).ToArray(), x.dtype, x.device).reshape(k, 1);
        total.add_((g.reshape(k, -1) * w).sum(dim: 0).reshape(x.shape));
    }

    return total * difference;
}

(Action, Action, int, int) ResNet18Ig()
{
    var model = new ResNet18();
    model.eval();
    var x = torch.randn(1, 3, 224, 224);
    var baseline = torch.zeros_like(x);
    var ig = new IntegratedGradients(model);
    var options = new IntegratedGradientsOptions { Baselines = baseline, Target = 3, Steps = 50, InternalBatchSize = 10 };
    return (
        () => ig.Attribute(x, options).Dispose(),
        () => RawIntegratedGradients(s => model.call(s)[TensorIndex.Colon, 3], x, baseline, 50, 10),
        5,
        50);
}

(Action, Action, int, int) MlpSteps()
{
    var model = nn.Sequential(("0", nn.Linear(64, 128)), ("1", nn.Tanh()), ("2", nn.Linear(128, 128)), ("3", nn.Tanh()), ("4", nn.Linear(128, 10)));
    model.eval();
    var x = torch.randn(8, 64);
    var baseline = torch.zeros_like(x);
    var ig = new IntegratedGradients(model);

    // One step per pass: 1000 forward and backward passes, so per-pass overhead dominates.
    var options = new IntegratedGradientsOptions { Baselines = baseline, Target = 3, Steps = 1000, InternalBatchSize = 8 };
    return (
        () => ig.Attribute(x, options).Dispose(),
        () => RawIntegratedGradients(s => model.call(s)[TensorIndex.Colon, 3], x, baseline, 1000, 1),
        1000,
        1000);
}

(Action, Action, int, int) VqaLig()
{
    const int length = 8;
    var net = new VqaNet(VqaConfig.Tutorial(15000), new ResNetLayer4(ResNetConfig.ResNet152(ResNetVariant.Caffe)));
    net.eval();
    var wrapper = new Captum.Attr.ModelInputWrapper(net);
    var image = torch.randn(1, 3, 224, 224);
    var q = torch.randint(1, 15000, [1, length], ScalarType.Int64);
    var qLen = torch.tensor(new long[] { length });
    var reference = torch.zeros(1, length, ScalarType.Int64);
    var lig = new LayerIntegratedGradients(wrapper, new LayerReference[] { "input_maps.v", "module.text.embedding" });
    var options = new LayerIntegratedGradientsOptions
    {
        Baselines = new BaselineValue[] { 0.0, reference },
        Target = 7,
        AdditionalForwardArgs = [qLen],
        Steps = 30,
        InternalBatchSize = 10,
    };

    void Raw()
    {
        const int steps = 30, perPass = 10;
        var (sizes, alphas) = Approximation.Parameters(IntegrationMethod.GaussLegendre, steps);
        var embedding = net.Text.EmbeddingLayer;
        Tensor qEmb, refEmb;
        using (torch.no_grad())
        {
            qEmb = embedding.call(q);
            refEmb = embedding.call(reference);
        }

        var imageTotal = torch.zeros_like(image);
        var textTotal = torch.zeros_like(qEmb);
        for (var start = 0; start < steps; start += perPass)
        {
            using var chunk = torch.NewDisposeScope();
            var a = torch.tensor(alphas.AsSpan(start, perPass).ToArray(), ScalarType.Float32);
            var scaledImage = (a.reshape(perPass, 1, 1, 1) * image).requires_grad_(true);
            var scaledText = (refEmb + (a.reshape(perPass, 1, 1) * (qEmb - refEmb))).requires_grad_(true);
            var hook = embedding.register_forward_hook((_, _, _) => scaledText);
            var output = net.call(scaledImage, q.repeat(perPass, 1), qLen.repeat(perPass));
            hook.remove();
            var grads = torch.autograd.grad([output[TensorIndex.Colon, 7].sum()], [scaledImage, scaledText]);
            var w = torch.tensor(sizes.AsSpan(start, perPass).ToArray(), ScalarType.Float32);
            imageTotal.add_((grads[0] * w.reshape(perPass, 1, 1, 1)).sum(dim: 0, keepdim: true));
            textTotal.add_((grads[1] * w.reshape(perPass, 1, 1)).sum(dim: 0, keepdim: true));
        }

        _ = imageTotal * image;
        _ = textTotal * (qEmb - refEmb);
    }

    return (() => lig.Attribute(Inputs.Of(image, q), options).Dispose(), Raw, 3, 30);
}
