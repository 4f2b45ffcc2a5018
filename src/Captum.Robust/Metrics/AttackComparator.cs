using Captum.Attr;
using Captum.Forward;
using Captum.Runtime;
using static TorchSharp.torch;

namespace Captum.Robust;

/// <summary>
/// Measures a model's robustness to a set of attacks or perturbations: a metric of the model's output (accuracy, a
/// loss, a confidence, or several at once) on the original inputs and on every attack's perturbed inputs, averaged
/// over attempts for random attacks with the best and worst attempt, per batch and as a running mean over batches.
/// </summary>
/// <typeparam name="TArguments">
/// What every <see cref="Evaluate"/> call passes to the metric and, through <c>withArguments</c>, to the attacks: the
/// batch's labels for instance (Python: the keyword arguments of <c>evaluate</c>). Use <c>object?</c> and pass null when
/// nothing is needed.
/// </typeparam>
/// <remarks>
/// <para>
/// Python: <c>captum.robust.AttackComparator(forward_func, metric, preproc_fn=None)</c> with <c>add_attack</c>,
/// <c>evaluate</c>, <c>summary</c> and <c>reset</c>. The metric takes the model's output on one batch (the rows of one
/// evaluation) and returns a tensor, a number, or several of them (<see cref="MetricValues"/>): a scalar per batch, or
/// one value per example (first dimension the batch). Per attack, the attempts' metrics are summarised element by
/// element with Captum's <c>Summarizer</c>: the mean, and with more than one attempt the min and max. The running
/// summary (<see cref="Summary"/>) averages each of them over the batch's first dimension, then over the batches
/// evaluated since construction or <see cref="Reset"/> (a mean of batch means, as Captum's, not weighted by size).
/// </para>
/// <para>
/// The results are keyed as Captum's: <c>"Original"</c> (<see cref="AttackComparison.OriginalKey"/>) for the
/// unperturbed inputs, then each attack's name; where Captum's <c>summary()</c> has <c>"X Mean Attempt"</c>,
/// <c>"X Min Attempt"</c> and <c>"X Max Attempt"</c>, the summary here has key X with <c>Mean</c>, <c>Min</c>, <c>Max</c>.
/// </para>
/// <para>
/// Inputs are tensors (Captum also takes raw inputs such as images for its preprocessing function; here the
/// preprocessing maps tensors to tensors). The forward function receives the (preprocessed) input tensors followed by
/// the additional forward arguments, as an attribution method's does, with gradients enabled as in Captum (so a
/// forward function may itself compute attributions). The comparator holds its running summary: dispose it. Its
/// methods may be called from several threads at once: evaluations run concurrently, each adding its batch to the
/// running summary in turn.
/// </para>
/// </remarks>
public sealed class AttackComparator<TArguments> : IDisposable
{
    private readonly AttackEvaluation evaluation;
    private readonly Func<Tensor, TArguments, MetricValues> metric;
    private readonly List<AttackEntry> attacks = [];
    private readonly List<(string Key, RunningSummary Summary)> running = [];

    // Guards the attacks and the running summary; the evaluations themselves run at once on several threads.
    private readonly Lock gate = new();

    /// <summary>Creates a comparator of <paramref name="forwardFunc"/>'s <paramref name="metric"/>.</summary>
    /// <param name="forwardFunc">The model or function evaluated. Python: <c>forward_func</c>.</param>
    /// <param name="metric">
    /// The metric of one evaluation's output, given the call's arguments: a tensor (a scalar, or one value or row of
    /// values per example), a number, or several (<see cref="MetricValues.Of"/>, <see cref="MetricValues.Named"/>).
    /// It may return new tensors or views; it must not modify the output, and must return the same kind of values
    /// every time. Python: <c>metric</c>.
    /// </param>
    /// <param name="preprocessing">
    /// Applied to the inputs (and, for attacks added with <c>applyBeforePreproc</c>, to the attacked inputs) before the
    /// model; none by default. It must not modify its argument. Python: <c>preproc_fn</c>.
    /// </param>
    public AttackComparator(ForwardFunction forwardFunc, Func<Tensor, TArguments, MetricValues> metric, Func<Inputs, Inputs>? preprocessing = null)
    {
        ArgumentNullException.ThrowIfNull(forwardFunc);
        ArgumentNullException.ThrowIfNull(metric);
        TorchRuntime.EnsureAvailable();
        evaluation = new AttackEvaluation(forwardFunc, preprocessing);
        this.metric = metric;
    }

    /// <summary>The names of the attacks added, in the order they are evaluated.</summary>
    public IReadOnlyList<string> AttackNames
    {
        get
        {
            using var turn = gate.EnterScope();
            return attacks.Select(a => a.Name).ToList();
        }
    }

    /// <summary>Adds an attack (or any perturbation) that every later <see cref="Evaluate"/> call runs.</summary>
    /// <param name="attack">
    /// An <see cref="FGSM"/>, a <see cref="PGD"/>, or any perturbation (<see cref="Perturbation.FromFunction{TOptions}(Func{Tensor, TOptions, Tensor})"/>,
    /// an <see cref="IPerturbation{TOptions}"/> of yours). Python: <c>attack</c>.
    /// </param>
    /// <param name="options">The attack's arguments. Python: <c>attack_kwargs</c>.</param>
    /// <param name="name">
    /// The attack's key in the results, unique; by default the attack's class name (<c>FGSM</c>, <c>PGD</c>), or
    /// <c>function</c> for a function, as Captum's <c>attack.__class__.__name__</c>. Python: <c>name</c>.
    /// </param>
    /// <param name="numAttempts">
    /// How many times the attack runs per batch, at least 1 (more only for random attacks): the mean, min and max over
    /// the attempts are reported. Python: <c>num_attempts</c>.
    /// </param>
    /// <param name="applyBeforePreproc">
    /// Attack the raw inputs and preprocess the result (true, the default), or attack the preprocessed inputs. Python:
    /// <c>apply_before_preproc</c>.
    /// </param>
    /// <param name="withArguments">
    /// Puts what an <see cref="Evaluate"/> call passes into the attack's options, for arguments that belong to the batch
    /// such as the labels FGSM and PGD need: <c>(options, labels) =&gt; options with { Target = labels }</c>. Python:
    /// <c>additional_attack_arg_names</c>, which names the <c>evaluate</c> keyword arguments the attack receives (a
    /// name Captum cannot find only warns; here the compiler checks the arguments).
    /// </param>
    /// <typeparam name="TOptions">The attack's options.</typeparam>
    /// <exception cref="ArgumentException">
    /// The name is taken, empty or <c>Original</c> (ParamName <c>name</c>; Captum raises a RuntimeError for a name
    /// taken), or <paramref name="numAttempts"/> is below 1 (ParamName <c>numAttempts</c>).
    /// </exception>
    public void AddAttack<TOptions>(
        IPerturbation<TOptions> attack,
        TOptions options,
        string? name = null,
        int numAttempts = 1,
        bool applyBeforePreproc = true,
        Func<TOptions, TArguments, TOptions>? withArguments = null)
    {
        ArgumentNullException.ThrowIfNull(attack);
        name ??= Perturbation.DefaultName(attack);
        using var turn = gate.EnterScope();
        if (string.IsNullOrWhiteSpace(name) || name == AttackComparison.OriginalKey || attacks.Any(a => a.Name == name))
        {
            throw new ArgumentException(
                $"name: an attack named '{name}' cannot be added: names must be unique, not empty and not '{AttackComparison.OriginalKey}'.",
                nameof(name));
        }

        AttackEvaluation.Attempts(numAttempts, nameof(numAttempts));
        attacks.Add(new AttackEntry(
            name,
            numAttempts,
            (inputs, preprocessed, arguments, token) => evaluation.Attack(
                attack,
                withArguments is null ? options : withArguments(options, arguments),
                applyBeforePreproc,
                inputs,
                preprocessed,
                token)));
    }

    /// <summary>
    /// Adds a perturbation function of one tensor (a transform, random noise), applied to every input tensor. Python:
    /// <c>add_attack</c> with a callable.
    /// </summary>
    /// <param name="attack">Returns the perturbed copy of one input tensor, of its shape; it must not modify its argument.</param>
    /// <param name="name">The key in the results, unique; <c>function</c> by default, as Captum names a function.</param>
    /// <param name="numAttempts">How many times it runs per batch, at least 1. Python: <c>num_attempts</c>.</param>
    /// <param name="applyBeforePreproc">Perturb the raw inputs (true, the default) or the preprocessed ones. Python: <c>apply_before_preproc</c>.</param>
    /// <exception cref="ArgumentException">As <see cref="AddAttack{TOptions}"/>.</exception>
    public void AddAttack(Func<Tensor, Tensor> attack, string? name = null, int numAttempts = 1, bool applyBeforePreproc = true)
    {
        ArgumentNullException.ThrowIfNull(attack);
        AddAttack(Perturbation.FromFunction<object?>((x, _) => attack(x)), null, name, numAttempts, applyBeforePreproc);
    }

    /// <summary>
    /// Evaluates the metric on the inputs and on every attack's perturbed inputs (each attack <c>numAttempts</c> times,
    /// in the order added), and adds the batch to the running summary.
    /// </summary>
    /// <param name="inputs">One tensor or several, batch first. They are not modified, nor their <c>requires_grad</c>.</param>
    /// <param name="arguments">Passed to the metric with every output, and to the attacks' <c>withArguments</c>. Python: <c>**kwargs</c>.</param>
    /// <param name="options">Additional forward arguments, perturbations per forward pass, progress.</param>
    /// <param name="cancellationToken">Checked before every attack attempt and every forward pass.</param>
    /// <returns>
    /// Per key, <see cref="AttackComparison.OriginalKey"/> first and then the attacks in the order added, the batch's
    /// <see cref="AttackSummary"/>: the mean over the attempts (of the metric's shape), and with several attempts the
    /// min and max. New tensors the caller disposes (disposing the result frees them).
    /// </returns>
    /// <exception cref="ArgumentException">
    /// An argument does not fit (ParamName <c>inputs</c>, <c>PerturbationsPerEval</c>), checked before any forward pass.
    /// </exception>
    public AttackComparison Evaluate(Inputs inputs, TArguments arguments, AttackEvaluationOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new AttackEvaluationOptions();
        var tensors = inputs.Tensors;
        PerturbationEvaluation.PerturbationsPerEval(options.PerturbationsPerEval);
        ArgumentPreparation.BatchSize(tensors);
        cancellationToken.ThrowIfCancellationRequested();
        var additional = options.AdditionalForwardArgs ?? [];
        var perEval = options.PerturbationsPerEval;
        List<AttackEntry> attacksNow;
        lock (gate)
        {
            attacksNow = [.. attacks];
        }

        var evaluations = new List<AttackEntry?> { null };
        evaluations.AddRange(attacksNow.SelectMany(a => Enumerable.Repeat<AttackEntry?>(a, a.Attempts)));
        var passes = (evaluations.Count + perEval - 1) / perEval;
        var done = 0;

        using var scope = torch.NewDisposeScope();
        var batch = new List<(string Key, MetricSummarizer Summarizer)> { (AttackComparison.OriginalKey, new MetricSummarizer([Stat.Mean()])) };
        batch.AddRange(attacksNow.Select(a => (a.Name, new MetricSummarizer(a.Attempts > 1 ? [Stat.Mean(), Stat.Min(), Stat.Max()] : [Stat.Mean()]))));
        var byKey = batch.ToDictionary(b => b.Key, b => b.Summarizer, StringComparer.Ordinal);
        try
        {
            var preprocessed = evaluation.Preprocess(inputs);
            foreach (var chunk in AttackEvaluation.Chunks(evaluations, perEval))
            {
                using (var chunkScope = torch.NewDisposeScope())
                {
                    var items = chunk
                        .Select(e => e is null ? preprocessed.Tensors : e.Run(inputs, preprocessed, arguments, cancellationToken).ModelInputs)
                        .ToList();
                    var outputs = evaluation.Outputs(items, additional, cancellationToken);
                    for (var k = 0; k < chunk.Count; k++)
                    {
                        var value = metric(outputs[k], arguments) ?? throw new InvalidOperationException("The metric returned null.");
                        byKey[chunk[k]?.Name ?? AttackComparison.OriginalKey].Update(value);
                    }
                }

                options.Progress?.Report(new AttributionProgress(++done, passes));
            }

            var results = batch.Select(b => new KeyValuePair<string, AttackSummary>(b.Key, b.Summarizer.Summary())).ToList();
            lock (gate)
            {
                foreach (var (key, summary) in results)
                {
                    Running(key).Update(summary);
                }
            }

            foreach (var t in results.SelectMany(r => r.Value.Tensors))
            {
                t.MoveToOuterDisposeScope();
            }

            return new AttackComparison(results);
        }
        finally
        {
            foreach (var (_, summarizer) in batch)
            {
                summarizer.Dispose();
            }
        }
    }

    /// <summary>
    /// The running mean, over the batches evaluated since construction or <see cref="Reset"/>, of each key's batch
    /// results averaged over their first dimension (a scalar as it is). An attack with several attempts keeps the
    /// running means of its mean, min and max apart. Empty before the first batch; an attack added later appears
    /// from its first batch on.
    /// </summary>
    /// <returns>Per key, in the order first evaluated, as <see cref="Evaluate"/>'s; new tensors the caller disposes.</returns>
    /// <remarks>
    /// Python: <c>summary()</c>, whose keys <c>"X Mean Attempt"</c>, <c>"X Min Attempt"</c> and <c>"X Max Attempt"</c>
    /// are here <c>Mean</c>, <c>Min</c> and <c>Max</c> of key X. Integer min and max are averaged as float64, and bool
    /// metrics are summarised as float64 from the start (Captum's <c>mean</c> refuses integers, and its summarizer bool
    /// tensors after the first attempt; where Captum succeeds the numbers are the same).
    /// </remarks>
    public AttackComparison Summary()
    {
        using var turn = gate.EnterScope();
        using var scope = torch.NewDisposeScope();
        var results = running.Select(r => new KeyValuePair<string, AttackSummary>(r.Key, r.Summary.Get())).ToList();
        foreach (var t in results.SelectMany(r => r.Value.Tensors))
        {
            t.MoveToOuterDisposeScope();
        }

        return new AttackComparison(results);
    }

    /// <summary>Forgets the running summary of earlier batches (the attacks stay). Python: <c>reset()</c>.</summary>
    public void Reset()
    {
        using var turn = gate.EnterScope();
        foreach (var (_, summary) in running)
        {
            summary.Dispose();
        }

        running.Clear();
    }

    /// <summary>Frees the running summary.</summary>
    public void Dispose() => Reset();

    private RunningSummary Running(string key)
    {
        foreach (var (k, summary) in running)
        {
            if (k == key)
            {
                return summary;
            }
        }

        var created = new RunningSummary();
        running.Add((key, created));
        return created;
    }

    /// <summary>An attack as added: its name, attempts, and how to run it on a batch.</summary>
    private sealed record AttackEntry(string Name, int Attempts, Func<Inputs, Inputs, TArguments, CancellationToken, AttackedInput> Run);

    /// <summary>A <see cref="Summarizer"/> of metric values: one input per value, the values' names kept.</summary>
    private sealed class MetricSummarizer(IReadOnlyList<Stat> stats) : IDisposable
    {
        private readonly Summarizer summarizer = new(stats);
        private IReadOnlyList<string>? names;
        private bool isTuple;

        public void Update(MetricValues values)
        {
            if (summarizer.InputCount == 0)
            {
                names = values.Names;
                isTuple = values.IsTuple;
            }

            // A bool metric (a correct-or-not per example) is summarised as float64, as Captum's Mean takes its first
            // update; Captum's Welford step cannot subtract a bool tensor, so its second attempt would fail.
            var tensors = values.Select(t => t.dtype == ScalarType.Bool ? t.to_type(ScalarType.Float64) : t).ToList();
            if (values.IsTuple)
            {
                summarizer.Update(tensors);
            }
            else
            {
                summarizer.Update(tensors[0]);
            }
        }

        /// <summary>The stats as Captum's <c>_format_summary</c> gives them: per stat, the values side by side.</summary>
        public AttackSummary Summary() => new(Read("mean")!, Read("min"), Read("max"));

        public void Dispose() => summarizer.Dispose();

        private MetricValues? Read(string stat)
        {
            if (!stats.Any(s => s.Name == stat) || summarizer.InputCount == 0)
            {
                return null;
            }

            var tensors = Enumerable.Range(0, summarizer.InputCount).Select(i => summarizer.Summary(i)[stat]!).ToArray();
            return new MetricValues(tensors, names, isTuple);
        }
    }

    /// <summary>The running means of one key's batch mean, min and max, each averaged over the batch's first dimension.</summary>
    private sealed class RunningSummary : IDisposable
    {
        private readonly MetricSummarizer mean = new([Stat.Mean()]);
        private MetricSummarizer? min;
        private MetricSummarizer? max;

        public void Update(AttackSummary batch)
        {
            mean.Update(Aggregate(batch.Mean));
            if (batch.Min is { } lowest && batch.Max is { } highest)
            {
                (min ??= new MetricSummarizer([Stat.Mean()])).Update(Aggregate(lowest));
                (max ??= new MetricSummarizer([Stat.Mean()])).Update(Aggregate(highest));
            }
        }

        public AttackSummary Get() => new(mean.Summary().Mean, min?.Summary().Mean, max?.Summary().Mean);

        public void Dispose()
        {
            mean.Dispose();
            min?.Dispose();
            max?.Dispose();
        }

        /// <summary>Captum's <c>agg_metric</c>: each value's mean over its first dimension (a scalar as it is).</summary>
        private static MetricValues Aggregate(MetricValues values) => values.With(values.Select(t =>
        {
            var value = t.is_floating_point() ? t : t.to_type(ScalarType.Float64);
            return value.dim() == 0 ? value : value.mean([0]);
        }).ToArray());
    }
}
