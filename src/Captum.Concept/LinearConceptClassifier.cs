// Captum's default concept classifier is scikit-learn's SGDClassifier, which does not exist in .NET; this is the same
// objective (L2-regularised hinge loss, one-vs-rest, unregularised intercept) minimised by deterministic full-batch
// subgradient descent in TorchSharp. No served package trains a linear SVM on TorchSharp tensors.
namespace Captum.Concept;

/// <summary>
/// The default concept classifier: a linear support vector machine (hinge loss, L2 penalty <see cref="Alpha"/>, one
/// weight vector per class, one-vs-rest for more than two classes), trained in TorchSharp on a seeded shuffled split,
/// its accuracy measured on the held-out part.
/// </summary>
/// <remarks>
/// <para>
/// Python: <c>captum.concept._utils.classifier.DefaultClassifier</c>, which trains scikit-learn's
/// <c>SGDClassifier(alpha=0.01, max_iter=1000, tol=1e-3)</c> on a random 67 / 33 train / test split.
/// What is the same: the objective, for each class k with labels y = ±1,
/// <c>alpha/2 |w|² + mean(max(0, 1 - y (w·x + b)))</c>, with an unpenalised intercept; the split (shuffled, the first
/// <c>floor(TestSplitRatio n)</c> examples held out); for two classes, weights [-w, w] for the classes in ascending order.
/// </para>
/// <para>
/// What differs: scikit-learn minimises it by stochastic gradient descent over shuffled single examples
/// (its <c>optimal</c> learning rate), so its answer depends on the shuffling seed and stops at its tolerance; this
/// classifier takes full-batch subgradient steps with the same learning-rate schedule, η_t = 1 / (alpha (t0 + t)) with
/// scikit-learn's t0, for at most <see cref="MaxIterations"/> steps, and keeps the iterate with the lowest objective, so
/// for given activations and <see cref="Seed"/> it always returns the same weights. Captum draws its split from
/// Python's global <c>random</c>; here it comes from <see cref="Seed"/>. Captum's reported accuracy for two concepts
/// is the share of the first concept in the test split (its linear model has one output, whose argmax is always 0);
/// here it is the classifier's accuracy, sign of w·x + b for two classes, the highest score for more.
/// Activations are used as given (Captum's default does not normalise them either); training runs in float64.
/// </para>
/// </remarks>
public sealed class LinearConceptClassifier : IConceptClassifier
{
    /// <summary>The L2 penalty. Default 0.01, Captum's. Python: SGDClassifier's <c>alpha</c>.</summary>
    public double Alpha { get; init; } = 0.01;

    /// <summary>The most full-batch steps. Default 1000. Python: SGDClassifier's <c>max_iter</c> (epochs there).</summary>
    public int MaxIterations { get; init; } = 1000;

    /// <summary>
    /// Training stops when the summed objective's best value has not improved by more than this over
    /// <see cref="NoChangeIterations"/> steps. Default 1e-4 (smaller than scikit-learn's 1e-3, since one full-batch
    /// step here is smaller than an epoch of single-example steps there). Python: SGDClassifier's <c>tol</c>.
    /// </summary>
    public double Tolerance { get; init; } = 1e-4;

    /// <summary>Steps without improvement before stopping. Default 10. Python: SGDClassifier's <c>n_iter_no_change</c> (5).</summary>
    public int NoChangeIterations { get; init; } = 10;

    /// <summary>The share of examples held out to measure the accuracy. Default 0.33. Python: <c>test_split_ratio</c>.</summary>
    public double TestSplitRatio { get; init; } = 0.33;

    /// <summary>The seed of the train / test shuffle. Default 0.</summary>
    public long Seed { get; init; }

    /// <inheritdoc />
    /// <exception cref="ArgumentException">
    /// The activations are not 2-D floating point, the labels are not one int64 per row, fewer than two classes, or the
    /// options are out of range.
    /// </exception>
    public ConceptClassifierResult TrainAndEvaluate(Tensor activations, Tensor labels, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(activations);
        ArgumentNullException.ThrowIfNull(labels);
        CheckOptions();
        if (activations.dim() != 2 || !activations.is_floating_point())
        {
            throw new ArgumentException($"activations must be [n, features] floating point; got [{string.Join(", ", activations.shape)}] {activations.dtype}.", nameof(activations));
        }

        if (labels.dim() != 1 || labels.shape[0] != activations.shape[0] || labels.dtype != ScalarType.Int64)
        {
            throw new ArgumentException($"labels must be [n] int64 with n = {activations.shape[0]}; got [{string.Join(", ", labels.shape)}] {labels.dtype}.", nameof(labels));
        }

        using var scope = torch.NewDisposeScope();
        var classes = labels.unique().Item1.data<long>().ToArray();
        if (classes.Length < 2)
        {
            throw new ArgumentException($"labels must hold at least two classes (concepts); got [{string.Join(", ", classes)}].", nameof(labels));
        }

        var n = activations.shape[0];
        var x = activations.detach().to(ScalarType.Float64);
        var order = torch.randperm(n, generator: new torch.Generator((ulong)Seed), device: x.device);
        var testSize = (long)Math.Floor(TestSplitRatio * n);
        if (n - testSize < 1)
        {
            throw new ArgumentException($"TestSplitRatio {TestSplitRatio} leaves no training example of {n}.", nameof(TestSplitRatio));
        }

        var testRows = order[..(int)testSize];
        var trainRows = order[(int)testSize..];
        var xTrain = x.index_select(0, trainRows);
        var classTensor = torch.tensor(classes, device: x.device);

        // One binary problem per weight row: two classes share one (positive = the larger id), more use one-vs-rest.
        var positives = classes.Length == 2 ? classTensor[1..] : classTensor;
        var yTrain = (labels.index_select(0, trainRows).unsqueeze(1) == positives.unsqueeze(0)).to(ScalarType.Float64) * 2 - 1;
        var (w, b) = Fit(xTrain, yTrain, cancellationToken);

        var weights = classes.Length == 2 ? torch.cat([-w, w], 0) : w;
        double? accuracy = null;
        if (testSize > 0)
        {
            var xTest = x.index_select(0, testRows);
            var decision = xTest.matmul(w.t()) + b;
            var predicted = classes.Length == 2
                ? classTensor.index_select(0, (decision[.., 0] > 0).to(ScalarType.Int64))
                : classTensor.index_select(0, decision.argmax(1));
            accuracy = (predicted == labels.index_select(0, testRows)).to(ScalarType.Float64).mean().item<double>();
        }

        var result = weights.to(activations.dtype).MoveToOuterDisposeScope();
        return new ConceptClassifierResult(result, classes, accuracy);
    }

    private (Tensor W, Tensor B) Fit(Tensor x, Tensor y, CancellationToken cancellationToken)
    {
        var (m, features) = (x.shape[0], x.shape[1]);
        var problems = y.shape[1];
        var w = torch.zeros(problems, features, ScalarType.Float64, x.device);
        var b = torch.zeros(problems, ScalarType.Float64, x.device);
        var bestW = w.clone();
        var bestB = b.clone();
        var bestObjective = torch.full(problems, double.PositiveInfinity, ScalarType.Float64, x.device);

        // scikit-learn's "optimal" schedule: η_t = 1 / (α (t0 + t)), t0 from its typical-weight heuristic, but with a
        // first step no larger than 1 / max |x|²: full-batch steps on large activations (thousands of features) would
        // otherwise overshoot so far that no iterate beats w = 0.
        // The intercept keeps scikit-learn's steps (its scale is the decision's, not the activations').
        var largest = x.square().sum(dim: 1).max().item<double>();
        var sklearnEta0 = Math.Pow(Alpha, -0.25);
        var eta0 = Math.Min(sklearnEta0, largest > 0 ? 1 / largest : double.PositiveInfinity);
        var interceptScale = sklearnEta0 / eta0;
        var t0 = 1.0 / (Alpha * eta0);
        var best = double.PositiveInfinity;
        var sinceImprovement = 0;
        for (var t = 0; t < MaxIterations; t++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            using var step = torch.NewDisposeScope();
            var margins = y * (x.matmul(w.t()) + b);
            var objective = (0.5 * Alpha * w.square().sum(dim: 1)) + (1 - margins).clamp_min(0).mean([0]);
            var improved = objective < bestObjective;
            bestObjective.copy_(torch.where(improved, objective, bestObjective));
            bestW.copy_(torch.where(improved.unsqueeze(1), w, bestW));
            bestB.copy_(torch.where(improved, b, bestB));

            var total = bestObjective.sum().item<double>();
            if (total < best - Tolerance)
            {
                best = total;
                sinceImprovement = 0;
            }
            else if (++sinceImprovement >= NoChangeIterations)
            {
                break;
            }

            var pull = (margins < 1).to(ScalarType.Float64) * y;
            var eta = 1.0 / (Alpha * (t0 + t));
            w.sub_(eta * ((Alpha * w) - (pull.t().matmul(x) / m)));
            b.add_(eta * interceptScale * pull.mean([0]));
        }

        return (bestW, bestB);
    }

    private void CheckOptions()
    {
        if (!(Alpha > 0) || double.IsInfinity(Alpha))
        {
            throw new ArgumentOutOfRangeException(nameof(Alpha), Alpha, "Alpha must be a positive finite number.");
        }

        if (MaxIterations < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxIterations), MaxIterations, "MaxIterations must be at least 1.");
        }

        if (NoChangeIterations < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(NoChangeIterations), NoChangeIterations, "NoChangeIterations must be at least 1.");
        }

        if (!(Tolerance >= 0))
        {
            throw new ArgumentOutOfRangeException(nameof(Tolerance), Tolerance, "Tolerance must be 0 or more.");
        }

        if (!(TestSplitRatio >= 0 && TestSplitRatio < 1))
        {
            throw new ArgumentOutOfRangeException(nameof(TestSplitRatio), TestSplitRatio, "TestSplitRatio must be in [0, 1).");
        }
    }
}
