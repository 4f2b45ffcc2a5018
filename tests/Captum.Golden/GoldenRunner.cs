using System.Globalization;
using System.Text.Json.Nodes;
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
/// Replays the cases of a method whose schema is its own (the LLM cases' GPT-2, tokenizer and text input; the
/// influence cases' checkpoints and training set): the class reads the parsed case file itself. In Methods/, beside
/// the <see cref="IGoldenMethod"/> classes; the runner finds them all.
/// </summary>
internal interface IGoldenFileMethod
{
    /// <summary>The Captum method names (the case's "method") this class replays.</summary>
    IReadOnlyCollection<string> Methods { get; }

    /// <summary>The keyword arguments of the case's "attribute" (or "call") it understands.</summary>
    IReadOnlyCollection<string> AttributeKeys { get; }

    /// <summary>Runs the case read from <paramref name="root"/> (the whole file) and records mismatches.</summary>
    void Run(JsonObject root, List<string> failures);
}

/// <summary>
/// Replays golden cases through CaptumSharp and compares with Captum's answers, using the tolerance of
/// shared/golden/README.md: |a - e| &lt;= 1e-4 + 1e-3 |e| for attributions, 1e-4 absolute for deltas.
/// </summary>
internal static class GoldenRunner
{
    private static readonly IReadOnlyDictionary<string, IGoldenMethod> Registry = Discover<IGoldenMethod>(m => m.Methods);

    private static readonly IReadOnlyDictionary<string, IGoldenFileMethod> FileRegistry = Discover<IGoldenFileMethod>(m => m.Methods);

    private static readonly string[] CommonKeys = ["baselines", "target", "additional_forward_args"];

    /// <summary>The methods the runner can replay; cases of other methods are skipped with the method's name.</summary>
    public static IReadOnlyCollection<string> Implemented => [.. Registry.Keys, .. FileRegistry.Keys];

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
            List<string> failures;
            if (FileRegistry.TryGetValue(methodName, out var fileMethod))
            {
                var root = GoldenCase.ReadRoot(file);
                failures = UnknownKeys(root["attribute"] as JsonObject ?? root["call"] as JsonObject ?? [], fileMethod.AttributeKeys, methodName);
                if (failures.Count == 0)
                {
                    fileMethod.Run(root, failures);
                }
            }
            else if (Registry.TryGetValue(methodName, out var method))
            {
                failures = Run(GoldenCase.Load(file), method);
            }
            else
            {
                return new GoldenOutcome(caseName, GoldenStatus.Skipped, $"method {methodName} is not replayed by this runner", methodName);
            }

            return failures.Count == 0
                ? new GoldenOutcome(caseName, GoldenStatus.Passed, string.Empty, methodName)
                : new GoldenOutcome(caseName, GoldenStatus.Failed, string.Join("; ", failures), methodName);
        }
        catch (Exception ex)
        {
            return new GoldenOutcome(name, GoldenStatus.Failed, $"{ex.GetType().Name}: {ex.Message.Split('\n')[0]}");
        }
    }

    private static List<string> Run(GoldenCase c, IGoldenMethod method)
    {
        var failures = UnknownKeys(c.Attribute, [.. CommonKeys, .. method.AttributeKeys], c.Method);
        if (failures.Count == 0)
        {
            method.Run(c, GoldenModels.Build(c), failures);
        }

        return failures;
    }

    /// <summary>A failure naming the call's keyword arguments outside <paramref name="known"/>; empty when there are none.</summary>
    private static List<string> UnknownKeys(JsonObject call, IReadOnlyCollection<string> known, string method)
    {
        var unknown = call.Select(kv => kv.Key).Where(k => !known.Contains(k, StringComparer.Ordinal)).ToList();
        return unknown.Count == 0 ? [] : [$"attribute arguments the {method} runner does not understand: {string.Join(", ", unknown)}"];
    }

    private static Dictionary<string, T> Discover<T>(Func<T, IReadOnlyCollection<string>> methods) => typeof(GoldenRunner).Assembly.GetTypes()
        .Where(t => typeof(T).IsAssignableFrom(t) && t is { IsAbstract: false, IsInterface: false })
        .Select(t => (T)Activator.CreateInstance(t)!)
        .SelectMany(m => methods(m).Select(name => (name, m)))
        .ToDictionary(p => p.name, p => p.m, StringComparer.Ordinal);

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
