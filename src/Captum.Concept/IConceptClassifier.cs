namespace Captum.Concept;

/// <summary>
/// A classifier that separates the activations of concepts: trained on a layer's activations labelled with concept
/// ids, it returns one weight vector per class, and those vectors are the concept activation vectors.
/// </summary>
/// <remarks>
/// Python: <c>captum.concept._utils.classifier.Classifier</c>, whose <c>train_and_eval</c>, <c>weights()</c> and
/// <c>classes()</c> are here one call returning all three. Captum hands the classifier a data loader of activation
/// batches; here it gets the activations of all the set's examples at once (Captum's default classifier concatenates
/// them anyway). The default is <see cref="LinearConceptClassifier"/>.
/// </remarks>
public interface IConceptClassifier
{
    /// <summary>Trains on <paramref name="activations"/> and <paramref name="labels"/> and evaluates the result.</summary>
    /// <param name="activations">[n, features], one row per concept example (floating point). Not modified; the caller disposes it.</param>
    /// <param name="labels">[n] int64, each row's concept id. Not modified; the caller disposes it.</param>
    /// <param name="cancellationToken">Checked during training.</param>
    /// <returns>
    /// The weights [classes, features], one row per class in the order of <see cref="ConceptClassifierResult.Classes"/>
    /// (for two classes, the two rows are usually w and -w, as Captum's default gives); the caller disposes it.
    /// </returns>
    ConceptClassifierResult TrainAndEvaluate(Tensor activations, Tensor labels, CancellationToken cancellationToken = default);
}

/// <summary>What a concept classifier learned: one weight row per class, and how well it separates them.</summary>
public sealed class ConceptClassifierResult : IDisposable
{
    /// <summary>Creates a result that owns <paramref name="weights"/>.</summary>
    /// <param name="weights">[classes, features], one row per class of <paramref name="classes"/>, in that order.</param>
    /// <param name="classes">The class labels (concept ids) of the rows.</param>
    /// <param name="accuracy">The accuracy measured (on a held-out split for the default classifier), or null.</param>
    /// <exception cref="ArgumentException">The weights are not 2-D with one row per class, or a class repeats.</exception>
    public ConceptClassifierResult(Tensor weights, IReadOnlyList<long> classes, double? accuracy)
    {
        ArgumentNullException.ThrowIfNull(weights);
        ArgumentNullException.ThrowIfNull(classes);
        if (weights.dim() != 2 || weights.shape[0] != classes.Count)
        {
            throw new ArgumentException(
                $"weights must be [classes, features] with one row per class ({classes.Count}); got [{string.Join(", ", weights.shape)}].",
                nameof(weights));
        }

        if (classes.Distinct().Count() != classes.Count)
        {
            throw new ArgumentException($"classes must be distinct; got [{string.Join(", ", classes)}].", nameof(classes));
        }

        Weights = weights;
        Classes = classes;
        Accuracy = accuracy;
    }

    /// <summary>[classes, features]. Python: <c>weights()</c>.</summary>
    public Tensor Weights { get; }

    /// <summary>The class (concept id) of each weight row. Python: <c>classes()</c>.</summary>
    public IReadOnlyList<long> Classes { get; }

    /// <summary>The classifier's accuracy, or null when it measured none. Python: the <c>accs</c> statistic.</summary>
    public double? Accuracy { get; }

    /// <summary>Frees the weights.</summary>
    public void Dispose() => Weights.Dispose();
}
