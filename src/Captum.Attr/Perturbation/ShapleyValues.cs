using Captum.Forward;
using Captum.Runtime;

namespace Captum.Attr;

/// <summary>
/// Shapley Values, exactly: for every order of the features, starts from the baselines and adds the features back
/// one by one in that order, crediting each feature with the rise of the explained output when it was added; the
/// attributions are the averages over all orders, which are the features' Shapley values.
/// </summary>
/// <remarks>
/// <para>Python: <c>captum.attr.ShapleyValues(forward_func)</c>.</para>
/// <para>
/// It is <see cref="ShapleyValueSampling"/> run on every permutation of the features (in lexicographic order of the
/// feature ids, as Python's <c>itertools.permutations</c> enumerates them) instead of random ones, so the result is
/// deterministic and, for every example, the attributions sum to F(input) - F(baseline). Features are the distinct ids
/// of the feature mask and may span inputs; without a mask every scalar is a feature.
/// </para>
/// <para>
/// Cost: 1 + f! * ceil(f / PerturbationsPerEval) forward passes for f features, without gradients. Captum warns
/// from 10 features on; here more than <see cref="MaxFeatures"/> features are refused (group them with a feature
/// mask, or use <see cref="ShapleyValueSampling"/>). Mask ids need not be contiguous: an id that appears nowhere
/// is no feature here, while Captum also permutes it (which changes nothing but the cost). Outputs: one value per
/// example gives attributions of the inputs' shapes; k values for the whole batch give first dimension k
/// (PerturbationsPerEval must then be 1 and every mask's first dimension 1).
/// </para>
/// </remarks>
public sealed class ShapleyValues : IAttributionMethod<ShapleyValuesOptions>
{
    /// <summary>
    /// The largest number of features accepted: 9 features take 9! = 362,880 orders, each of 9 evaluations (Captum
    /// warns from 10 features on).
    /// </summary>
    public const int MaxFeatures = 9;

    private readonly ForwardFunction forward;

    /// <summary>Creates the method for <paramref name="forwardFunc"/>.</summary>
    /// <param name="forwardFunc">The model or function to explain. Python: <c>forward_func</c>.</param>
    public ShapleyValues(ForwardFunction forwardFunc)
    {
        ArgumentNullException.ThrowIfNull(forwardFunc);
        TorchRuntime.EnsureAvailable();
        forward = forwardFunc;
    }

    /// <summary>False: perturbation methods have no convergence delta. Python: <c>has_convergence_delta()</c>.</summary>
    public bool HasConvergenceDelta => false;

    /// <summary>Computes the Shapley value of every feature and spreads it over the feature's elements.</summary>
    /// <param name="inputs">One tensor or several, batch first; floating point or integer. They are not modified.</param>
    /// <param name="options">Baselines, target, feature mask and the rest; Captum's defaults when null.</param>
    /// <param name="cancellationToken">Checked before every forward evaluation.</param>
    /// <returns>
    /// One attribution per input, of its shape (first dimension 1 for a forward function that returns one scalar
    /// for the batch), in the output's floating type; the caller disposes it.
    /// </returns>
    /// <exception cref="ArgumentException">
    /// An argument does not fit, or there are more than <see cref="MaxFeatures"/> features (parameter FeatureMask); the
    /// message names the argument and what was expected.
    /// </exception>
    public AttributionResult Attribute(Inputs inputs, ShapleyValuesOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new ShapleyValuesOptions();
        var masked = !options.FeatureMask.IsNone;
        return ShapleyEngine.Run(forward, inputs, options, () => { }, ids =>
        {
            if (ids.Length > MaxFeatures)
            {
                throw new ArgumentException(
                    $"FeatureMask (feature_mask): there are {ids.Length} features ({(masked ? "distinct mask ids" : "every scalar of the inputs, as no mask was given")}), but exact Shapley values take every order of them, f! * f evaluations; at most {MaxFeatures} features are accepted. Group elements into fewer features with a feature mask, or use ShapleyValueSampling.",
                    "FeatureMask");
            }

            return (AllOrders(ids), Factorial(ids.Length));
        }, cancellationToken);
    }

    /// <summary>
    /// Every order of <paramref name="ids"/> (ascending), in lexicographic order, each rearranging one array in place.
    /// </summary>
    private static IEnumerable<long[]> AllOrders(long[] ids)
    {
        var order = (long[])ids.Clone();
        while (true)
        {
            yield return order;

            // The next permutation: the longest descending suffix is reversed after swapping its predecessor with the
            // smallest larger element in it.
            var i = order.Length - 2;
            while (i >= 0 && order[i] >= order[i + 1])
            {
                i--;
            }

            if (i < 0)
            {
                yield break;
            }

            var j = order.Length - 1;
            while (order[j] <= order[i])
            {
                j--;
            }

            (order[i], order[j]) = (order[j], order[i]);
            Array.Reverse(order, i + 1, order.Length - i - 1);
        }
    }

    private static long Factorial(int count)
    {
        long result = 1;
        for (var k = 2; k <= count; k++)
        {
            result *= k;
        }

        return result;
    }
}

/// <summary>The arguments of <see cref="ShapleyValues.Attribute"/>.</summary>
/// <remarks>
/// Python: the keyword arguments of <c>ShapleyValues.attribute</c>. <see cref="MaskedPerturbationOptions.FeatureMask"/> here: groups elements into features added together (ids may span inputs); none makes every scalar a feature. At most <see cref="ShapleyValues.MaxFeatures"/> distinct ids.
/// </remarks>
public sealed record ShapleyValuesOptions : MaskedPerturbationOptions
{
}
