using System.Runtime.CompilerServices;
using Captum.Layers;
using Captum.Runtime;
using static TorchSharp.torch;

namespace Captum.Attr;

/// <summary>
/// Stands in for an embedding layer so attribution methods can work on embeddings instead of token ids:
/// while it is configured, the embedding layer passes through any floating-point tensor it receives
/// (the embeddings, computed beforehand with <see cref="IndicesToEmbeddings"/>), and still looks up
/// integer ids as before.
/// </summary>
/// <remarks>
/// Python: <c>captum.attr.InterpretableEmbeddingBase</c>. Created by
/// <see cref="InterpretableEmbeddings.ConfigureInterpretableEmbeddingLayer"/> and undone by
/// <see cref="InterpretableEmbeddings.RemoveInterpretableEmbeddingLayer"/>. TorchSharp's modules hold
/// their children in typed fields (often the sealed <c>Embedding</c>), so instead of swapping the object
/// as Captum does, the embedding layer is redirected with forward hooks; the model's object graph is not
/// changed and removing the layer restores the original behaviour exactly.
/// </remarks>
public sealed class InterpretableEmbeddingBase : nn.Module<Tensor, Tensor>
{
    private IDisposable? preHook;
    private IDisposable? postHook;

    internal InterpretableEmbeddingBase(nn.Module<Tensor, Tensor> embedding, string fullName)
        : base(nameof(InterpretableEmbeddingBase))
    {
        Embedding = embedding;
        FullName = fullName;
    }

    /// <summary>The original embedding layer. Python: <c>embedding</c>.</summary>
    public nn.Module<Tensor, Tensor> Embedding { get; }

    /// <summary>The embedding's dotted path in the model. Python: <c>full_name</c>.</summary>
    public string FullName { get; }

    /// <summary>True until the layer is removed.</summary>
    public bool IsConfigured => preHook is not null;

    /// <summary>Returns the embeddings it is given. Python: <c>forward</c>.</summary>
    public override Tensor forward(Tensor input) => input;

    /// <summary>
    /// Maps token ids to embeddings with the original layer (the caller owns the result).
    /// Python: <c>indices_to_embeddings</c>.
    /// </summary>
    public Tensor IndicesToEmbeddings(Tensor indices)
    {
        ArgumentNullException.ThrowIfNull(indices);
        if (indices.is_floating_point())
        {
            throw new ArgumentException($"indices must be integer token ids, not {indices.dtype}.", nameof(indices));
        }

        return Embedding.call(indices);
    }

    internal void Attach()
    {
        // Per execution flow: the pre-hook and post-hook of one call run in the caller's flow, and calls from other
        // threads must not take each other's embeddings.
        var pending = new AsyncLocal<Tensor?>();
        preHook = LayerHooks.Register(Embedding, onInput: true, everywhere: true, hook: values =>
        {
            var x = values[0];
            if (!x.is_floating_point())
            {
                pending.Value = null; // a previous call that threw between the hooks must not leak into this one
                return null;
            }

            pending.Value = x;
            return [torch.zeros(x.shape[..^1], ScalarType.Int64, x.device)];
        });
        postHook = LayerHooks.Register(Embedding, onInput: false, everywhere: true, hook: _ =>
        {
            if (pending.Value is not { } embeddings)
            {
                return null;
            }

            pending.Value = null;
            return [call(embeddings)];
        });
    }

    internal void Detach()
    {
        preHook?.Dispose();
        postHook?.Dispose();
        preHook = null;
        postHook = null;
    }
}

/// <summary>Configures and removes interpretable embedding layers.</summary>
public static class InterpretableEmbeddings
{
    private static readonly ConditionalWeakTable<nn.Module, InterpretableEmbeddingBase> Configured = new();
    private static readonly Lock Gate = new();

    /// <summary>
    /// Makes the embedding layer at <paramref name="embeddingLayerName"/> accept embeddings, so that plain
    /// Integrated Gradients can attribute to them. Token ids keep working.
    /// </summary>
    /// <param name="model">The model holding the layer; it is left unchanged apart from the redirection.</param>
    /// <param name="embeddingLayerName">The layer's dotted path, e.g. <c>"text.embedding"</c>; it must be a <c>Module&lt;Tensor, Tensor&gt;</c>.</param>
    /// <returns>The interpretable layer: turn ids into embeddings with <see cref="InterpretableEmbeddingBase.IndicesToEmbeddings"/>.</returns>
    /// <exception cref="ArgumentException">No such layer, it is not a tensor-to-tensor module, or it is already configured.</exception>
    /// <remarks>Python: <c>configure_interpretable_embedding_layer(model, embedding_layer_name="embedding")</c>.</remarks>
    public static InterpretableEmbeddingBase ConfigureInterpretableEmbeddingLayer(nn.Module model, string embeddingLayerName = "embedding")
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(embeddingLayerName);
        TorchRuntime.EnsureAvailable();
        var layer = LayerPath.Resolve(model, embeddingLayerName, nameof(embeddingLayerName));
        if (layer is not nn.Module<Tensor, Tensor> embedding)
        {
            throw new ArgumentException(
                $"embeddingLayerName: '{embeddingLayerName}' is a {layer.GetType().Name}, not a Module<Tensor, Tensor> embedding layer.",
                nameof(embeddingLayerName));
        }

        lock (Gate)
        {
            if (Configured.TryGetValue(embedding, out _))
            {
                throw new ArgumentException(
                    $"embeddingLayerName: an interpretable embedding layer is already configured on '{embeddingLayerName}'; remove it before configuring it again.",
                    nameof(embeddingLayerName));
            }

            var interpretable = new InterpretableEmbeddingBase(embedding, embeddingLayerName);
            interpretable.Attach();
            Configured.Add(embedding, interpretable);
            return interpretable;
        }
    }

    /// <summary>
    /// Whether an interpretable embedding layer is configured on <paramref name="embeddingLayer"/> (the layer object
    /// itself, not its path), so that it now passes floating-point embeddings through. A model whose forward takes
    /// either token ids or embeddings asks this to refuse embeddings, with a message, when nothing would pass them.
    /// </summary>
    public static bool IsConfigured(nn.Module embeddingLayer)
    {
        ArgumentNullException.ThrowIfNull(embeddingLayer);
        lock (Gate)
        {
            return Configured.TryGetValue(embeddingLayer, out _);
        }
    }

    /// <summary>Restores the original embedding layer; the model then computes exactly what it did before.</summary>
    /// <exception cref="ArgumentException">The layer is not configured (never was, or was already removed).</exception>
    /// <remarks>Python: <c>remove_interpretable_embedding_layer(model, interpretable_emb)</c>.</remarks>
    public static void RemoveInterpretableEmbeddingLayer(nn.Module model, InterpretableEmbeddingBase interpretableEmb)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(interpretableEmb);
        lock (Gate)
        {
            if (!Configured.TryGetValue(interpretableEmb.Embedding, out var current) || !ReferenceEquals(current, interpretableEmb))
            {
                throw new ArgumentException("interpretableEmb is not configured on this model (already removed?).", nameof(interpretableEmb));
            }

            if (LayerPath.PathOf(model, interpretableEmb.Embedding) is null)
            {
                throw new ArgumentException($"interpretableEmb belongs to a layer that is not part of this model ('{interpretableEmb.FullName}').", nameof(model));
            }

            interpretableEmb.Detach();
            Configured.Remove(interpretableEmb.Embedding);
        }
    }
}
