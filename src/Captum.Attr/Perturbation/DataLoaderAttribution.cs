using System.Collections;
using System.Runtime.CompilerServices;
using Captum.Forward;
using Captum.Runtime;
using static TorchSharp.torch;

namespace Captum.Attr;

/// <summary>
/// Feature ablation over a whole data set: features (shared by every batch through one feature mask) are ablated
/// in every batch of a data loader, the model's outputs are folded over the loader into one metric (a reduce
/// function, then a metric function), and each feature is credited with the metric's drop,
/// metric(data) - metric(data with the feature ablated). Suited to corpus-wide metrics such as precision or recall.
/// </summary>
/// <remarks>
/// <para>Python: <c>captum.attr.DataLoaderAttribution(attr_method)</c>; as in Captum 0.8.0, FeatureAblation is the
/// only method it decorates.</para>
/// <para>
/// How it runs, as Captum: one pass over the loader for the unperturbed metric, then one pass per
/// <c>PerturbationsPerPass</c> features; in each pass every batch is evaluated once per perturbation (a forward
/// call per batch and perturbation, each on the batch alone), and every perturbation keeps its own accumulator
/// until the pass ends. Cost: 1 + ceil(features / PerturbationsPerPass) passes over the loader, and
/// batches × (1 + features) forward calls in all, without gradients.
/// </para>
/// <para>
/// The loader is enumerated once more to read its first batch (Python: <c>next(iter(dataloader))</c>), whose
/// elements fix the roles, mask and baselines, and then once per pass: it must give the same batches, of the
/// same layout, every time. The tensors of a batch that it makes while it is enumerated are freed once that batch
/// has been evaluated (unless the reducer's accumulator holds them, see <see cref="DataLoaderAttributionOptions.Reduce"/>),
/// and whatever else it makes when its pass ends, so a loader that reads its batches lazily streams them; tensors it
/// hands out that were made before the call stay the caller's and are never modified or disposed.
/// </para>
/// </remarks>
public sealed class DataLoaderAttribution : IAttribution
{
    private readonly ForwardFunction forward;

    /// <summary>Decorates <paramref name="attrMethod"/> to run over data loaders.</summary>
    /// <param name="attrMethod">The method whose forward function is run over the loader. Python: <c>attr_method</c> (FeatureAblation is Captum's only supported method).</param>
    public DataLoaderAttribution(FeatureAblation attrMethod)
    {
        ArgumentNullException.ThrowIfNull(attrMethod);
        TorchRuntime.EnsureAvailable();
        forward = attrMethod.ForwardFunc;
    }

    /// <summary>False: no convergence delta. Python: <c>has_convergence_delta()</c>.</summary>
    public bool HasConvergenceDelta => false;

    /// <summary>Attributes the loader-wide metric to every feature of the elements that need attribution.</summary>
    /// <param name="dataLoader">
    /// The batches, each one or several tensors laid out alike in every batch (batch first); an element with role
    /// <see cref="InputRole.NeedAttribution"/> must keep its non-batch shape from batch to batch. Enumerated
    /// 2 + ceil(features / PerturbationsPerPass) times. Python: <c>dataloader</c>.
    /// </param>
    /// <param name="options">Roles, baselines, mask, reduce and metric functions and the rest; Captum's defaults when null.</param>
    /// <param name="cancellationToken">Checked before every batch.</param>
    /// <returns>
    /// With <c>ReturnInputShape</c> (default): per element that needs attribution, a tensor
    /// [m, ...that element's shape without its batch dimension], where m is the metric's number of elements (1 for a
    /// scalar metric); every element of a feature holds the feature's attribution. Without: one tensor
    /// [m, features], feature ids 0 to the largest id. In the metric's dtype; the caller disposes it.
    /// </returns>
    /// <exception cref="ArgumentException">An argument does not fit (checked on the first batch before any forward call); the message names it.</exception>
    public AttributionResult Attribute(IEnumerable<Inputs> dataLoader, DataLoaderAttributionOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(dataLoader);
        options ??= new DataLoaderAttributionOptions();
        using var scope = torch.NewDisposeScope();
        using var passes = Passes(dataLoader, options);
        var total = 1 + passes.Count;
        var initial = passes.Unperturbed(cancellationToken);
        var done = 1;
        options.Progress?.Report(new AttributionProgress(done, total));

        var slices = new Tensor[passes.Count];
        for (var pass = 0; pass < passes.Count; pass++)
        {
            slices[pass] = passes.AttributePass(pass, initial, cancellationToken);
            done++;
            options.Progress?.Report(new AttributionProgress(done, total));
        }

        var unique = DataLoaderAttributionPasses.Join(initial, slices);
        var attributions = options.ReturnInputShape ? DataLoaderAttributionPasses.ToInputShape(unique, passes.FeatureIds) : [unique];
        foreach (var a in attributions)
        {
            a.MoveToOuterDisposeScope();
        }

        return new AttributionResult(attributions, null);
    }

    /// <summary>
    /// The passes of <see cref="Attribute"/> one at a time, for running them in separate calls or processes (each
    /// pass is independent given the unperturbed metric): the loader's first batch is read now, as
    /// <see cref="Attribute"/> reads it, and fixes the features and how they are grouped into passes.
    /// </summary>
    /// <remarks>
    /// Beyond Captum (Python has no counterpart). <see cref="DataLoaderAttributionPasses.Unperturbed"/>, then
    /// <see cref="DataLoaderAttributionPasses.AttributePass"/> for every pass, joined by
    /// <see cref="DataLoaderAttributionPasses.Join"/> (and spread by <see cref="DataLoaderAttributionPasses.ToInputShape"/>),
    /// is what <see cref="Attribute"/> does, bit for bit.
    /// </remarks>
    /// <param name="dataLoader">As <see cref="Attribute"/>'s; enumerated once now and once per pass run.</param>
    /// <param name="options">As <see cref="Attribute"/>'s (<c>Progress</c> and <c>ReturnInputShape</c> are not used); Captum's defaults when null.</param>
    /// <returns>The passes; the caller disposes them (they hold the masks and baselines).</returns>
    /// <exception cref="ArgumentException">An argument does not fit (checked on the first batch before any forward call); the message names it.</exception>
    public DataLoaderAttributionPasses Passes(IEnumerable<Inputs> dataLoader, DataLoaderAttributionOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(dataLoader);
        options ??= new DataLoaderAttributionOptions();
        if (options.PerturbationsPerPass < 1)
        {
            throw new ArgumentOutOfRangeException("PerturbationsPerPass", options.PerturbationsPerPass, "PerturbationsPerPass (perturbations_per_pass) must be at least 1.");
        }

        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var plan = Plan.Prepare(dataLoader, options);
        plan.DetachFromDisposeScope();
        return new DataLoaderAttributionPasses(this, dataLoader, plan, options);
    }

    /// <summary>
    /// One pass over the loader for the given perturbations (a feature id to ablate, or null for none): per
    /// perturbation, the metric; stacked to [perturbations, ...metric shape], living in the caller's scope.
    /// </summary>
    internal Tensor Traverse(IEnumerable<Inputs> dataLoader, Plan plan, long?[] perturbations, DataLoaderAttributionOptions options, CancellationToken cancellationToken)
    {
        using var passScope = torch.NewDisposeScope();
        var reduce = options.Reduce;
        var accumulators = new object?[perturbations.Length];
        var additional = options.AdditionalForwardArgs ?? [];
        using (var enumerator = dataLoader.GetEnumerator())
        {
            while (true)
            {
                cancellationToken.ThrowIfCancellationRequested();
                if (!enumerator.MoveNext())
                {
                    break;
                }

                var batch = plan.Check(enumerator.Current);
                using (var batchScope = torch.NewDisposeScope())
                {
                    for (var j = 0; j < perturbations.Length; j++)
                    {
                        var perturbed = plan.Perturb(batch, perturbations[j]);
                        var forwarded = perturbed.Where((_, i) => plan.Roles[i] != InputRole.NoForward).Cast<object?>().Concat(additional).ToArray();
                        var output = forward.Invoke(forwarded);
                        if (reduce is null)
                        {
                            var previous = (Tensor?)accumulators[j];
                            accumulators[j] = previous is null ? output : torch.cat([previous, output]);
                            if (previous is not null && passScope.Contains(previous))
                            {
                                previous.Dispose();
                            }
                        }
                        else
                        {
                            accumulators[j] = reduce(accumulators[j], output, perturbed);
                        }

                        Keep(accumulators[j], batchScope, passScope, 0);
                    }
                }

                // The batch's own tensors, made by the loader during this pass, are freed unless an accumulator holds them.
                var held = new HashSet<Tensor>(ReferenceEqualityComparer.Instance);
                Held(accumulators, held, 0);
                foreach (var element in batch)
                {
                    if (passScope.Contains(element) && !held.Contains(element))
                    {
                        element.Dispose();
                    }
                }
            }
        }

        var metrics = accumulators.Select(a => options.ToMetric is { } toMetric ? toMetric(a) : a).Select((m, j) => m as Tensor ?? throw new ArgumentException(
            accumulators[j] is null && m is null
                ? "dataLoader gave no batch on a pass over it."
                : $"The accumulated metric is a {m?.GetType().Name ?? "null"}, not a Tensor: give ToMetric (to_metric) to turn Reduce's accumulator into a tensor.",
            accumulators[j] is null && m is null ? "dataLoader" : "ToMetric")).ToArray();
        return torch.stack(metrics).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Keeps the tensors a reducer's accumulator holds that were made while the batch was evaluated, by moving them
    /// from the batch's scope to the pass's.
    /// </summary>
    private static void Keep(object? accumulator, DisposeScope batchScope, DisposeScope passScope, int depth)
    {
        var held = new HashSet<Tensor>(ReferenceEqualityComparer.Instance);
        Held(accumulator, held, depth);
        foreach (var t in held.Where(batchScope.Contains))
        {
            t.MoveToOtherDisposeScope(passScope);
        }
    }

    /// <summary>Adds to <paramref name="held"/> the tensors a value holds: itself, or the items of a tuple or collection, a few levels deep.</summary>
    private static void Held(object? value, HashSet<Tensor> held, int depth)
    {
        switch (value)
        {
            case Tensor t:
                held.Add(t);
                break;
            case ITuple tuple when depth < 4:
                for (var i = 0; i < tuple.Length; i++)
                {
                    Held(tuple[i], held, depth + 1);
                }

                break;
            case IEnumerable items and not string when depth < 4:
                foreach (var item in items)
                {
                    Held(item, held, depth + 1);
                }

                break;
        }
    }

    /// <summary>What the first batch fixes: the roles, the attributed elements, their masks and baselines.</summary>
    internal sealed class Plan : IDisposable
    {
        private readonly ResolvedFeatureMask mask;

        private Plan(InputRole[] roles, Tensor[] featureIds, ResolvedFeatureMask mask, Tensor[] baselines, int featureCount)
        {
            Roles = roles;
            FeatureIds = featureIds;
            this.mask = mask;
            Masks = mask.Masks;
            Baselines = baselines;
            FeatureCount = featureCount;
        }

        public InputRole[] Roles { get; }

        /// <summary>Per attributed element, the feature id of each of its elements: long, [1, ...the element's shape without the batch].</summary>
        public Tensor[] FeatureIds { get; }

        /// <summary>Per attributed element, its mask: long, the element's number of dimensions, first dimension 1.</summary>
        public Tensor[] Masks { get; }

        /// <summary>Per attributed element, its baseline as a tensor of its dtype (0-dimensional for a scalar).</summary>
        public Tensor[] Baselines { get; }

        /// <summary>The largest feature id + 1 (Captum's count: ids no mask uses are ablated to no effect).</summary>
        public int FeatureCount { get; }

        public static Plan Prepare(IEnumerable<Inputs> dataLoader, DataLoaderAttributionOptions options)
        {
            Inputs first;
            using (var enumerator = dataLoader.GetEnumerator())
            {
                if (!enumerator.MoveNext())
                {
                    throw new ArgumentException("dataLoader gives no batch.", "dataLoader");
                }

                first = enumerator.Current;
            }

            var elements = first.Tensors;
            var roles = options.InputRoles?.ToArray() ?? Enumerable.Repeat(InputRole.NeedAttribution, elements.Count).ToArray();
            if (roles.Length != elements.Count)
            {
                throw new ArgumentException(
                    $"InputRoles (input_roles) has {roles.Length} role(s) but the data loader's batches have {elements.Count} element(s): give one role per element.",
                    "InputRoles");
            }

            if (roles.Any(r => !Enum.IsDefined(r)))
            {
                throw new ArgumentException($"InputRoles (input_roles) holds {roles.First(r => !Enum.IsDefined(r))}, which is not an InputRole.", "InputRoles");
            }

            if (!roles.Contains(InputRole.NeedAttribution))
            {
                throw new ArgumentException("InputRoles (input_roles) must give at least one element the role NeedAttribution.", "InputRoles");
            }

            var attributed = elements.Where((_, i) => roles[i] == InputRole.NeedAttribution).ToArray();
            if (attributed.Any(t => t.dim() == 0))
            {
                throw new ArgumentException("dataLoader: an element that needs attribution is 0-dimensional; it needs the batch as its first dimension.", "dataLoader");
            }

            var resolvedBaselines = options.Baselines.Resolve(attributed);
            var baselines = new Tensor[attributed.Length];
            for (var i = 0; i < attributed.Length; i++)
            {
                baselines[i] = BaselineOf(resolvedBaselines.For(i, attributed.Length), attributed[i], i);
            }

            var mask = ResolvedFeatureMask.Resolve(attributed, options.FeatureMask, attributed[0].shape[0]);
            for (var i = 0; i < attributed.Length; i++)
            {
                if (mask.Masks[i].shape[0] != 1)
                {
                    throw new ArgumentException(
                        $"FeatureMask[{i}] has first dimension {mask.Masks[i].shape[0]}; it must be 1, one mask for every batch of the data loader.",
                        "FeatureMask");
                }
            }

            if (mask.Ids.Length > 0 && mask.Ids[0] < 0)
            {
                throw new ArgumentException($"FeatureMask holds the negative id {mask.Ids[0]}; feature ids run from 0.", "FeatureMask");
            }

            var featureCount = mask.Ids.Length == 0 ? 0 : checked((int)(mask.Ids[^1] + 1));
            var featureIds = attributed.Select((input, i) =>
            {
                var shape = (long[])input.shape.Clone();
                shape[0] = 1;
                return mask.Masks[i].expand(shape);
            }).ToArray();
            return new Plan(roles, featureIds, mask, baselines, featureCount);
        }

        /// <summary>Takes the plan's tensors out of the current dispose scope: they live until <see cref="Dispose"/>.</summary>
        public void DetachFromDisposeScope()
        {
            foreach (var t in Masks.Concat(Baselines).Concat(FeatureIds))
            {
                t.DetachFromDisposeScope();
            }
        }

        /// <summary>Frees the plan's tensors (once detached from their scope).</summary>
        public void Dispose()
        {
            foreach (var t in Masks.Concat(Baselines).Concat(FeatureIds))
            {
                t.Dispose();
            }
        }

        /// <summary>Checks a batch has the first batch's layout; returns its elements.</summary>
        public IReadOnlyList<Tensor> Check(Inputs batch)
        {
            var elements = batch.Tensors;
            if (elements.Count != Roles.Length)
            {
                throw new ArgumentException(
                    $"dataLoader gave a batch of {elements.Count} element(s) after a first batch of {Roles.Length}: every batch must have the same elements.",
                    "dataLoader");
            }

            return elements;
        }

        /// <summary>The batch with feature <paramref name="feature"/> ablated in every element it spans (none when null).</summary>
        public Tensor[] Perturb(IReadOnlyList<Tensor> batch, long? feature)
        {
            var perturbed = new Tensor[batch.Count];
            var a = 0;
            for (var i = 0; i < batch.Count; i++)
            {
                perturbed[i] = batch[i];
                if (Roles[i] != InputRole.NeedAttribution)
                {
                    continue;
                }

                var index = a++;
                if (feature is not { } f)
                {
                    continue;
                }

                if (!mask.Contains(index, f))
                {
                    continue;
                }

                var input = batch[i];
                var ablated = Masks[index].eq(f);

                // Captum's arithmetic, input * keep + baseline * (1 - keep), in the input's dtype; integers (token
                // ids) are replaced instead, keeping their dtype.
                if (input.is_floating_point() || input.is_complex())
                {
                    var keep = ablated.logical_not().to(input.dtype, input.device);
                    perturbed[i] = (input * keep) + (Baselines[index] * (1 - keep));
                }
                else
                {
                    perturbed[i] = torch.where(ablated.to(input.device), Baselines[index], input);
                }
            }

            return perturbed;
        }

        private static Tensor BaselineOf(BaselineValue value, Tensor input, int index)
        {
            if (value.Scalar is { } s)
            {
                if (!input.is_floating_point() && !input.is_complex() && Math.Floor(s) != s)
                {
                    throw new ArgumentException(
                        $"baselines[{index}] ({s}) is not a whole number, but element {index} that needs attribution holds integers ({input.dtype}); give an integer baseline such as a padding id.",
                        "baselines");
                }

                return torch.tensor(s, input.dtype, input.device);
            }

            var tensor = value.Tensor!;
            if (tensor.IsInvalid)
            {
                throw new ArgumentException($"baselines[{index}] has been disposed.", "baselines");
            }

            var shape = tensor.shape;
            var fits = shape.Length >= 1 && shape[0] == 1 && shape.Length <= input.dim();
            for (var d = 1; fits && d < shape.Length; d++)
            {
                var against = input.shape[input.dim() - shape.Length + d];
                fits = shape[d] == 1 || shape[d] == against;
            }

            if (!fits)
            {
                throw new ArgumentException(
                    $"baselines[{index}] has shape {Shapes.Format(shape)}; a tensor baseline must have first dimension 1 (one baseline for every batch) and broadcast to the element's shape {Shapes.Format(input.shape)}.",
                    "baselines");
            }

            return tensor.detach().to(input.dtype, input.device);
        }
    }
}

/// <summary>
/// The passes over a data loader of one <see cref="DataLoaderAttribution"/> call, run one at a time: the unperturbed
/// pass, then <see cref="Count"/> passes each ablating up to <see cref="PerturbationsPerPass"/> consecutive features.
/// Made by <see cref="DataLoaderAttribution.Passes"/>; the caller disposes it.
/// </summary>
/// <remarks>
/// Beyond Captum (Python has no counterpart): it lets the passes of one attribution run in separate calls,
/// processes or machines (Captum.Batch's ShardedDataLoaderAttribution), since a pass depends on nothing but the loader,
/// the model and the unperturbed metric. Each run pass enumerates the loader once, with <see cref="DataLoaderAttribution.Attribute"/>'s
/// memory behaviour. Not thread-safe.
/// </remarks>
public sealed class DataLoaderAttributionPasses : IDisposable
{
    private readonly DataLoaderAttribution owner;
    private readonly IEnumerable<Inputs> dataLoader;
    private readonly DataLoaderAttribution.Plan plan;
    private readonly DataLoaderAttributionOptions options;
    private bool disposed;

    internal DataLoaderAttributionPasses(DataLoaderAttribution owner, IEnumerable<Inputs> dataLoader, DataLoaderAttribution.Plan plan, DataLoaderAttributionOptions options)
    {
        this.owner = owner;
        this.dataLoader = dataLoader;
        this.plan = plan;
        this.options = options;
        FeatureCount = plan.FeatureCount;
        PerturbationsPerPass = Math.Min(options.PerturbationsPerPass, Math.Max(FeatureCount, 1));
        Count = (FeatureCount + PerturbationsPerPass - 1) / PerturbationsPerPass;
    }

    /// <summary>The number of features: the largest feature id + 1.</summary>
    public int FeatureCount { get; }

    /// <summary>Features ablated per pass: the options' <c>PerturbationsPerPass</c>, at most <see cref="FeatureCount"/> (and at least 1).</summary>
    public int PerturbationsPerPass { get; }

    /// <summary>The number of passes that ablate features, ceil(<see cref="FeatureCount"/> / <see cref="PerturbationsPerPass"/>); the unperturbed pass is not counted.</summary>
    public int Count { get; }

    /// <summary>
    /// Per element that needs attribution, the feature id of each of its elements: long, [1, ...the element's shape
    /// without the batch]. Owned by this object (freed with it); what <see cref="ToInputShape"/> spreads by.
    /// </summary>
    public IReadOnlyList<Tensor> FeatureIds
    {
        get
        {
            ObjectDisposedException.ThrowIf(disposed, this);
            return plan.FeatureIds;
        }
    }

    /// <summary>The features pass <paramref name="pass"/> ablates: ids [First, First + Count).</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="pass"/> is not in [0, <see cref="Count"/>).</exception>
    public (int First, int Count) Features(int pass)
    {
        if (pass < 0 || pass >= Count)
        {
            throw new ArgumentOutOfRangeException(nameof(pass), pass, $"pass must be in [0, {Count}): there are {Count} passes that ablate features.");
        }

        var first = pass * PerturbationsPerPass;
        return (first, Math.Min(PerturbationsPerPass, FeatureCount - first));
    }

    /// <summary>The unperturbed pass: the metric on the loader as it is.</summary>
    /// <param name="cancellationToken">Checked before every batch.</param>
    /// <returns>The metric, in the shape and dtype ToMetric gives it; the caller disposes it.</returns>
    /// <exception cref="ArgumentException">The loader gave no batch, or the metric is not a tensor; the message names the argument.</exception>
    public Tensor Unperturbed(CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var initial = owner.Traverse(dataLoader, plan, [null], options, cancellationToken);
        return initial[0].MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Pass <paramref name="pass"/>: the metric with each of its features ablated, subtracted from <paramref name="unperturbed"/>.
    /// </summary>
    /// <param name="pass">The pass, in [0, <see cref="Count"/>).</param>
    /// <param name="unperturbed">The metric of <see cref="Unperturbed"/> (from this process or another, on any device; not modified).</param>
    /// <param name="cancellationToken">Checked before every batch.</param>
    /// <returns>[m, features of the pass] (m the metric's number of elements): the attribution of features <see cref="Features"/>(pass); the caller disposes it.</returns>
    /// <exception cref="ArgumentException">The metric's shape differs from <paramref name="unperturbed"/>'s (parameter ToMetric).</exception>
    public Tensor AttributePass(int pass, Tensor unperturbed, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        ArgumentNullException.ThrowIfNull(unperturbed);
        var (first, count) = Features(pass);
        if (unperturbed.IsInvalid)
        {
            throw new ArgumentException("unperturbed has been disposed.", nameof(unperturbed));
        }

        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var ablated = Enumerable.Range(first, count).Select(f => (long?)f).ToArray();
        var modified = owner.Traverse(dataLoader, plan, ablated, options, cancellationToken);
        var outputs = unperturbed.numel();
        if (modified.numel() != count * outputs)
        {
            throw new ArgumentException(
                $"The metric has {modified.numel() / count} element(s) with a feature ablated but {outputs} without: Reduce and ToMetric must give a metric of the same shape on every pass.",
                "ToMetric");
        }

        // An unperturbed metric read back from a file is on the CPU; the copy to the metric's device is exact.
        var initial = unperturbed.device_type == modified.device_type && unperturbed.device_index == modified.device_index ? unperturbed : unperturbed.to(modified.device);
        var difference = initial.reshape(1, outputs) - modified.reshape(count, outputs);
        return difference.t().MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The attributions of every feature, [m, features], from the unperturbed metric and every pass's
    /// <see cref="AttributePass"/> in pass order (the result <see cref="DataLoaderAttribution.Attribute"/> gives with <c>ReturnInputShape = false</c>).
    /// </summary>
    /// <param name="unperturbed">The unperturbed metric (fixes m, dtype and device when there is no feature).</param>
    /// <param name="slices">Each pass's [m, features of the pass], in pass order.</param>
    /// <returns>A new tensor; the caller disposes it.</returns>
    /// <exception cref="ArgumentException">A slice is not [m, k].</exception>
    public static Tensor Join(Tensor unperturbed, IReadOnlyList<Tensor> slices)
    {
        ArgumentNullException.ThrowIfNull(unperturbed);
        ArgumentNullException.ThrowIfNull(slices);
        var outputs = unperturbed.numel();
        if (slices.Count == 0)
        {
            return torch.zeros([outputs, 0], unperturbed.dtype, unperturbed.device);
        }

        for (var i = 0; i < slices.Count; i++)
        {
            if (slices[i] is null || slices[i].dim() != 2 || slices[i].shape[0] != outputs)
            {
                throw new ArgumentException($"slices[{i}] has shape {(slices[i] is null ? "null" : Shapes.Format(slices[i].shape))}; every slice must be [{outputs}, k], the metric's elements by the pass's features.", nameof(slices));
            }
        }

        return torch.cat(slices.ToArray(), 1);
    }

    /// <summary>
    /// Spreads [m, features] attributions over each attributed element's shape (the result
    /// <see cref="DataLoaderAttribution.Attribute"/> gives with <c>ReturnInputShape = true</c>): every element
    /// holds its feature's attribution.
    /// </summary>
    /// <param name="attributions">[m, features].</param>
    /// <param name="featureIds">Per attributed element, <see cref="FeatureIds"/>'s tensor (or a copy of it).</param>
    /// <returns>Per element, [m, ...its shape without the batch]; new tensors the caller disposes.</returns>
    /// <exception cref="ArgumentException">The attributions are not 2-dimensional, or an id has no column.</exception>
    public static Tensor[] ToInputShape(Tensor attributions, IReadOnlyList<Tensor> featureIds)
    {
        ArgumentNullException.ThrowIfNull(attributions);
        ArgumentNullException.ThrowIfNull(featureIds);
        if (attributions.dim() != 2)
        {
            throw new ArgumentException($"attributions has shape {Shapes.Format(attributions.shape)}; it must be [m, features].", nameof(attributions));
        }

        var result = new Tensor[featureIds.Count];
        for (var i = 0; i < featureIds.Count; i++)
        {
            using var scope = torch.NewDisposeScope();
            var ids = featureIds[i].reshape(-1);
            if (ids.numel() > 0 && ids.max().item<long>() >= attributions.shape[1])
            {
                throw new ArgumentException(
                    $"featureIds[{i}] holds the feature id {ids.max().item<long>()}, but attributions has {attributions.shape[1]} feature column(s).",
                    nameof(featureIds));
            }

            var shape = (long[])featureIds[i].shape.Clone();
            shape[0] = attributions.shape[0];
            result[i] = attributions.index_select(1, ids.to(attributions.device)).reshape(shape).MoveToOuterDisposeScope();
        }

        return result;
    }

    /// <summary>Frees the masks, baselines and feature ids this object holds.</summary>
    public void Dispose()
    {
        if (!disposed)
        {
            disposed = true;
            plan.Dispose();
        }
    }
}

/// <summary>The role of one element of a data loader's batches. Python: <c>captum.attr._core.dataloader_attr.InputRole</c>.</summary>
public enum InputRole
{
    /// <summary>Passed to the forward function and attributed; must be a tensor. Python: <c>need_attr</c> (0).</summary>
    NeedAttribution = 0,

    /// <summary>Passed to the forward function, not attributed (like an additional forward argument). Python: <c>need_forward</c> (1).</summary>
    NeedForward = 1,

    /// <summary>Not passed to the forward function (a label, say); the reducer still sees it. Python: <c>no_forward</c> (2).</summary>
    NoForward = 2,
}

/// <summary>
/// Folds one forward output into a data loader's running accumulator (Python: <c>reduce(accum, current_output,
/// current_inputs) -> accum</c>).
/// </summary>
/// <param name="accumulated">The accumulator so far: null at the first batch of each pass, then what the last call returned.</param>
/// <param name="output">The forward function's output on this batch (with the perturbation applied).</param>
/// <param name="batch">Every element of this batch, in order, those that need attribution perturbed.</param>
/// <returns>The new accumulator: a tensor, or anything <see cref="DataLoaderAttributionOptions.ToMetric"/> turns into one.</returns>
public delegate object? DataLoaderReducer(object? accumulated, Tensor output, IReadOnlyList<Tensor> batch);

/// <summary>The arguments of <see cref="DataLoaderAttribution.Attribute"/>, with Captum's defaults.</summary>
/// <remarks>
/// Python: the keyword arguments of <c>DataLoaderAttribution.attribute</c> (<c>show_progress</c> is
/// <see cref="AttributionOptions.Progress"/>, counting passes over the loader). <see cref="AttributionOptions.AdditionalForwardArgs"/>
/// (beyond Captum, which passes such values as elements of role <see cref="InputRole.NeedForward"/>) follow each
/// batch's forwarded elements unchanged.
/// </remarks>
public sealed record DataLoaderAttributionOptions : AttributionOptions, IBaselineOptions, IFeatureMaskOptions
{
    /// <summary>
    /// One role per element of the loader's batches; null makes every element <see cref="InputRole.NeedAttribution"/>.
    /// At least one element must need attribution. Python: <c>input_roles</c>. (Captum's docstring swaps roles 1 and 2;
    /// its code, followed here, forwards <c>need_forward</c> and leaves out <c>no_forward</c>.)
    /// </summary>
    public IReadOnlyList<InputRole>? InputRoles { get; init; }

    /// <summary>
    /// The values that replace ablated features, one per element that needs attribution (or one for all): none for
    /// zeros, a scalar, or a tensor with first dimension 1 that broadcasts to every batch's element (the same
    /// baseline for the whole loader); a baseline function (<see cref="ProductBaselines"/>) is called once, with the
    /// first batch's attributed elements. Python: <c>baselines</c>.
    /// </summary>
    public Baselines Baselines { get; init; }

    /// <summary>
    /// One integer mask per element that needs attribution, first dimension 1 (one mask for every batch), broadcasting
    /// to the element; ids are features shared across the elements and batches (an id used in two elements' masks is
    /// one feature ablated in both), numbered from 0 (the result has a column for every id up to the largest). None
    /// makes every scalar of every attributed element its own feature, numbered across the elements in order.
    /// Python: <c>feature_mask</c>.
    /// </summary>
    public FeatureMask FeatureMask { get; init; }

    /// <summary>
    /// Folds each batch's output into an accumulator; null concatenates the outputs along the first dimension (the
    /// metric is then every output of the data set, in loader order). Tensors it returns that it made from this
    /// batch (alone, or inside a tuple or collection) are kept until the pass ends; the accumulators it replaces are
    /// freed only when the pass ends, unless it disposes them itself. Python: <c>reduce</c>.
    /// </summary>
    public DataLoaderReducer? Reduce { get; init; }

    /// <summary>
    /// Turns the accumulator, once a pass is over, into the metric tensor attributed; null attributes the accumulator
    /// itself, which must then be a tensor. The metric must have the same shape on every pass. Python: <c>to_metric</c>.
    /// </summary>
    public Func<object?, Tensor>? ToMetric { get; init; }

    /// <summary>
    /// How many perturbations share one pass over the loader (each keeps its own accumulator until the pass ends);
    /// 1 by default. Fewer passes suit slow loaders; it does not change the result. Python: <c>perturbations_per_pass</c>.
    /// </summary>
    public int PerturbationsPerPass { get; init; } = 1;

    /// <summary>
    /// True (default): attributions spread over each attributed element's shape; false: one [m, features] tensor.
    /// Python: <c>return_input_shape</c>.
    /// </summary>
    public bool ReturnInputShape { get; init; } = true;

    AttributionOptions IBaselineOptions.WithBaselines(Baselines baselines) => this with { Baselines = baselines };

    AttributionOptions IFeatureMaskOptions.WithFeatureMask(FeatureMask featureMask) => this with { FeatureMask = featureMask };
}
