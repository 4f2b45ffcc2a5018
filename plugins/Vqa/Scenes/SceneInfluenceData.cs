using Captum.Influence;

namespace Captum.Plugins.Vqa.Scenes;

/// <summary>
/// Scene questions as influence data: batches of (image, question tokens, question length; answer class), made when
/// enumerated and freed when the enumeration moves on, so a long training stream never holds more than one batch.
/// </summary>
/// <param name="items">The questions, in order: training example j is items[j].</param>
/// <param name="batchSize">Questions per batch.</param>
public sealed class SceneInfluenceData(IReadOnlyList<SceneItem> items, int batchSize) : IReadOnlyCollection<InfluenceBatch>
{
    /// <summary>The number of batches.</summary>
    public int Count => (items.Count + batchSize - 1) / batchSize;

    /// <summary>One batch of questions, as the scenes model takes them; its tensors belong to the current dispose scope.</summary>
    public static InfluenceBatch Batch(IReadOnlyList<SceneItem> items)
    {
        var batch = SceneBatch.Create(items, SceneCheckpoint.Encoder, SceneCheckpoint.AnswerIndices);
        var images = batch.Images.index_select(0, batch.ImageIndex);
        batch.Images.Dispose();
        batch.ImageIndex.Dispose();
        return new InfluenceBatch([images, batch.Questions, batch.Lengths], batch.Answers);
    }

    /// <inheritdoc />
    public IEnumerator<InfluenceBatch> GetEnumerator()
    {
        foreach (var chunk in items.Chunk(batchSize))
        {
            InfluenceBatch batch;
            using (var scope = torch.NewDisposeScope())
            {
                batch = Batch(chunk);
                foreach (var tensor in batch.Inputs.Append(batch.Labels))
                {
                    tensor.DetachFromDisposeScope();
                }
            }

            try
            {
                yield return batch;
            }
            finally
            {
                foreach (var tensor in batch.Inputs.Append(batch.Labels))
                {
                    tensor.Dispose();
                }
            }
        }
    }

    System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
}
