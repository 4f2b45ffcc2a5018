using System.Diagnostics;
using System.Globalization;
using Captum.Attr;
using TorchSharp;
using static TorchSharp.torch;

namespace Captum.Bench;

/// <summary>
/// CaptumSharp's side of ../shared/bench/captum/captum_bench.py: the same workloads under the same names, timed by
/// the same protocol (one warm-up call, then one timed call) and reporting the same memory figure, the process's
/// peak resident set size since it started (Python's ru_maxrss, Linux's VmHWM), so that the two lines compare.
/// </summary>
internal static class SideBySide
{
    private static readonly string[] Workloads =
    [
        "resnet18_ig", "vqa_lig", "resnet18_conductance", "resnet18_occlusion", "resnet18_occlusion_ppe32", "resnet18_occlusion_auto",
        "gpt2_llm_fa", "gpt2_llm_fa_nocache", "resnet18_floor", "resnet18_floor32", "resnet18_forward50", "resnet18_ig_raw", "vqa_lig_raw",
        "resnet18_lig_layer3", "resnet18_lig_layer4", "resnet18_lig_layer3_noprefix", "resnet18_lig_layer4_noprefix",
    ];

    public static bool IsWorkload(string name) => Workloads.Contains(name);

    /// <summary>Runs <paramref name="name"/>; <paramref name="shared"/> builds the workloads Program.cs defines for its own table.</summary>
    public static int Run(string name, int threads, Func<Action>? shared)
    {
        using var setup = torch.NewDisposeScope();
        var attribute = shared?.Invoke() ?? name switch
        {
            "resnet18_conductance" => Conductance(),
            "resnet18_occlusion" => Occlusion(1),
            "resnet18_occlusion_ppe32" => Occlusion(32),
            "resnet18_occlusion_auto" => Occlusion(null),
            "gpt2_llm_fa" => Gpt2LlmFa.Build(noCache: false, smoke: false).Captum,
            "resnet18_floor" => Floor(1),
            "resnet18_floor32" => Floor(32),
            "resnet18_forward50" => Forward50(),
            "gpt2_llm_fa_nocache" => Gpt2LlmFa.Build(noCache: true, smoke: false).Captum,
            "resnet18_lig_layer3" => LayerIg("layer3", reusePrefix: true),
            "resnet18_lig_layer4" => LayerIg("layer4", reusePrefix: true),
            "resnet18_lig_layer3_noprefix" => LayerIg("layer3", reusePrefix: false),
            "resnet18_lig_layer4_noprefix" => LayerIg("layer4", reusePrefix: false),
            _ => throw new ArgumentException($"unknown side-by-side workload '{name}': {string.Join(", ", Workloads)}"),
        };

        Once(attribute);
        if (Environment.GetEnvironmentVariable("CAPTUM_BENCH_PROBE") == "1")
        {
            var info = GC.GetGCMemoryInfo();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"probe: after warm-up peak_rss_mb={ProcessMemory.PeakKb() / 1024.0:F0} gc_heap_mb={info.HeapSizeBytes / 1048576.0:F0} gc_committed_mb={info.TotalCommittedBytes / 1048576.0:F0} rss_mb={Environment.WorkingSet / 1048576.0:F0}"));
        }

        var watch = Stopwatch.StartNew();
        Once(attribute);
        watch.Stop();
        Console.WriteLine(string.Create(
            CultureInfo.InvariantCulture,
            $"{name} threads={threads} seconds={watch.Elapsed.TotalSeconds:F3} peak_rss_mb={ProcessMemory.PeakKb() / 1024.0:F0}"));
        return 0;
    }

    private static void Once(Action attribute)
    {
        using var scope = torch.NewDisposeScope();
        attribute();
    }

    private static ResNet18 Model()
    {
        torch.manual_seed(0);
        var model = new ResNet18();
        model.eval();
        return model;
    }

    /// <summary>
    /// The floor under the ResNet-18 workloads: the runtime, libtorch, the model and one forward pass without gradients
    /// of <paramref name="batch"/> images (32: the live set of one pass of resnet18_occlusion_ppe32).
    /// </summary>
    private static Action Floor(int batch)
    {
        var model = Model();
        var x = torch.rand(batch, 3, 224, 224);
        return () =>
        {
            using var noGrad = torch.no_grad();
            model.call(x).Dispose();
        };
    }

    /// <summary>
    /// 50 forward passes of ResNet-18 at batch 1 without gradients, each in its own dispose scope: the per-pass cost
    /// under resnet18_occlusion, to set beside PyTorch's own plain passes (docs/performance.md).
    /// </summary>
    private static Action Forward50()
    {
        var model = Model();
        var x = torch.rand(1, 3, 224, 224);
        return () =>
        {
            using var noGrad = torch.no_grad();
            for (var i = 0; i < 50; i++)
            {
                using var pass = torch.NewDisposeScope();
                model.call(x);
            }
        };
    }

    private static Action Conductance()
    {
        var model = Model();
        var x = torch.rand(1, 3, 224, 224);
        var conductance = new LayerConductance(model, "layer4");
        var options = new LayerConductanceOptions { Target = 3, Steps = 50, InternalBatchSize = 10 };
        return () => conductance.Attribute(x, options).Dispose();
    }

    /// <summary>
    /// LayerIntegratedGradients on a stage output of ResNet-18 with resnet18_ig's image, baseline, target and settings
    /// (50 steps, internal batch 10). <paramref name="reusePrefix"/> false forces today's pass on expanded inputs, so
    /// the "_noprefix" workloads give the figure to compare with (Captum's side has no such workload).
    /// </summary>
    private static Action LayerIg(string layer, bool reusePrefix)
    {
        var model = Model();
        var x = torch.randn(1, 3, 224, 224);
        var lig = new LayerIntegratedGradients(model, layer);
        var options = new LayerIntegratedGradientsOptions
        {
            Baselines = torch.zeros_like(x),
            Target = 3,
            Steps = 50,
            InternalBatchSize = 10,
            ReuseLayerPrefix = reusePrefix,
        };
        return () => lig.Attribute(x, options).Dispose();
    }

    /// <summary>
    /// Occlusion of resnet18_ig's image size; <paramref name="perturbationsPerEval"/> null leaves the choice to
    /// CaptumSharp (from the memory budget), the "_auto" workload, which Captum's side runs at its default of 1.
    /// </summary>
    private static Action Occlusion(int? perturbationsPerEval)
    {
        var model = Model();
        var x = torch.rand(1, 3, 224, 224);
        var occlusion = new Occlusion(model);
        var options = new OcclusionOptions
        {
            Target = 3,
            SlidingWindowShapes = new long[] { 3, 16, 16 },
            Strides = new long[] { 3, 8, 8 },
            PerturbationsPerEval = perturbationsPerEval,
        };
        return () => occlusion.Attribute(x, options).Dispose();
    }
}
