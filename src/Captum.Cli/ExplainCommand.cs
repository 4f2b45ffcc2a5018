using System.CommandLine;
using System.Globalization;
using Captum.Explain;
using Captum.Explain.Reports;
using Captum.Explain.Results;
using Captum.Hosting;
using Captum.Plugins;

namespace Captum.Cli;

/// <summary>
/// <c>captum explain</c>: explains one example of any loaded model by its provider's name, with one or several
/// methods, and writes report.html (<see cref="ExplanationReport"/>) and result.json (<see cref="ExplanationResultDocument"/>),
/// as every explaining command does. The model's files are options named as its provider names them, its raw inputs
/// <c>--input NAME=VALUE</c>, so the command names no plugin.
/// </summary>
internal static class ExplainCommand
{
    private static readonly string[] OwnOptions = ["model", "input", "setting", "method", "steps", "internal-batch-size", "target", "baseline", "out", "json", "plugins", "help"];

    public static Command Create(PluginHost host, TextWriter output, TextWriter error)
    {
        var model = new Option<string>("--model") { Description = "The model, by its provider's name (captum plugins lists them).", Required = true };
        var input = new Option<string[]>("--input") { Description = "A raw input of the model as NAME=VALUE (repeatable), e.g. image=scene.png, question=what color is the circle.", Required = true };
        var setting = new Option<string[]>("--setting") { Description = "A provider setting as NAME=VALUE (repeatable), e.g. image-size=448." };
        var method = new Option<string[]>("--method") { Description = $"The explanation methods (repeatable or comma-separated; shown side by side): {string.Join(", ", host.ExplanationStrategies.Names)}." };
        var steps = new Option<int>("--steps") { Description = "Integration steps of path methods.", DefaultValueFactory = _ => new ExplanationOptions().Steps };
        var internalBatchSize = new Option<int?>("--internal-batch-size") { Description = "At most this many expanded examples per pass; default: the method's." };
        var target = new Option<string?>("--target") { Description = "The class to explain, by label or index; default: the predicted one." };
        var baseline = new Option<string>("--baseline") { Description = $"The baselines: {BaselineChoice.Described}", DefaultValueFactory = _ => BaselineChoice.Model.Name };
        var outFolder = new Option<string>("--out") { Description = "The output folder: report.html, and result.json with --json.", Required = true };
        var json = new Option<bool>("--json") { Description = "Also write result.json (ExplanationResultDocument: the answer, the contributions, the delta, per method)." };
        var command = new Command("explain", "Explain one example of any loaded model with one or several methods: the answer, each input's contribution, report.html and, with --json, result.json.")
        {
            model, input, setting, method, steps, internalBatchSize, target, baseline, outFolder, json,
        };

        var fileOptions = new ModelFileOptions(host, command, OwnOptions);

        command.SetAction((parse, commandLineToken) => Task.FromResult(Fail.Cancellable(error, "explain", commandLineToken, cancellationToken =>
        {
            CaptumCli.WarnAboutFailures(host, error);
            var provider = host.GetModelProvider(parse.GetValue(model)!);
            var strategies = Methods(host.ExplanationStrategies, parse.GetValue(method));
            var inputs = NameValuePairs.Parse(parse.GetValue(input), "input");
            var settings = NameValuePairs.Parse(parse.GetValue(setting), "setting");
            var stepCount = parse.GetValue(steps);
            if (stepCount is < 1 or > Captum.Attr.IntegratedGradientsOptions.MaxSteps)
            {
                throw new ArgumentException($"--steps must be from 1 to {Captum.Attr.IntegratedGradientsOptions.MaxSteps}, not {stepCount}.");
            }

            if (parse.GetValue(internalBatchSize) is < 1)
            {
                throw new ArgumentException($"--internal-batch-size must be at least 1, not {parse.GetValue(internalBatchSize)}.");
            }

            var baselineChoice = BaselineChoice.Parse(parse.GetValue(baseline), "--baseline");
            var given = fileOptions.Given(parse);
            var files = provider.Files.Where(f => given.ContainsKey(f.Name)).ToDictionary(f => f.Name, f => given[f.Name], StringComparer.Ordinal);
            if (provider.Files.FirstOrDefault(f => f.Required && !files.ContainsKey(f.Name)) is { } missing)
            {
                throw new ArgumentException($"--{missing.Name} is required by the {provider.Name} model: {missing.Description}.");
            }

            Captum.Plugins.OutputFolder.Check("out", parse.GetValue(outFolder)!, parse.GetValue(json) ? ["report.html", "result.json"] : ["report.html"]);
            var outPath = Path.GetFullPath(parse.GetValue(outFolder)!);

            foreach (var (name, path) in files)
            {
                if (!File.Exists(path) && !Directory.Exists(path))
                {
                    throw new ArgumentException($"--{name}: not found: {Path.GetFullPath(path)}", name);
                }
            }

            using var scope = TorchSharp.torch.NewDisposeScope();
            using var loaded = provider.Load(files, settings);
            CheckInputs(loaded, inputs);
            var prepared = baselineChoice.Apply(loaded.Prepare(inputs));
            var options = new ExplanationOptions
            {
                Steps = stepCount,
                InternalBatchSize = parse.GetValue(internalBatchSize),
                Target = parse.GetValue(target) is { } t ? TargetIndex(loaded, t) : null,
            };

            var explanations = new List<(string Method, Explanation Explanation)>();
            try
            {
                foreach (var strategy in strategies)
                {
                    error.WriteLine($"explain: {strategy.Name} (Ctrl+C cancels)");
                    explanations.Add((strategy.Name, strategy.Explain(loaded, prepared, options, cancellationToken)));
                    explanations[^1].Explanation.RequireFinite(strategy.Name);
                    if (explanations[^1].Explanation.MemoryBudgetOverrun is { } overrun)
                    {
                        error.WriteLine($"captum: warning: {strategy.Name}: {overrun.Message}; smaller inputs (a model setting such as image-size) need less.");
                    }
                }

                Write(output, loaded, explanations);
                var image = loaded.RawInputs.FirstOrDefault(r => r.Kind == RawInputKind.ImageFile) is { } i ? inputs[i.Name] : string.Empty;
                var question = string.Join(" | ", loaded.RawInputs.Where(r => r.Kind == RawInputKind.Text).Select(r => inputs[r.Name]));
                var report = new ExplanationReport($"{loaded.Name}: {string.Join(", ", inputs.Select(p => $"{p.Key}={p.Value}"))}");
                report.Add(question.Length > 0 ? question : string.Join(", ", inputs.Values), explanations, labels: loaded.Labels);
                Directory.CreateDirectory(outPath);
                report.Save(Path.Combine(outPath, "report.html"));
                if (parse.GetValue(json))
                {
                    var result = ExplanationQuestionResult.Of(image, question, null, explanations);
                    var document = new ExplanationResultDocument(loaded.Name, image.Length > 0 ? image : null, stepCount, strategies[0].Name, strategies.Select(s => s.Name).ToList(), [result], []) { Baseline = baselineChoice.Name };
                    File.WriteAllText(Path.Combine(outPath, "result.json"), document.ToJson());
                }

                output.WriteLine($"Wrote {Path.Combine(outPath, "report.html")}{(parse.GetValue(json) ? " and result.json" : string.Empty)}");
                if (!parse.GetValue(json) && ExplanationResultDocument.StaleFileWarning(outPath) is { } stale)
                {
                    error.WriteLine(stale);
                }

                return 0;
            }
            finally
            {
                foreach (var (_, e) in explanations)
                {
                    e.Dispose();
                }

                foreach (var tensor in prepared.Inputs)
                {
                    tensor.Dispose();
                }
            }
        })));
        return command;
    }

    private static List<IExplanationStrategy> Methods(ExplanationStrategyRegistry registry, string[]? values)
    {
        var names = (values ?? []).SelectMany(v => v.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).Distinct(StringComparer.Ordinal).ToList();
        if (names.Count == 0)
        {
            names.Add("layer-ig");
        }

        return names.Select(n => registry.Find(n) ?? throw new ArgumentException($"--method: no method '{n}'; the methods are {string.Join(", ", registry.Names)}.")).ToList();
    }

    private static void CheckInputs(IInterpretableModel model, IReadOnlyDictionary<string, string> inputs)
    {
        var names = model.RawInputs.Select(r => r.Name).ToList();
        if (inputs.Keys.FirstOrDefault(k => !names.Contains(k, StringComparer.Ordinal)) is { } unknown)
        {
            throw new ArgumentException($"--input: the {model.Name} model has no input '{unknown}'; its inputs are {Describe(model)}.");
        }

        if (names.FirstOrDefault(n => !inputs.ContainsKey(n)) is { } absent)
        {
            throw new ArgumentException($"--input: the {model.Name} model needs '{absent}'; its inputs are {Describe(model)}.");
        }

        foreach (var image in model.RawInputs.Where(r => r.Kind == RawInputKind.ImageFile))
        {
            var path = Path.GetFullPath(inputs[image.Name]);
            if (!File.Exists(path))
            {
                throw new ArgumentException(Directory.Exists(path)
                    ? $"--input {image.Name}: {path} is a folder, not an image file."
                    : $"--input {image.Name}: file not found: {path}");
            }
        }
    }

    private static string Describe(IInterpretableModel model) =>
        string.Join(", ", model.RawInputs.Select(r => $"{r.Name} ({r.Description})"));

    private static long TargetIndex(IInterpretableModel model, string target)
    {
        var byLabel = model.Labels.Select((l, i) => (l, i)).Where(x => string.Equals(x.l, target, StringComparison.Ordinal)).Select(x => (long?)x.i).FirstOrDefault();
        if (byLabel is { } index)
        {
            return index;
        }

        if (long.TryParse(target, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) && n >= 0 && n < model.Labels.Count)
        {
            return n;
        }

        throw new ArgumentException($"--target must be one of the {model.Name} model's {model.Labels.Count} labels or an index in [0, {model.Labels.Count - 1}], not '{target}'.");
    }

    private static string Label(IInterpretableModel model, long index) => index < model.Labels.Count ? model.Labels[(int)index] : $"#{index}";

    private static void Write(TextWriter output, IInterpretableModel model, IReadOnlyList<(string Method, Explanation Explanation)> explanations)
    {
        var first = explanations[0].Explanation;
        output.WriteLine($"Model: {model.Name}");
        output.WriteLine(first.LabelIndex == first.PredictedIndex
            ? string.Create(CultureInfo.InvariantCulture, $"Predicted answer: {first.Label} (probability {first.Probability:0.####})")
            : string.Create(CultureInfo.InvariantCulture, $"Explained answer: {first.Label} (probability {first.Probability:0.####}), the --target; predicted answer: {Label(model, first.PredictedIndex)}"));
        foreach (var (name, e) in explanations)
        {
            var prefix = explanations.Count > 1 ? $"[{name}] " : string.Empty;
            foreach (var i in e.Inputs)
            {
                output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{prefix}{i.Display.Name} contribution: {i.Contribution:G6}"));
            }

            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{prefix}Total contribution: {e.TotalContribution:G6}{(double.IsNaN(e.Delta) ? string.Empty : $"  (convergence delta {e.Delta:G3})")}"));
        }
    }
}
