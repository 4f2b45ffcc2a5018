using System.Globalization;
using System.Text.Json;
using Captum.Attr;
using Captum.Explain.Reports;
using Captum.Plugins.TextGeneration.Model;
using Captum.Plugins.TextGeneration.Stories;
using Captum.Runtime;
using Captum.Visualization;

namespace Captum.Plugins.TextGeneration.Commands;

/// <summary>
/// <c>captum llm</c>: which prompt tokens (or template values) a GPT-2 answer rests on, by LLMAttribution (or
/// LLMGradientAttribution for the layer methods), printed, drawn in report.html (Captum's token heat map with the step scores,
/// and the sequence bar chart) and, with --json, written to result.json.
/// </summary>
/// <remarks>
/// Defaults as Captum's: feature ablation towards the answer's log probability, baseline token id 0, no skipped
/// tokens, 25 greedy tokens when no target is given. The model is the story model the plugin ships
/// (<see cref="StoryModel"/>, docs/llm.md) or --checkpoint (a Hugging Face GPT-2 folder). Without --target, generation
/// stops at the end-of-sequence token of the folder's config.json (<c>eos_token_id</c>; the story model's <c>[eos]</c>),
/// else the tokenizer's, and the answer is explained without it. The sampling methods draw from a generator seeded
/// with --seed (0 by default), so a run repeats. One prompt per run.
/// </remarks>
public sealed class LlmCommand : IPluginCommand
{
    /// <inheritdoc />
    public string Name => "llm";

    /// <inheritdoc />
    public string Description => "Which words of a prompt a GPT-2 answer rests on (LLMAttribution), with a heat map report.";

    /// <inheritdoc />
    public IReadOnlyList<PluginCommandOption> Options { get; } =
    [
        new("prompt", "The prompt (its tokens are the features); or give --template and --value.", PluginOptionKind.Text),
        new("template", "A prompt template with {} slots, filled by the --value options (the values are the features).", PluginOptionKind.Text),
        new("value", "A template value, in slot order.", PluginOptionKind.Text) { Repeatable = true },
        new("target", "The answer to explain; default: the model's greedy answer.", PluginOptionKind.Text),
        new("foil", "A contrasting answer: attribute log p(answer) - log p(foil), why the answer rather than the foil.", PluginOptionKind.Text),
        new("method", "The attribution method; layer-ig, layer-gradient-x-activation and layer-gradient-shap attribute through the token embedding (--prompt only).", PluginOptionKind.Text, "feature-ablation") { AllowedValues = LlmMethods.Names },
        new("seed", "The seed of the sampling methods' draws (shapley-value-sampling, lime, kernel-shap, layer-gradient-shap): the same seed gives the same attributions.", PluginOptionKind.Integer, "0"),
        new("samples", "How many samples the sampling methods draw; default: each method's own (25; 5 for layer-gradient-shap).", PluginOptionKind.Integer),
        new("checkpoint", "A Hugging Face GPT-2 folder (config.json with model.safetensors or pytorch_model.bin; its tokenizer: vocab.json and merges.txt, or a story model's vocab.txt, else GPT-2's BPE); default: the story model the plugin ships.", PluginOptionKind.Folder),
        new("baseline-token", "The token id a removed prompt token becomes (--prompt only; a template's removed value is the empty string); default 0.", PluginOptionKind.Integer),
        new("max-new-tokens", "How many tokens to generate when no --target is given.", PluginOptionKind.Integer, "25"),
        new("steps", "Integration steps of layer-ig.", PluginOptionKind.Integer, "50"),
        new("top", "How many top attributed features to print.", PluginOptionKind.Integer, "5"),
        new("out", "The folder of report.html (and result.json).", PluginOptionKind.Folder, Path.Combine("out", "llm")),
        new("json", "Also write result.json.", PluginOptionKind.Flag),
        new("append-to", "Also add this explanation at the end of an existing report.html that CaptumSharp wrote (of vqa, explain or llm; scripts/demo.sh adds it to the VQA report).", PluginOptionKind.File),
        new("threads", "libtorch's thread count for this run (put back when it ends); default: libtorch's.", PluginOptionKind.Integer),
    ];

    /// <inheritdoc />
    /// <exception cref="ArgumentException">An option does not fit (no prompt or both prompt and template, no checkpoint, a bad number, a prompt too long to answer); the message starts with the option, e.g. <c>--max-new-tokens: </c>.</exception>
    public int Run(PluginCommandContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        try
        {
            return Explain(context);
        }
        catch (ArgumentException e) when (!e.Message.StartsWith("--", StringComparison.Ordinal) && OptionOf(e.ParamName, context.GetText("template") is not null) is { } option)
        {
            // The attribution classes and the checkpoint reader name their own arguments (input, target, Foil, values,
            // checkpoint): say which option gave it.
            throw ErrorMessages.Renamed(e, option, "--" + option);
        }
    }

    /// <summary>The option behind an argument the attribution classes name in their errors, or null.</summary>
    private static string? OptionOf(string? parameter, bool template) => parameter switch
    {
        "text" or "input" or "prompt" => template ? "template" : "prompt",
        "template" => "template",
        "values" => "value",
        "target" => "target",
        "Foil" => "foil",
        "baselines" => "baseline-token",
        "checkpoint" => "checkpoint",
        _ => null,
    };

    private static int Explain(PluginCommandContext context)
    {
        var prompt = context.GetText("prompt");
        var template = context.GetText("template");
        var values = context.GetTexts("value");
        if ((prompt is null) == (template is null))
        {
            throw new ArgumentException("--prompt: give either --prompt or --template (with --value), not both or neither.", "prompt");
        }

        if (prompt is not null && string.IsNullOrWhiteSpace(prompt))
        {
            throw new ArgumentException("--prompt: must not be empty.", "prompt");
        }

        if (template is not null && values.Count == 0)
        {
            throw new ArgumentException("--value: a template needs its values.", "value");
        }

        var baselineText = context.GetText("baseline-token");
        if (template is not null && baselineText is not null)
        {
            throw new ArgumentException("--baseline-token: a template's values have their own baselines (a removed value becomes the empty string); --baseline-token is for --prompt only.", "baseline-token");
        }

        var method = context.GetText("method")!;
        if (LlmMethods.GradientNames.Contains(method) && template is not null)
        {
            throw new ArgumentException($"--method: {method} attributes tokens; use --prompt, not --template.", "method");
        }

        var samples = context.GetText("samples") is null ? (int?)null : Positive(context, "samples");
        if (samples is not null && !LlmMethods.DefaultSamples.ContainsKey(method))
        {
            throw new ArgumentException($"--samples: {method} draws no samples; --samples is for {string.Join(", ", LlmMethods.DefaultSamples.Keys)}.", "samples");
        }

        var seed = context.GetInteger("seed");

        var checkpoint = context.GetText("checkpoint") ?? StoryModel.DefaultFolder;
        if (!Directory.Exists(checkpoint))
        {
            throw new ArgumentException($"--checkpoint: folder not found: {checkpoint}", "checkpoint");
        }

        var baseline = baselineText is null ? 0 : context.GetInteger("baseline-token");
        var maxNew = Positive(context, "max-new-tokens");
        var steps = Positive(context, "steps");
        var top = Positive(context, "top");
        var folder = context.GetText("out")!;
        OutputFolder.Check("out", folder, context.GetFlag("json") ? ["report.html", "result.json"] : ["report.html"]);
        var appendTo = context.GetText("append-to");
        if (appendTo is not null)
        {
            // Readable and written by CaptumSharp, and its folder writable (AppendTo locks a file beside it, writes another, then renames).
            OutputFolder.CheckFile("append-to", appendTo);

            // Not this run's own report, also by another path: through a symbolic link to --out or to the report.
            if (OutputFolder.IsSameFile(appendTo, Path.Combine(folder, "report.html")))
            {
                throw new ArgumentException($"--append-to: {appendTo} is this run's own report (--out's report.html); give another command's report.", "append-to");
            }

            try
            {
                HtmlReport.CheckAppendable(appendTo);
            }
            catch (ArgumentException e)
            {
                throw ErrorMessages.Renamed(e, "append-to", "--append-to");
            }
        }

        var target = context.GetText("target");
        if (target is not null && context.IsGiven("max-new-tokens"))
        {
            throw new ArgumentException("--max-new-tokens: applies only when no --target is given (the target is the answer; nothing is generated).", "max-new-tokens");
        }

        var foil = context.GetText("foil");
        var threads = context.GetText("threads") is null ? (int?)null : Positive(context, "threads");

        // libtorch's thread count is set for the work and put back after it, also when it fails: an in-process host
        // runs other commands after this one.
        return TorchRuntime.WithThreads(threads, Work);

        int Work()
        {
            using var scope = torch.NewDisposeScope();
            using var model = Gpt2Checkpoint.Load(checkpoint);
            if (baseline < 0 || baseline >= model.Config.VocabSize)
            {
                throw new ArgumentException($"--baseline-token: must be a token id from 0 to {model.Config.VocabSize - 1}, not {baseline}.", "baseline-token");
            }

            var tokenizer = TokenizerOf(checkpoint);
            var configEndOfSequence = Gpt2Checkpoint.ReadEndOfSequence(checkpoint);
            var endOfSequence = configEndOfSequence ?? tokenizer.EndOfSequenceTokenId;
            if (endOfSequence is < 0 || endOfSequence >= model.Config.VocabSize)
            {
                var source = configEndOfSequence is null
                    ? $"its tokenizer's end-of-sequence token id {endOfSequence} (its config.json gives no eos_token_id)"
                    : $"its config's eos_token_id {endOfSequence}";
                throw new ArgumentException($"--checkpoint: {source} is outside the model's {model.Config.VocabSize} tokens.", "checkpoint");
            }

            foreach (var (text, option) in new[] { (prompt, "prompt"), (template, "template"), (values.Count == 0 ? null : string.Join(" ", values), "value"), (target, "target"), (foil, "foil") })
            {
                if (text is not null && tokenizer.Encode(text).FirstOrDefault(id => id >= model.Config.VocabSize, -1) is var id and >= 0)
                {
                    throw new ArgumentException($"--checkpoint: its tokenizer gives --{option} the token id {id}, outside the model's {model.Config.VocabSize} tokens; the folder's tokenizer does not fit its model (a folder without vocab.json and merges.txt or vocab.txt is read with GPT-2's BPE).", "checkpoint");
                }
            }

            IInterpretableInput input = prompt is not null
                ? new TextTokenInput(prompt, tokenizer, baselines: baseline)
                : new TextTemplateInput(template!, values);
            if (method == "shapley-values" && input.FeatureCount > ShapleyValues.MaxFeatures)
            {
                throw new ArgumentException(
                    $"--method: shapley-values takes every order of the features (f! orders) and accepts at most {ShapleyValues.MaxFeatures}; {(template is null ? $"the --prompt has {input.FeatureCount} tokens" : $"--value gives {input.FeatureCount} values")}. Give a --template with at most {ShapleyValues.MaxFeatures} --value options, or use --method shapley-value-sampling.",
                    "method");
            }
            if (target is null)
            {
                RequireRoomToGenerate(model, tokenizer, input, template is null ? "prompt" : "template");
            }

            LLMTarget? answer = target is not null ? (LLMTarget?)target
                : endOfSequence is { } end ? AnswerBefore(model, tokenizer, input, end, maxNew, context.CancellationToken)
                : (LLMTarget?)null;
            LLMTarget? contrast = foil is null ? null : (LLMTarget?)foil;
            // MaxNewTokens only without a target: the answer generated above is one.
            using var result = LlmMethods.Attribute(
                method, model, tokenizer, input, answer, contrast, answer is null ? maxNew : null, steps, seed, samples, context.CancellationToken);

            var answerText = tokenizer.Decode(result.OutputTokenIds);
            var seqAttr = Floats(result.SequenceAttribution);
            var towards = Towards(answerText, foil);
            context.Output.WriteLine($"Answer: {answerText}");
            if (foil is not null)
            {
                context.Output.WriteLine($"Foil: {foil}");
            }

            context.Output.WriteLine($"Top attributed {(template is null ? "tokens" : "values")} ({method}, towards {towards}):");
            foreach (var i in Enumerable.Range(0, seqAttr.Length).OrderByDescending(i => seqAttr[i]).Take(top))
            {
                // The position tells repeated words apart (the question's "mary" from the story's).
                context.Output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  #{i,-3} {result.InputTokens[i],-20} {seqAttr[i],10:F4}"));
            }

            if (threads is not null)
            {
                context.Output.WriteLine($"Threads: {torch.get_num_threads()} (libtorch's, for this run)");
            }

            Directory.CreateDirectory(folder);
            var report = new HtmlReport($"LLM attribution: {answerText}")
                .AddParagraph($"Prompt: {prompt ?? template}")
                .AddParagraph($"Answer: {answerText}{(foil is null ? string.Empty : $"; foil: {foil}")}")
                .AddParagraph($"Method: {method}, towards {towards}; model: {checkpoint}");
            if (result.TokenAttribution is not null)
            {
                report.AddFigure(result.PlotTokenAttribution(), "Token attribution (rows: answer tokens; p: probability, H: entropy of the next token)");
            }

            // The step scores beside the heat map, or under the bars when there is no heat map.
            report.AddFigure(
                result.PlotSequenceAttribution(stepScores: result.TokenAttribution is null),
                result.TokenAttribution is null && result.StepScores is not null ? "Sequence attribution (under it, each answer token's p: probability, H: entropy of the next token)" : "Sequence attribution");
            var reportPath = Path.Combine(folder, "report.html");
            report.Save(reportPath);
            context.Output.WriteLine($"Report: {reportPath}");
            if (context.GetFlag("json"))
            {
                var json = new LlmResultJson(
                    prompt ?? template!,
                    method,
                    answerText,
                    foil,
                    result.InputTokens,
                    result.OutputTokens,
                    result.OutputTokenIds,
                    seqAttr,
                    result.TokenAttribution is { } t ? Floats(t).Chunk(seqAttr.Length).ToArray() : null,
                    result.StepScores?.Select(s => new LlmStepJson(s.Probability, s.Entropy)).ToList());
                var jsonPath = Path.Combine(folder, "result.json");
                File.WriteAllText(jsonPath, JsonSerializer.Serialize(json, new JsonSerializerOptions { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.CamelCase }));
                context.Output.WriteLine($"JSON: {jsonPath}");
            }

            if (appendTo is not null)
            {
                // Last: this run's own files are written whatever happens to another's report.
                try
                {
                    report.AppendTo(appendTo);
                }
                catch (ArgumentException e)
                {
                    throw ErrorMessages.Renamed(e, "append-to", "--append-to");
                }
                catch (IOException e)
                {
                    // Another run held the report's lock for all of HtmlReport.DefaultAppendWait.
                    throw new IOException($"--append-to: {e.Message}", e);
                }

                context.Output.WriteLine($"Added to: {appendTo}");
            }

            return 0;
        }
    }

    /// <summary>What the attributions explain: the answer's log probability, or with a foil the difference of the two.</summary>
    private static string Towards(string answer, string? foil) =>
        foil is null ? "the answer's log probability" : $"log p(answer) - log p(foil): why \"{answer.Trim()}\" rather than \"{foil.Trim()}\"";

    /// <summary>The folder's tokenizer: GPT-2's byte-level BPE from vocab.json and merges.txt, or a story model's vocab.txt, else GPT-2's own BPE.</summary>
    private static ITextTokenizer TokenizerOf(string folder) =>
        !File.Exists(Path.Combine(folder, "vocab.json")) && File.Exists(Path.Combine(folder, StoryTokenizer.VocabularyFile))
            ? StoryTokenizer.Load(folder)
            : Gpt2Tokenizer.FromFolder(folder);

    /// <summary>Checks, before generating, that the prompt leaves the model a position for the answer; the error names the option.</summary>
    private static void RequireRoomToGenerate(Gpt2LMHeadModel model, ITextTokenizer tokenizer, IInterpretableInput input, string option)
    {
        using var ids = input.ToModelInput(null, tokenizer);
        if (ids.shape[1] >= model.Config.Positions)
        {
            throw new ArgumentException(
                $"--{option}: the prompt has {ids.shape[1]} tokens, and the model reads at most {model.Config.Positions}: no position is left to generate an answer. Shorten the prompt or give --target.",
                option);
        }
    }

    /// <summary>The greedy answer of a model that ends answers with <paramref name="end"/> (its config's eos_token_id, else its tokenizer's end-of-sequence token), without it.</summary>
    private static LLMTarget AnswerBefore(Gpt2LMHeadModel model, ITextTokenizer tokenizer, IInterpretableInput input, long end, int maxNew, CancellationToken cancellationToken)
    {
        using var prompt = input.ToModelInput(null, tokenizer);
        var generated = LLMGeneration.Greedy(model, prompt, maxNew, end, cancellationToken);
        var answer = generated.TakeWhile(id => id != end).ToArray();
        if (answer.Length > 0)
        {
            return answer;
        }

        // Words the tokenizer does not know are read as its unknown token, as Captum's tokenizer reads them; an empty
        // answer then most likely comes from them, so the error points at the prompt.
        var unknown = tokenizer.UnknownTokenId is { } unk ? prompt.eq(unk).sum().item<long>() : 0;
        throw unknown > 0
            ? new ArgumentException($"--prompt: {unknown} of its tokens are words the tokenizer does not know (read as its unknown token, id {tokenizer.UnknownTokenId}), and the model answered with its end-of-sequence token (token id {end}) alone; use the model's words, or give the answer to explain with --target.", "prompt")
            : new ArgumentException($"--target: the model answered with its end-of-sequence token (token id {end}) alone; give the answer to explain with --target.", "target");
    }

    private static int Positive(PluginCommandContext context, string name)
    {
        var value = context.GetInteger(name);
        return value is >= 1 and <= int.MaxValue ? (int)value : throw new ArgumentException($"--{name}: must be a positive whole number, not {value}.", name);
    }

    private static float[] Floats(Tensor t) => t.detach().cpu().to_type(ScalarType.Float32).data<float>().ToArray();
}

/// <summary>result.json of <c>captum llm</c>.</summary>
internal sealed record LlmResultJson(
    string Prompt,
    string Method,
    string Answer,
    string? Foil,
    IReadOnlyList<string> InputTokens,
    IReadOnlyList<string> OutputTokens,
    IReadOnlyList<long> OutputTokenIds,
    float[] SeqAttr,
    float[][]? TokenAttr,
    IReadOnlyList<LlmStepJson>? StepScores);

/// <summary>One answer step's probability and next-token entropy.</summary>
internal sealed record LlmStepJson(double Probability, double Entropy);
