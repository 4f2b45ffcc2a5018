using Captum.Forward;
using static TorchSharp.torch;

namespace Captum.Attr;

/// <summary>
/// The LIME framework (Captum's <c>LimeBase</c> restricted to Lime's binary interpretable space): draws binary samples,
/// maps each to the inputs (features off take their baselines), weights it, evaluates the model and trains the
/// surrogate, one surrogate per example, or one for a forward function that returns one value per batch.
/// </summary>
internal static class LimeEngine
{
    /// <summary>Runs LIME; results live in the current dispose scope. Call it with gradients off.</summary>
    public static Tensor[] Attribute(
        ForwardFunction forward,
        IReadOnlyList<Tensor> inputs,
        LimeOptions options,
        ISurrogateModel model,
        SimilarityFunction similarity,
        PerturbFunction perturb,
        CancellationToken cancellationToken)
    {
        var n = ArgumentPreparation.BatchSize(inputs);
        var perEval = options.PerturbationsPerEval ?? 1;
        PerturbationEvaluation.PerturbationsPerEval(perEval);
        PerturbationEvaluation.Samples(options.Samples);
        options.Target.ValidateCount(n);
        var baselines = PerturbationEvaluation.Baselines(inputs, options.Baselines);
        var mask = ResolvedFeatureMask.Resolve(inputs, options.FeatureMask, n);
        using var random = RandomDraws.Create(options.Seed, options.Generator);
        var additional = options.AdditionalForwardArgs ?? [];
        var features = mask.Ids.Length;

        // Each mask element's position among the sorted feature ids: the interpretable feature it belongs to.
        var positions = new Tensor[inputs.Count];
        for (var i = 0; i < inputs.Count; i++)
        {
            var ids = torch.tensor(mask.Ids, ScalarType.Int64, inputs[i].device);
            // contiguous: a mask broadcast with expand is a strided view, for which libtorch's searchsorted prints a
            // performance warning on standard error.
            positions[i] = torch.searchsorted(ids, mask.Masks[i].contiguous());
        }

        // One value per example: a surrogate per example. One value per batch: one surrogate for the batch.
        var perExample = false;
        var extra = 0;
        if (n > 1)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var outputs = PerturbationEvaluation.Evaluate(forward, inputs, additional, options.Target).numel();
            extra = 1;
            if (outputs == n)
            {
                perExample = true;
            }
            else if (outputs != 1)
            {
                throw new ArgumentException(
                    $"The forward function returns {outputs} values for a batch of {n}: Lime needs one value per example (choose one with target) or one scalar for the whole batch.",
                    "target");
            }
            else if (perEval != 1)
            {
                throw new ArgumentException(
                    $"PerturbationsPerEval (perturbations_per_eval) is {perEval}, but the forward function returns one scalar for the whole batch: use 1.",
                    "PerturbationsPerEval");
            }
        }

        var models = perExample ? (int)n : 1;
        var perPass = Math.Min(perEval, options.Samples);
        var progress = new Counter(options.Progress, extra + (models * ((options.Samples + perPass - 1) / perPass)));
        if (extra > 0)
        {
            progress.Step();
        }

        var coefficients = new double[models][];
        var dtype = ScalarType.Float32;
        for (var e = 0; e < models; e++)
        {
            using var example = torch.NewDisposeScope();
            var slice = TensorIndex.Slice(e, e + 1);
            var exampleInputs = perExample ? inputs.Select(t => t[slice]).ToArray() : inputs.ToArray();
            var exampleBaselines = perExample ? baselines.Select(t => t[slice]).ToArray() : baselines;
            var examplePositions = perExample ? positions.Select(p => p.shape[0] == 1 ? p : p[slice]).ToArray() : positions;
            var exampleArgs = perExample ? additional.Select(a => a is Tensor t && t.dim() > 0 && t.shape[0] == n ? t[slice] : a).ToArray() : additional;
            var exampleTarget = perExample ? options.Target.Slice(e, 1) : options.Target;
            (coefficients[e], var outputType) = Train(
                forward, exampleInputs, exampleBaselines, examplePositions, exampleArgs, exampleTarget, features,
                options.Samples, perPass, model, similarity, perturb, random.Generator, progress, cancellationToken);
            dtype = outputType;
        }

        if (!options.ReturnInputShape)
        {
            var flat = coefficients.SelectMany(c => c).ToArray();
            return [torch.tensor(flat, [models, features], ScalarType.Float64).to(dtype, inputs[0].device)];
        }

        var result = new Tensor[inputs.Count];
        for (var i = 0; i < inputs.Count; i++)
        {
            var parts = new Tensor[models];
            for (var e = 0; e < models; e++)
            {
                var coefficient = torch.tensor(coefficients[e], ScalarType.Float64).to(dtype, inputs[i].device);
                var position = perExample && positions[i].shape[0] > 1 ? positions[i][TensorIndex.Slice(e, e + 1)] : positions[i];
                var shape = (long[])inputs[i].shape.Clone();
                shape[0] = perExample ? 1 : n;
                parts[e] = coefficient.index_select(0, position.reshape(-1)).reshape(position.shape).expand(shape);
            }

            result[i] = torch.cat(parts).contiguous();
        }

        return result;
    }

    /// <summary>Draws the samples for one surrogate, evaluates them and fits the surrogate.</summary>
    private static (double[] Coefficients, ScalarType OutputType) Train(
        ForwardFunction forward,
        Tensor[] inputs,
        Tensor[] baselines,
        Tensor[] positions,
        IReadOnlyList<object?> additional,
        Target target,
        int features,
        int samples,
        int perPass,
        ISurrogateModel model,
        SimilarityFunction similarity,
        PerturbFunction perturb,
        Generator generator,
        Counter progress,
        CancellationToken cancellationToken)
    {
        var x = new double[samples, features];
        var y = new double[samples];
        var w = new double[samples];
        var outputType = ScalarType.Float32;
        var expanded = PerturbationEvaluation.Expanded(additional, target, PerturbationEvaluation.ChunkSizes(samples, perPass));
        for (var start = 0; start < samples; start += perPass)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var count = Math.Min(perPass, samples - start);
            using (torch.NewDisposeScope())
            {
                var perturbed = new Tensor[inputs.Length][];
                for (var i = 0; i < inputs.Length; i++)
                {
                    perturbed[i] = new Tensor[count];
                }

                for (var s = 0; s < count; s++)
                {
                    var index = start + s;
                    var sample = Sample(perturb(inputs, features, index, generator), features, index);
                    var values = sample.data<long>();
                    for (var j = 0; j < features; j++)
                    {
                        x[index, j] = values[j];
                    }

                    var current = new Tensor[inputs.Length];
                    for (var i = 0; i < inputs.Length; i++)
                    {
                        var on = sample.to(inputs[i].device).reshape(-1).index_select(0, positions[i].reshape(-1)).reshape(positions[i].shape).ne(0);
                        current[i] = torch.where(on, inputs[i], baselines[i]);
                        perturbed[i][s] = current[i];
                    }

                    var weight = similarity(inputs, current, sample);
                    if (!(weight >= 0) || double.IsInfinity(weight))
                    {
                        throw new InvalidOperationException($"The similarity function returned {weight} for sample {index}; weights must be finite and non-negative.");
                    }

                    w[index] = weight;
                }

                var batch = perturbed.Select(p => torch.cat(p, 0)).ToArray();
                var (args, chunkTarget) = expanded[count];
                var output = PerturbationEvaluation.Evaluate(forward, batch, args, chunkTarget);
                if (output.numel() != count)
                {
                    throw new ArgumentException(
                        $"The forward function returned {output.numel()} value(s) for {count} perturbed sample(s); Lime needs exactly one per sample (with PerturbationsPerEval (perturbations_per_eval) above 1, one per example).",
                        "PerturbationsPerEval");
                }

                outputType = PerturbationEvaluation.AttributionType(output);
                var evaluated = output.to(ScalarType.Float64, torch.CPU).data<double>().ToArray();
                Array.Copy(evaluated, 0, y, start, count);
            }

            progress.Step();
        }

        var fitted = model.Fit(x, y, w).Coefficients;
        if (fitted.Count != features)
        {
            throw new InvalidOperationException($"The interpretable model returned {fitted.Count} coefficients for {features} features.");
        }

        return ([.. fitted], outputType);
    }

    /// <summary>Checks a drawn sample and returns it as a CPU int64 tensor of [1, features].</summary>
    private static Tensor Sample(Tensor sample, int features, int index)
    {
        if (sample is null || sample.IsInvalid)
        {
            throw new InvalidOperationException($"The perturbation function returned no tensor for sample {index}.");
        }

        if (sample.numel() != features)
        {
            throw new InvalidOperationException(
                $"The perturbation function returned {sample.numel()} values for sample {index}, but there are {features} interpretable features.");
        }

        var values = sample.detach().to(ScalarType.Int64, torch.CPU).reshape(1, features);
        if (values.lt(0).logical_or(values.gt(1)).any().item<bool>())
        {
            throw new InvalidOperationException($"The perturbation function returned values other than 0 and 1 for sample {index}.");
        }

        return values;
    }

    /// <summary>Lime's default similarity: exp(-d² / (2 width²)) of the distance between the flattened inputs.</summary>
    public static SimilarityFunction ExpKernel(LimeDistance distance, double kernelWidth)
    {
        if (!(kernelWidth > 0) || double.IsInfinity(kernelWidth))
        {
            throw new ArgumentOutOfRangeException(nameof(kernelWidth), kernelWidth, "kernelWidth must be a positive finite number.");
        }

        if (!Enum.IsDefined(distance))
        {
            throw new ArgumentOutOfRangeException(nameof(distance), distance, "distance must be Cosine or Euclidean.");
        }

        return (original, perturbed, _) =>
        {
            using var scope = torch.NewDisposeScope();
            var a = torch.cat(original.Select(t => t.detach().to_type(ScalarType.Float64).reshape(-1)).ToArray());
            var b = torch.cat(perturbed.Select(t => t.detach().to_type(ScalarType.Float64).to(a.device).reshape(-1)).ToArray());
            var d = distance == LimeDistance.Cosine
                ? 1 - torch.nn.functional.cosine_similarity(a, b, dim: 0, eps: 1e-8).item<double>()
                : (a - b).norm().item<double>();
            return Math.Exp(-(d * d) / (2 * kernelWidth * kernelWidth));
        };
    }

    /// <summary>Lime's default sampling: each feature on or off with probability 1/2 (Python: <c>torch.bernoulli</c> of 0.5).</summary>
    public static Tensor Bernoulli(IReadOnlyList<Tensor> original, int featureCount, int sampleIndex, Generator generator)
    {
        ArgumentNullException.ThrowIfNull(generator);
        using var scope = torch.NewDisposeScope();
        var probabilities = torch.full([1, featureCount], 0.5, ScalarType.Float32, generator.device);
        return torch.bernoulli(probabilities, generator).to(ScalarType.Int64, torch.CPU).MoveToOuterDisposeScope();
    }

    /// <summary>Counts forward evaluations and reports them.</summary>
    internal sealed class Counter(IProgress<AttributionProgress>? progress, int total)
    {
        private int done;

        public void Step()
        {
            done++;
            progress?.Report(new AttributionProgress(done, total));
        }
    }
}
