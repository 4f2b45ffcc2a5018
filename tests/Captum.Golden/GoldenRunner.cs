using System.Globalization;
using TorchSharp;
using static TorchSharp.torch;

namespace Captum.Golden;

/// <summary>The outcome of one golden case.</summary>
internal enum GoldenStatus
{
    Passed,
    Failed,
    Skipped,
}

/// <summary>What happened to one case, with the reason when it did not pass.</summary>
internal sealed record GoldenOutcome(string Name, GoldenStatus Status, string Message, string? Method = null);

/// <summary>
/// Replays one Captum method's golden cases: builds the attribution object from the case, calls it, and
/// adds every mismatch to the list. One class per method family, in Methods/; the runner finds them all.
/// </summary>
internal interface IGoldenMethod
{
    /// <summary>The Captum method names (the case's "method") this class replays.</summary>
    IReadOnlyCollection<string> Methods { get; }

    /// <summary>The keyword arguments of "attribute" it understands (beyond baselines, target, additional_forward_args).</summary>
    IReadOnlyCollection<string> AttributeKeys { get; }

    /// <summary>Runs the case on <paramref name="model"/> (built, unwrapped) and records mismatches.</summary>
    void Run(GoldenCase c, nn.Module model, List<string> failures);
}

/// <summary>
/// Replays golden cases through CaptumSharp and compares with Captum's answers, using the tolerance of
/// shared/golden/README.md: |a - e| &lt;= 1e-4 + 1e-3 |e| for attributions, 1e-4 absolute for deltas.
/// </summary>
internal static class GoldenRunner
{
    private static readonly IReadOnlyDictionary<string, IGoldenMethod> Registry = typeof(GoldenRunner).Assembly.GetTypes()
        .Where(t => typeof(IGoldenMethod).IsAssignableFrom(t) && t is { IsAbstract: false, IsInterface: false })
        .Select(t => (IGoldenMethod)Activator.CreateInstance(t)!)
        .SelectMany(m => m.Methods.Select(name => (name, m)))
        .ToDictionary(p => p.name, p => p.m, StringComparer.Ordinal);

    private static readonly string[] CommonKeys = ["baselines", "target", "additional_forward_args"];

    /// <summary>The methods the runner can replay; cases of other methods are skipped with the method's name.</summary>
    public static IReadOnlyCollection<string> Implemented => (IReadOnlyCollection<string>)Registry.Keys;

    /// <summary>Runs every case file; never throws for a bad case (it fails instead).</summary>
    public static IReadOnlyList<GoldenOutcome> RunAll(IEnumerable<string> files) => files.Select(RunFile).ToList();

    /// <summary>Loads and runs one case file inside its own dispose scope.</summary>
    public static GoldenOutcome RunFile(string file)
    {
        var name = Path.GetFileNameWithoutExtension(file);
        using var scope = torch.NewDisposeScope();
        try
        {
            var (caseName, methodName) = GoldenCase.Peek(file);
            if (!Registry.TryGetValue(methodName, out var method))
            {
                return new GoldenOutcome(caseName, GoldenStatus.Skipped, $"method {methodName} is not replayed by this runner", methodName);
            }

            var c = GoldenCase.Load(file);
            var failures = Run(c, method);
            return failures.Count == 0
                ? new GoldenOutcome(c.Name, GoldenStatus.Passed, string.Empty, c.Method)
                : new GoldenOutcome(c.Name, GoldenStatus.Failed, string.Join("; ", failures), c.Method);
        }
        catch (Exception ex)
        {
            return new GoldenOutcome(name, GoldenStatus.Failed, $"{ex.GetType().Name}: {ex.Message.Split('\n')[0]}");
        }
    }

    private static List<string> Run(GoldenCase c, IGoldenMethod method)
    {
        var known = CommonKeys.Concat(method.AttributeKeys).ToHashSet(StringComparer.Ordinal);
        var unknown = c.Attribute.Select(kv => kv.Key).Where(k => !known.Contains(k)).ToList();
        if (unknown.Count > 0)
        {
            return [$"attribute arguments the {c.Method} runner does not understand: {string.Join(", ", unknown)}"];
        }

        var failures = new List<string>();
        method.Run(c, GoldenModels.Build(c), failures);
        return failures;
    }

    /// <summary>Elementwise |a - e| &lt;= atol + rtol |e|, with a reason when it does not hold.</summary>
    public static bool Close(Tensor actual, Tensor expected, double atol, double rtol, out string why)
    {
        var a = actual.detach().cpu().to_type(ScalarType.Float64);
        var e = expected.detach().cpu().to_type(ScalarType.Float64);
        if (!a.shape.SequenceEqual(e.shape))
        {
            why = $"shape {Format(a.shape)}, expected {Format(e.shape)}";
            return false;
        }

        var excess = (a - e).abs() - (atol + (rtol * e.abs()));
        var worst = excess.argmax().item<long>();
        var worstExcess = excess.flatten()[worst].item<double>();
        if (worstExcess <= 0 && !a.isnan().any().item<bool>())
        {
            why = string.Empty;
            return true;
        }

        why = string.Create(
            CultureInfo.InvariantCulture,
            $"element {worst} is {a.flatten()[worst].item<double>():G6}, expected {e.flatten()[worst].item<double>():G6} (max |diff| {(a - e).abs().max().item<double>():G3})");
        return false;
    }

    private static string Format(long[] shape) => "[" + string.Join(", ", shape) + "]";
}
