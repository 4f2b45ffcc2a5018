using Captum.Runtime;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Captum.Influence;

/// <summary>Maps each batch of a data set to a tensor, in order.</summary>
internal delegate List<Tensor> BatchMap(Func<InfluenceBatch, Tensor> map);

/// <summary>
/// The loop every TracIn quantity is: load each checkpoint in turn, compute its term over the batches of a data set,
/// and sum the terms. Streams the batches (each batch's intermediates are freed before the next), reports batches
/// done over all checkpoints, honours cancellation, and restores the model when it ends.
/// </summary>
internal sealed class CheckpointSweep(nn.Module model, IReadOnlyList<TrainingCheckpoint> checkpoints, IReadOnlyList<Parameter> parameters)
{
    /// <summary>Σ over checkpoints of <paramref name="term"/>(learning rate, the data's batches); the caller disposes it.</summary>
    public Tensor Sum(
        IEnumerable<InfluenceBatch> data,
        IProgress<AttributionProgress>? progress,
        CancellationToken cancellationToken,
        Func<double, BatchMap, Tensor> term)
    {
        ArgumentNullException.ThrowIfNull(data);
        var batchCount = (data as IReadOnlyCollection<InfluenceBatch>)?.Count;
        var done = 0;
        using var scope = torch.NewDisposeScope();
        using var snapshot = new ModelSnapshot(model, parameters);
        Tensor? sum = null;
        long? firstExamples = null;
        foreach (var checkpoint in checkpoints)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var rate = checkpoint.Load(model);
            if (!double.IsFinite(rate) || rate < 0)
            {
                throw new ArgumentException(
                    $"checkpoints: checkpoint '{checkpoint.Name}' gave the learning rate {rate.ToString(System.Globalization.CultureInfo.InvariantCulture)}; a learning rate must be a finite number of 0 or more.",
                    "checkpoints");
            }

            using var checkpointScope = torch.NewDisposeScope();
            List<Tensor> Batches(Func<InfluenceBatch, Tensor> map)
            {
                var results = new List<Tensor>();
                var index = 0;
                long examples = 0;
                foreach (var batch in data)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    if (batch is null)
                    {
                        throw new ArgumentException($"data: batch {index} is null.", nameof(data));
                    }

                    batch.Validate($"batch {index} of the data");
                    using (var batchScope = torch.NewDisposeScope())
                    {
                        try
                        {
                            results.Add(map(batch).MoveToOuterDisposeScope());
                        }
                        catch (System.Runtime.InteropServices.ExternalException ex) when (!TorchRuntime.IsOutOfMemory(ex))
                        {
                            // The model's own refusal (a width it cannot take): say which batch, not only libtorch's words.
                            throw new ArgumentException($"data: the model cannot take batch {index} (libtorch: {ErrorMessages.OneLine(ex)}).", nameof(data), ex);
                        }
                    }

                    examples += batch.Count;
                    index++;
                    done++;
                    progress?.Report(new AttributionProgress(done, batchCount is { } c ? Math.Max(c * checkpoints.Count, done) : done));
                }

                if (index == 0)
                {
                    throw new ArgumentException("data: no batch.", nameof(data));
                }

                if (firstExamples is { } expected && examples != expected)
                {
                    throw new ArgumentException(
                        $"data: it gave {examples} examples for checkpoint '{checkpoint.Name}' but {expected} for the first: it must give the same examples, in the same order, each time it is enumerated.",
                        nameof(data));
                }

                firstExamples = examples;
                return results;
            }

            var next = term(rate, Batches);
            next = sum is null ? next : sum + next;
            next.MoveToOuterDisposeScope();
            sum = next;
        }

        return sum!.MoveToOuterDisposeScope();
    }
}
