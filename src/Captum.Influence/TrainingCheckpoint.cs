using Captum.Checkpoints;
using TorchSharp;
using static TorchSharp.torch;

namespace Captum.Influence;

/// <summary>
/// One checkpoint saved during training: loading it puts its weights into the model and gives the learning rate of
/// the training phase that followed it, the factor of its term in TracIn's sum.
/// </summary>
/// <remarks>Python: the <c>checkpoints</c> and <c>checkpoints_load_func</c> arguments of <c>TracInCP</c>.</remarks>
public abstract class TrainingCheckpoint
{
    /// <summary>How messages and progress name the checkpoint.</summary>
    public abstract string Name { get; }

    /// <summary>Loads the checkpoint's weights into <paramref name="model"/> and returns its learning rate.</summary>
    public abstract double Load(nn.Module model);

    /// <inheritdoc/>
    public override string ToString() => Name;

    /// <summary>A checkpoint held in memory as a state dict (the tensors are copied into the model, not kept by it).</summary>
    /// <param name="state">Parameter and buffer names to tensors, as <c>model.state_dict()</c> gives them.</param>
    /// <param name="learningRate">The learning rate of the term; 1 by default, as Captum's loader when a file holds none.</param>
    /// <param name="name">How messages name it.</param>
    public static TrainingCheckpoint FromStateDict(IReadOnlyDictionary<string, Tensor> state, double learningRate = 1.0, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(state);
        return new Delegated(name ?? "state dict", model =>
        {
            TorchCheckpoint.LoadStateDict(model, state);
            return learningRate;
        });
    }

    /// <summary>
    /// A checkpoint file written by <c>torch.save</c>: a state dict, or a dict holding one under
    /// <c>"model_state_dict"</c> or <c>"state_dict"</c>, with the learning rate under <c>"learning_rate"</c> when the
    /// file has it (Captum's <c>_load_flexible_state_dict</c>), else <paramref name="learningRate"/>. A <c>module.</c>
    /// prefix (nn.DataParallel) is removed. The file is read on every load, so a long list of checkpoints costs no memory.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="path"/> is empty.</exception>
    public static TrainingCheckpoint FromFile(string path, double learningRate = 1.0)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        return new Delegated(path, model =>
        {
            using var scope = torch.NewDisposeScope();
            using var value = TorchCheckpoint.Load(path);
            var key = value.TryGet("model_state_dict", out _) ? "model_state_dict" : value.TryGet("state_dict", out _) ? "state_dict" : null;
            var rate = value.TryGet("learning_rate", out var stored) ? Convert.ToDouble(stored.Raw, System.Globalization.CultureInfo.InvariantCulture) : learningRate;
            TorchCheckpoint.LoadStateDict(model, TorchCheckpoint.StateDict(value, key).StripPrefix());
            return rate;
        });
    }

    /// <summary>A checkpoint loaded by a function of the user's, which returns the learning rate.</summary>
    public static TrainingCheckpoint FromFunction(string name, Func<nn.Module, double> load)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(load);
        return new Delegated(name, load);
    }

    /// <summary>Checks a method's checkpoints: at least one, none null.</summary>
    /// <exception cref="ArgumentException">The message names checkpoints.</exception>
    internal static void RequireSome(IReadOnlyList<TrainingCheckpoint> checkpoints)
    {
        if (checkpoints.Count == 0 || checkpoints.Any(c => c is null))
        {
            throw new ArgumentException("checkpoints: give at least one checkpoint (and no null).", nameof(checkpoints));
        }
    }

    private sealed class Delegated(string name, Func<nn.Module, double> load) : TrainingCheckpoint
    {
        public override string Name => name;

        public override double Load(nn.Module model) => load(model);
    }
}
