using Captum.Attr;
using Captum.Forward;
using Captum.Layers;
using Captum.Runtime;

namespace Captum.Concept;

/// <summary>
/// Testing with Concept Activation Vectors (Kim et al., 2018): how much a model's prediction for some inputs moves
/// along the direction that separates a concept's examples from other examples in a layer.
/// </summary>
/// <remarks>
/// <para>
/// Python: <c>captum.concept.TCAV(model, layers, model_id, classifier, layer_attr_method, attribute_to_layer_input,
/// save_path)</c>. For every experimental set (a list of concepts) and layer, a classifier learns to tell the concepts'
/// activations apart; its weight rows are the concept activation vectors (<see cref="CAV"/>). The inputs' layer
/// sensitivities (gradients of the target output with respect to the layer, or integrated gradients) are projected on
/// each vector: the sign count is the share of inputs with a positive projection, the magnitude their mean.
/// </para>
/// <para>
/// Activations of concept examples are computed in batches (one forward pass per batch for all the layers that need
/// them) and cached per (concept id, layer): in memory unless <c>keepActivationsInMemory</c> is false, and on disk under
/// <c>cacheDirectory/modelId/av</c> when a cache folder is given. CAVs are kept in memory and saved under
/// <c>cacheDirectory/modelId/cav</c>; a CAV or activation found there is used without recomputing, so a changed model
/// needs another model id or folder (Captum keys its caches the same way). Calls on one instance from several threads
/// take turns (its caches are shared); separate instances run at once, also on one model and one cache folder (files are
/// written under a temporary name and renamed into place).
/// The TCAV owns its caches; dispose it (or call <see cref="ClearCache"/>) to free them.
/// </para>
/// </remarks>
public sealed class TCAV : ConceptInterpreter, IDisposable
{
    private readonly nn.Module[] layers;
    private readonly ActivationStore store;
    private readonly Dictionary<int, Concept> known = [];

    // The caches are the instance's: calls on one TCAV from several threads take turns (re-entrant on one thread).
    private readonly Lock gate = new();

    /// <summary>Creates TCAV for one layer.</summary>
    /// <inheritdoc cref="TCAV(ForwardFunction, IReadOnlyList{LayerReference}, IConceptClassifier?, string, string?, bool, bool)"/>
    public TCAV(
        ForwardFunction forwardFunc,
        LayerReference layer,
        IConceptClassifier? classifier = null,
        string modelId = "default_model_id",
        string? cacheDirectory = null,
        bool attributeToLayerInput = false,
        bool keepActivationsInMemory = true)
        : this(forwardFunc, [layer], classifier, modelId, cacheDirectory, attributeToLayerInput, keepActivationsInMemory)
    {
    }

    /// <summary>Creates TCAV for several layers.</summary>
    /// <param name="forwardFunc">The model (every layer must be called once per forward pass, through <c>call</c>).</param>
    /// <param name="layers">The layers (instances or dotted paths), at least one, all distinct. Python: <c>layers</c>.</param>
    /// <param name="classifier">Trains the CAVs; default a new <see cref="LinearConceptClassifier"/>. Python: <c>classifier</c>.</param>
    /// <param name="modelId">Names the model's folder in the cache. Python: <c>model_id</c>.</param>
    /// <param name="cacheDirectory">
    /// The folder of the disk cache, or null (default) for none. Python: <c>save_path</c>, whose default "./cav/"
    /// writes to the working directory; here nothing is written unless a folder is given.
    /// </param>
    /// <param name="attributeToLayerInput">Use the layers' inputs instead of their outputs, for activations and attributions alike. Python: <c>attribute_to_layer_input</c>.</param>
    /// <param name="keepActivationsInMemory">
    /// Keep concept activations in memory between calls (default true). False keeps memory flat whatever the number
    /// of concepts: each call computes (or reads from the disk cache) what it needs and frees it when it returns.
    /// </param>
    /// <exception cref="ArgumentException">No layer, a layer that does not exist or repeats, or an empty or path-like model id.</exception>
    public TCAV(
        ForwardFunction forwardFunc,
        IReadOnlyList<LayerReference> layers,
        IConceptClassifier? classifier = null,
        string modelId = "default_model_id",
        string? cacheDirectory = null,
        bool attributeToLayerInput = false,
        bool keepActivationsInMemory = true)
        : base(forwardFunc)
    {
        ArgumentNullException.ThrowIfNull(layers);
        TorchRuntime.EnsureAvailable();
        if (layers.Count == 0)
        {
            throw new ArgumentException("layers must name at least one layer.", nameof(layers));
        }

        if (string.IsNullOrEmpty(modelId) || modelId != ActivationStore.SafeFileName(modelId) || modelId is "." or "..")
        {
            throw new ArgumentException($"modelId must be a non-empty folder name without path separators; got '{modelId}'.", nameof(modelId));
        }

        if (cacheDirectory is not null && cacheDirectory.Length == 0)
        {
            throw new ArgumentException("cacheDirectory must be a folder, or null for no disk cache.", nameof(cacheDirectory));
        }

        this.layers = layers.Select(l => l.Resolve(forwardFunc.Module, nameof(layers))).ToArray();
        LayerNames = layers.Select((l, i) => l.Path ?? (forwardFunc.Module is { } root ? LayerPath.PathOf(root, this.layers[i]) : null) ?? this.layers[i].GetName()).ToArray();
        var repeated = LayerNames.GroupBy(n => n).FirstOrDefault(g => g.Count() > 1);
        if (repeated is not null || this.layers.Distinct().Count() != this.layers.Length)
        {
            throw new ArgumentException($"layers must be distinct; '{repeated?.Key ?? "a module"}' is given twice.", nameof(layers));
        }

        Classifier = classifier ?? new LinearConceptClassifier();
        ModelId = modelId;
        CacheDirectory = cacheDirectory;
        AttributeToLayerInput = attributeToLayerInput;
        store = new ActivationStore(cacheDirectory, modelId, keepActivationsInMemory);
    }

    /// <summary>The layers' names (their dotted paths), the keys of the results.</summary>
    public IReadOnlyList<string> LayerNames { get; }

    /// <summary>The resolved layers, in the order given.</summary>
    public IReadOnlyList<nn.Module> Layers => layers;

    /// <summary>The classifier that trains the CAVs. Python: <c>classifier</c>.</summary>
    public IConceptClassifier Classifier { get; }

    /// <summary>The model's id in the cache. Python: <c>model_id</c>.</summary>
    public string ModelId { get; }

    /// <summary>The disk cache's folder, or null. Python: <c>save_path</c>.</summary>
    public string? CacheDirectory { get; }

    /// <summary>Whether the layers' inputs are used instead of their outputs. Python: <c>attribute_to_layer_input</c>.</summary>
    public bool AttributeToLayerInput { get; }

    /// <summary>How many (concept, layer) activation tensors are held in memory.</summary>
    public int CachedActivationCount => store.ActivationCount;

    /// <summary>How many CAVs are held in memory.</summary>
    public int CachedCavCount => store.CavCount;

    /// <summary>
    /// The CAVs of every experimental set in every layer: from memory, else from the disk cache, else trained (computing
    /// the concepts' activations that neither cache holds).
    /// </summary>
    /// <param name="experimentalSets">Lists of at least two concepts each. Python: <c>experimental_sets</c>.</param>
    /// <param name="forceTrain">Recompute every activation and retrain every CAV, ignoring both caches. Python: <c>force_train</c>.</param>
    /// <param name="progress">Receives each stage's progress.</param>
    /// <param name="cancellationToken">Checked between batches, classifier steps and CAVs.</param>
    /// <returns>
    /// Per experimental set, in order, per layer in <see cref="LayerNames"/> order, its CAV. The TCAV owns the CAVs
    /// (do not dispose them); they stay valid until <see cref="ClearCache"/> or <see cref="Dispose"/>.
    /// </returns>
    /// <exception cref="ArgumentException">
    /// A set with fewer than two concepts or a repeated concept, two concepts with one id, a concept without examples,
    /// or examples whose shapes disagree; <c>ParamName</c> is <c>experimentalSets</c>.
    /// </exception>
    /// <remarks>Python: <c>TCAV.compute_cavs(experimental_sets, force_train)</c>.</remarks>
    public IReadOnlyList<IReadOnlyList<CAV>> ComputeCavs(
        IReadOnlyList<IReadOnlyList<Concept>> experimentalSets,
        bool forceTrain = false,
        IProgress<TCAVProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        using var turn = gate.EnterScope();
        CheckSets(experimentalSets);
        using var scope = torch.NewDisposeScope();
        return EnsureCavs(experimentalSets, forceTrain, null, progress, cancellationToken);
    }

    /// <summary>The TCAV scores of <paramref name="inputs"/> for every experimental set and layer.</summary>
    /// <param name="inputs">The inputs whose predictions are explained, batch first. Not modified.</param>
    /// <param name="experimentalSets">
    /// Lists of at least two concepts each (typically a concept and a random one); their examples must have the
    /// inputs' shapes, example for example. Python: <c>experimental_sets</c>.
    /// </param>
    /// <param name="options">Target, attribution method and progress; Captum's defaults when null.</param>
    /// <param name="cancellationToken">Checked between batches, classifier steps, CAVs and layers.</param>
    /// <returns>Per set and layer, the sign-count and magnitude scores of each concept of the set, in its order; plain numbers, nothing to dispose.</returns>
    /// <exception cref="ArgumentException">
    /// The inputs or target do not fit (<c>inputs</c>, <c>target</c>), or a set is wrong as for <see cref="ComputeCavs"/>
    /// (<c>experimentalSets</c>), including examples whose shape is not the inputs'; thrown before any attribution.
    /// </exception>
    /// <remarks>Python: <c>TCAV.interpret(inputs, experimental_sets, target, additional_forward_args, **kwargs)</c>.</remarks>
    public override TCAVResult Interpret(
        Inputs inputs,
        IReadOnlyList<IReadOnlyList<Concept>> experimentalSets,
        TCAVOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        using var turn = gate.EnterScope();
        options ??= new TCAVOptions();
        var tensors = inputs.Tensors;
        var n = ArgumentPreparation.BatchSize(tensors);
        options.Target.ValidateCount(n);
        if (options.Attribution == TCAVAttribution.IntegratedGradients)
        {
            ArgumentPreparation.Steps(options.Steps, options.InternalBatchSize);
        }

        CheckSets(experimentalSets);
        using var scope = torch.NewDisposeScope();
        var shapes = tensors.Select(t => t.shape[1..]).ToArray();
        var cavs = EnsureCavs(experimentalSets, false, shapes, options.Progress, cancellationToken);

        var scores = new List<TCAVScore>();
        for (var l = 0; l < layers.Length; l++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            using var layerScope = torch.NewDisposeScope();
            var attributions = Attribute(l, inputs, options, cancellationToken).to(ScalarType.Float32);
            for (var s = 0; s < experimentalSets.Count; s++)
            {
                var cav = cavs[s][l];
                if (cav.Weights.shape[1] != attributions.shape[1])
                {
                    throw new InvalidOperationException(
                        $"The CAV of {Concept.KeyOf(experimentalSets[s])} in '{LayerNames[l]}' has {cav.Weights.shape[1]} features, the layer's attributions {attributions.shape[1]}: a CAV from the disk cache of another model? Use another model id or folder.");
                }

                // [n, classes]: each input's sensitivity projected on each concept's vector.
                var projections = attributions.matmul(cav.Weights.to(ScalarType.Float32).t());
                var signCount = (projections > 0).to(ScalarType.Float64).mean([0]).data<double>().ToArray();
                var magnitude = projections.to(ScalarType.Float64).mean([0]).data<double>().ToArray();
                var rows = experimentalSets[s].Select(c => cav.Classes.ToList().IndexOf(c.Id)).ToArray();
                scores.Add(new TCAVScore(experimentalSets[s], LayerNames[l], rows.Select(r => signCount[r]).ToArray(), rows.Select(r => magnitude[r]).ToArray()));
            }

            options.Progress?.Report(new TCAVProgress(TCAVStage.Attributions, l + 1, layers.Length));
        }

        return new TCAVResult(scores);
    }

    /// <summary>
    /// Whether <paramref name="concept"/> matters for the prediction beyond chance: its TCAV score is compared with
    /// the scores random concepts get, per layer, by a two-sided t-test.
    /// </summary>
    /// <param name="inputs">The inputs whose predictions are explained, batch first. Not modified.</param>
    /// <param name="concept">The concept tested.</param>
    /// <param name="randomConcepts">At least three concepts of random examples (distinct, none of them <paramref name="concept"/>).</param>
    /// <param name="options">Target, attribution method and progress, as for <see cref="Interpret"/>.</param>
    /// <param name="alpha">The significance level, in (0, 1). Default 0.05.</param>
    /// <param name="score">Which score is compared. Default the sign count, the score of the TCAV paper.</param>
    /// <param name="test">
    /// Which null distribution: <see cref="TCAVSignificanceTest.AmongRandomConcepts"/> (the default), or
    /// <see cref="TCAVSignificanceTest.AgainstReferenceRandomConcept"/>, the design of Captum's TCAV tutorial.
    /// </param>
    /// <param name="cancellationToken">Checked as in <see cref="Interpret"/>.</param>
    /// <returns>Per layer, in <see cref="LayerNames"/> order, the scores, the test and its verdict.</returns>
    /// <exception cref="ArgumentException">
    /// Fewer than three random concepts, a repeated one or the concept among them (<c>randomConcepts</c>), alpha out of
    /// range (<c>alpha</c>), or any error of <see cref="Interpret"/>.
    /// </exception>
    /// <remarks>
    /// Beyond Captum, whose TCAV tutorial does this by hand. With random concepts r_1 … r_N:
    /// <para><see cref="TCAVSignificanceTest.AmongRandomConcepts"/> asks whether the concept scores like one more random
    /// concept. Every pair of the N + 1 concepts is interpreted ([concept, r_j] and [r_i, r_j]); each concept's mean
    /// score against the N others is its TCAV score; the concept's is compared with the N random concepts' by
    /// Student's t for one new observation (t = (score - mean) / (sd √(1 + 1/N)), N - 1 degrees of freedom). Under
    /// the null hypothesis the N + 1 means are exchangeable, so the spread between random concepts, which the
    /// tutorial's test leaves out, is what the concept is measured against. N (N + 1) / 2 CAVs per layer; the N (N - 1)
    /// / 2 of the random pairs are cached and shared by every concept tested against the same random concepts.</para>
    /// <para><see cref="TCAVSignificanceTest.AgainstReferenceRandomConcept"/> is the tutorial's: the sets [concept, r_i]
    /// and [r_1, r_i] for i = 2 … N, the concept's scores against r_1's by a two-sided Welch t-test. It measures how
    /// the concept differs from one random concept, r_1, and counts that concept's own offset as an effect: on the
    /// scenes model an unrelated concept came out significant at alpha 0.05 for many seeds (docs/quality.md). 2 (N -
    /// 1) CAVs per layer.</para>
    /// </remarks>
    public IReadOnlyList<ConceptSignificance> TestSignificance(
        Inputs inputs,
        Concept concept,
        IReadOnlyList<Concept> randomConcepts,
        TCAVOptions? options = null,
        double alpha = 0.05,
        TCAVScoreKind score = TCAVScoreKind.SignCount,
        TCAVSignificanceTest test = TCAVSignificanceTest.AmongRandomConcepts,
        CancellationToken cancellationToken = default)
    {
        using var turn = gate.EnterScope();
        ArgumentNullException.ThrowIfNull(concept);
        ArgumentNullException.ThrowIfNull(randomConcepts);
        if (randomConcepts.Count < 3)
        {
            throw new ArgumentException(
                $"randomConcepts must hold at least three random concepts (the t-test needs two degrees of freedom or two scores per group); got {randomConcepts.Count}.",
                nameof(randomConcepts));
        }

        if (randomConcepts.Any(r => r is null) || randomConcepts.Select(r => r.Id).Distinct().Count() != randomConcepts.Count || randomConcepts.Any(r => r.Id == concept.Id))
        {
            throw new ArgumentException("randomConcepts must be distinct concepts (distinct ids), none of them the concept tested.", nameof(randomConcepts));
        }

        if (!(alpha > 0 && alpha < 1))
        {
            throw new ArgumentOutOfRangeException(nameof(alpha), alpha, "alpha must be in (0, 1).");
        }

        if (!Enum.IsDefined(test))
        {
            throw new ArgumentOutOfRangeException(nameof(test), test, "test must be AmongRandomConcepts or AgainstReferenceRandomConcept.");
        }

        return test == TCAVSignificanceTest.AmongRandomConcepts
            ? AmongRandomConcepts(inputs, concept, randomConcepts, options, alpha, score, cancellationToken)
            : AgainstReference(inputs, concept, randomConcepts, options, alpha, score, cancellationToken);
    }

    private List<ConceptSignificance> AmongRandomConcepts(
        Inputs inputs, Concept concept, IReadOnlyList<Concept> randoms, TCAVOptions? options, double alpha, TCAVScoreKind score, CancellationToken cancellationToken)
    {
        var n = randoms.Count;
        var sets = new List<IReadOnlyList<Concept>>();
        sets.AddRange(randoms.Select(r => (IReadOnlyList<Concept>)[concept, r]));
        var pairs = new List<(int I, int J)>();
        for (var i = 0; i < n; i++)
        {
            for (var j = i + 1; j < n; j++)
            {
                pairs.Add((i, j));
                sets.Add([randoms[i], randoms[j]]);
            }
        }

        var result = Interpret(inputs, sets, options, cancellationToken);
        var significance = new List<ConceptSignificance>();
        foreach (var layer in LayerNames)
        {
            IReadOnlyList<double> Of(int set) => score == TCAVScoreKind.SignCount ? result[set, layer].SignCount : result[set, layer].Magnitude;

            // Each concept's own score in each pair it is part of (never assumed to be the complement of its partner's).
            var conceptScores = Enumerable.Range(0, n).Select(j => Of(j)[0]).ToArray();
            var randomSums = Enumerable.Range(0, n).Select(i => Of(i)[1]).ToArray();
            for (var p = 0; p < pairs.Count; p++)
            {
                var both = Of(n + p);
                randomSums[pairs[p].I] += both[0];
                randomSums[pairs[p].J] += both[1];
            }

            var randomMeans = randomSums.Select(sum => sum / n).ToArray();
            significance.Add(ConceptSignificance.AmongRandomConcepts(concept, layer, score, conceptScores, randomMeans, alpha));
        }

        return significance;
    }

    private List<ConceptSignificance> AgainstReference(
        Inputs inputs, Concept concept, IReadOnlyList<Concept> randomConcepts, TCAVOptions? options, double alpha, TCAVScoreKind score, CancellationToken cancellationToken)
    {
        var partners = randomConcepts.Skip(1).ToList();
        var sets = new List<IReadOnlyList<Concept>>();
        sets.AddRange(partners.Select(r => (IReadOnlyList<Concept>)[concept, r]));
        sets.AddRange(partners.Select(r => (IReadOnlyList<Concept>)[randomConcepts[0], r]));

        var result = Interpret(inputs, sets, options, cancellationToken);
        var significance = new List<ConceptSignificance>();
        foreach (var layer in LayerNames)
        {
            IReadOnlyList<double> Of(int set) => score == TCAVScoreKind.SignCount ? result[set, layer].SignCount : result[set, layer].Magnitude;
            var conceptScores = Enumerable.Range(0, partners.Count).Select(s => Of(s)[0]).ToArray();
            var randomScores = Enumerable.Range(partners.Count, partners.Count).Select(s => Of(s)[0]).ToArray();
            significance.Add(ConceptSignificance.AgainstReference(concept, layer, score, conceptScores, randomScores, alpha));
        }

        return significance;
    }

    /// <summary>Frees every activation and CAV held in memory (the disk cache stays).</summary>
    public void ClearCache()
    {
        using var turn = gate.EnterScope();
        store.Clear();
        known.Clear();
    }

    /// <summary>Frees the caches held in memory.</summary>
    public void Dispose()
    {
        using var turn = gate.EnterScope();
        store.Dispose();
    }

    private Tensor Attribute(int layer, Inputs inputs, TCAVOptions options, CancellationToken cancellationToken)
    {
        // Captum's default layer_attr_method: LayerGradientXActivation(multiply_by_inputs=False), the plain gradients;
        // its tutorial's: LayerIntegratedGradients(multiply_by_inputs=False).
        using var result = options.Attribution == TCAVAttribution.IntegratedGradients
            ? new LayerIntegratedGradients(Model, layers[layer], multiplyByInputs: false).Attribute(inputs, new LayerIntegratedGradientsOptions
            {
                Target = options.Target,
                AdditionalForwardArgs = options.AdditionalForwardArgs,
                Baselines = options.Baselines,
                Steps = options.Steps,
                Method = options.Method,
                InternalBatchSize = options.InternalBatchSize,
                AttributeToLayerInput = AttributeToLayerInput,
            }, cancellationToken)
            : new LayerGradientXActivation(Model, layers[layer], multiplyByInputs: false).Attribute(inputs, new LayerGradientXActivationOptions
            {
                Target = options.Target,
                AdditionalForwardArgs = options.AdditionalForwardArgs,
                AttributeToLayerInput = AttributeToLayerInput,
            }, cancellationToken);
        return Flatten(result.Layers[0], inputs.Tensors[0].shape[0], LayerNames[layer]);
    }

    /// <summary>A layer's tensors as one row per example, [examples, features].</summary>
    /// <exception cref="ArgumentException">A tensor is not batch first (ParamName <c>layers</c>): an RNN's hidden state, say.</exception>
    private Tensor Flatten(IReadOnlyList<Tensor> tensors, long examples, string layer)
    {
        if (tensors.Any(t => t.dim() == 0 || t.shape[0] != examples))
        {
            throw new ArgumentException(
                $"layers: '{layer}' {(AttributeToLayerInput ? "takes" : "gives")} {tensors.Count} tensor(s) of shapes {string.Join(", ", tensors.Select(t => Shapes.Format(t.shape)))} for {examples} examples: TCAV needs every one batch first, one row per example (an RNN's hidden state [layers, n, hidden] is not). Choose a layer whose {(AttributeToLayerInput ? "inputs are" : "output is")} batch first, or a module that returns only such tensors.",
                "layers");
        }

        return torch.cat(tensors.Select(t => t.reshape(t.shape[0], -1)).ToArray(), 1);
    }

    private void CheckSets(IReadOnlyList<IReadOnlyList<Concept>> experimentalSets)
    {
        const string Name = "experimentalSets";
        ArgumentNullException.ThrowIfNull(experimentalSets, Name);
        if (experimentalSets.Count == 0)
        {
            throw new ArgumentException("experimentalSets must hold at least one set of concepts.", Name);
        }

        var seen = new Dictionary<int, Concept>(known);
        for (var s = 0; s < experimentalSets.Count; s++)
        {
            var set = experimentalSets[s];
            if (set is null || set.Count < 2 || set.Any(c => c is null))
            {
                throw new ArgumentException($"experimentalSets[{s}] must hold at least two concepts (a CAV separates concepts), none null.", Name);
            }

            if (set.Select(c => c.Id).Distinct().Count() != set.Count)
            {
                throw new ArgumentException($"experimentalSets[{s}] names one concept id twice: {string.Join(", ", set)}.", Name);
            }

            foreach (var c in set)
            {
                if (seen.TryGetValue(c.Id, out var other) && !ReferenceEquals(other, c))
                {
                    throw new ArgumentException($"experimentalSets[{s}]: {c} and {other} share the id {c.Id}; reuse the same Concept instance for one concept.", Name);
                }

                seen[c.Id] = c;
            }
        }

        foreach (var (id, c) in seen)
        {
            known[id] = c;
        }
    }

    private List<IReadOnlyList<CAV>> EnsureCavs(
        IReadOnlyList<IReadOnlyList<Concept>> sets,
        bool forceTrain,
        long[][]? inputShapes,
        IProgress<TCAVProgress>? progress,
        CancellationToken cancellationToken)
    {
        var cavs = sets.Select(_ => new CAV?[layers.Length]).ToList();
        var toTrain = new List<(int Set, int Layer)>();
        for (var s = 0; s < sets.Count; s++)
        {
            for (var l = 0; l < layers.Length; l++)
            {
                cavs[s][l] = forceTrain ? null : store.Cav(sets[s], LayerNames[l]);
                if (cavs[s][l] is null)
                {
                    toTrain.Add((s, l));
                }
            }
        }

        // The (concept, layers) whose activations neither cache holds, checked before any forward pass.
        var missing = toTrain
            .SelectMany(p => sets[p.Set].Select(c => (Concept: c, p.Layer)))
            .Where(p => forceTrain || !store.HasActivations(p.Concept, LayerNames[p.Layer]))
            .GroupBy(p => p.Concept.Id)
            .Select(g => (Concept: g.First().Concept, Layers: g.Select(p => p.Layer).Distinct().Order().ToArray()))
            .ToList();
        foreach (var (concept, _) in missing)
        {
            CheckFirstBatch(concept, inputShapes);
        }

        var computed = new Dictionary<(int, int), Tensor>();
        for (var i = 0; i < missing.Count; i++)
        {
            var (concept, conceptLayers) = missing[i];
            var values = ComputeActivations(concept, conceptLayers, inputShapes, cancellationToken);
            for (var k = 0; k < conceptLayers.Length; k++)
            {
                store.StoreActivations(concept, LayerNames[conceptLayers[k]], values[k]);
                computed[(concept.Id, conceptLayers[k])] = values[k];
            }

            progress?.Report(new TCAVProgress(TCAVStage.Activations, i + 1, missing.Count));
        }

        for (var i = 0; i < toTrain.Count; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var (s, l) = toTrain[i];
            using var trainScope = torch.NewDisposeScope();
            var set = sets[s];
            var activations = set.Select(c => computed.TryGetValue((c.Id, l), out var t) ? t : store.Activations(c, LayerNames[l])!).ToArray();
            var features = activations.Select(a => a.shape[1]).Distinct().ToArray();
            if (features.Length != 1)
            {
                throw new ArgumentException(
                    $"experimentalSets[{s}]: the concepts' activations in '{LayerNames[l]}' have different sizes ({string.Join(", ", set.Zip(activations, (c, a) => $"{c}: {a.shape[1]}"))}); their examples must have one shape.",
                    "experimentalSets");
            }

            var x = torch.cat(activations, 0);
            var labels = torch.cat(set.Zip(activations, (c, a) => torch.full(a.shape[0], (long)c.Id, ScalarType.Int64, x.device)).ToArray(), 0);
            var trained = Classifier.TrainAndEvaluate(x, labels, cancellationToken);
            var cav = new CAV(set, LayerNames[l], trained.Weights.detach().clone().MoveToOuterDisposeScope(), trained.Classes, trained.Accuracy);
            trained.Dispose();
            store.StoreCav(cav);
            cavs[s][l] = cav;
            progress?.Report(new TCAVProgress(TCAVStage.Classifiers, i + 1, toTrain.Count));
        }

        return cavs.Select(c => (IReadOnlyList<CAV>)c.Select(v => v!).ToArray()).ToList();
    }

    private static void CheckFirstBatch(Concept concept, long[][]? inputShapes)
    {
        if (concept.Examples is null)
        {
            throw new ArgumentException($"experimentalSets: {concept} has no examples (it was created without an example source) and no cached activations or CAV.", "experimentalSets");
        }

        using var scope = torch.NewDisposeScope();
        using var enumerator = concept.Examples.GetEnumerator();
        if (!enumerator.MoveNext() || enumerator.Current.Tensors.Count == 0 || enumerator.Current.Tensors[0].dim() == 0 || enumerator.Current.Tensors[0].shape[0] == 0)
        {
            throw new ArgumentException($"experimentalSets: {concept} has no examples (its first batch is missing or empty).", "experimentalSets");
        }

        CheckBatch(concept, 0, enumerator.Current, inputShapes ?? enumerator.Current.Tensors.Select(t => t.shape.Length > 0 ? t.shape[1..] : []).ToArray());
    }

    private static void CheckBatch(Concept concept, int index, Inputs batch, long[][] expected)
    {
        var tensors = batch.Tensors;
        string Shapes(IEnumerable<long[]> shapes) => string.Join(", ", shapes.Select(s => $"[{string.Join(", ", s)}]"));
        var actual = tensors.Select(t => t.shape.Length > 0 ? t.shape[1..] : []).ToArray();
        if (tensors.Any(t => t.dim() == 0) || actual.Length != expected.Length || actual.Zip(expected).Any(p => !p.First.SequenceEqual(p.Second)))
        {
            throw new ArgumentException(
                $"experimentalSets: {concept}, batch {index}: examples of shape {Shapes(actual)} (per example, without the batch dimension); expected {Shapes(expected)}, the shape of the inputs.",
                "experimentalSets");
        }

        if (tensors.Select(t => t.shape[0]).Distinct().Count() != 1)
        {
            throw new ArgumentException($"experimentalSets: {concept}, batch {index}: its tensors have different batch sizes.", "experimentalSets");
        }
    }

    private Tensor[] ComputeActivations(Concept concept, int[] conceptLayers, long[][]? inputShapes, CancellationToken cancellationToken)
    {
        var activation = new LayerActivation(Model, conceptLayers.Select(l => (LayerReference)layers[l]).ToArray());
        var parts = conceptLayers.Select(_ => new List<Tensor>()).ToArray();
        using var collect = torch.NewDisposeScope();
        long[][]? expected = inputShapes;
        var index = 0;
        foreach (var batch in Batches(concept))
        {
            cancellationToken.ThrowIfCancellationRequested();
            expected ??= batch.Tensors.Select(t => t.shape.Length > 0 ? t.shape[1..] : []).ToArray();
            CheckBatch(concept, index++, batch, expected);
            using var values = activation.Attribute(batch, new LayerActivationOptions { AttributeToLayerInput = AttributeToLayerInput }, cancellationToken);
            for (var k = 0; k < conceptLayers.Length; k++)
            {
                parts[k].Add(Flatten(values.Layers[k], batch.Tensors[0].shape[0], LayerNames[conceptLayers[k]]).MoveToOtherDisposeScope(collect));
            }
        }

        if (parts[0].Sum(p => p.shape[0]) == 0)
        {
            throw new ArgumentException($"experimentalSets: {concept} has no examples.", "experimentalSets");
        }

        return parts.Select(p => torch.cat(p.ToArray(), 0).MoveToOuterDisposeScope()).ToArray();
    }

    /// <summary>
    /// The concept's batches, each made inside a dispose scope of its own that ends when the next one is asked for (or
    /// the enumeration stops): what the example source creates for a batch is freed once the batch is used, while
    /// tensors it made before (a list of the caller's) are untouched.
    /// </summary>
    private static IEnumerable<Inputs> Batches(Concept concept)
    {
        using var enumerator = concept.Examples!.GetEnumerator();
        for (var index = 0; ; index++)
        {
            var scope = torch.NewDisposeScope();
            try
            {
                bool more;
                try
                {
                    more = enumerator.MoveNext();
                }
                catch (Exception e) when (index > 0 && (e is ObjectDisposedException || e.Message.Contains("empty handle", StringComparison.Ordinal)))
                {
                    throw new InvalidOperationException(
                        $"The example source of {concept} failed on batch {index} with a freed object: what a source creates while making a batch is freed once that batch is used, so a tensor it keeps for later batches must be made before the enumeration (or detached from the dispose scope).",
                        e);
                }

                if (!more)
                {
                    yield break;
                }

                yield return enumerator.Current;
            }
            finally
            {
                scope.Dispose();
            }
        }
    }
}

/// <summary>Which layer sensitivities TCAV projects on the concept vectors.</summary>
public enum TCAVAttribution
{
    /// <summary>The gradients of the target output with respect to the layer (Captum's default: LayerGradientXActivation with multiply_by_inputs=False).</summary>
    Gradient,

    /// <summary>Layer integrated gradients without the multiplication by the layer's difference from the baseline (Captum's TCAV tutorial: LayerIntegratedGradients with multiply_by_inputs=False).</summary>
    IntegratedGradients,
}

/// <summary>The arguments of <see cref="TCAV.Interpret"/> and <see cref="TCAV.TestSignificance"/>, with Captum's defaults.</summary>
/// <remarks>Python: the keyword arguments of <c>TCAV.interpret</c> and of its layer attribution method's <c>attribute</c>.</remarks>
public sealed record TCAVOptions
{
    /// <summary>Which output to explain; none when the model returns one value per example. Python: <c>target</c>.</summary>
    public Target Target { get; init; }

    /// <summary>Further forward arguments after the inputs (for the inputs' attributions, not for concept examples). Python: <c>additional_forward_args</c>.</summary>
    public IReadOnlyList<object?>? AdditionalForwardArgs { get; init; }

    /// <summary>The layer sensitivities. Default <see cref="TCAVAttribution.Gradient"/>, Captum's. Python: <c>layer_attr_method</c>.</summary>
    public TCAVAttribution Attribution { get; init; } = TCAVAttribution.Gradient;

    /// <summary>The baselines of <see cref="TCAVAttribution.IntegratedGradients"/> (zeros when none). Python: <c>baselines</c>.</summary>
    public Baselines Baselines { get; init; }

    /// <summary>The integration steps of <see cref="TCAVAttribution.IntegratedGradients"/>. Default 50. Python: <c>n_steps</c>.</summary>
    public int Steps { get; init; } = 50;

    /// <summary>The integration rule of <see cref="TCAVAttribution.IntegratedGradients"/>. Default Gauss-Legendre. Python: <c>method</c>.</summary>
    public IntegrationMethod Method { get; init; } = IntegrationMethod.GaussLegendre;

    /// <summary>At most this many expanded rows per pass of <see cref="TCAVAttribution.IntegratedGradients"/>. Python: <c>internal_batch_size</c>.</summary>
    public int? InternalBatchSize { get; init; }

    /// <summary>
    /// Receives each stage's progress on the calling thread: concepts whose activations were computed, CAVs trained,
    /// layers attributed (each stage reported only when it has work). Beyond Captum.
    /// </summary>
    public IProgress<TCAVProgress>? Progress { get; init; }
}
