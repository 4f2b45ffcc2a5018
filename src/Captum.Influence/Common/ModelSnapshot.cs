using System.Runtime.CompilerServices;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Captum.Influence;

/// <summary>
/// The state an influence method changes on the user's model (its weights, as checkpoints are loaded, and the
/// <c>requires_grad</c> of the parameters it differentiates), put back when disposed: Captum leaves the last
/// checkpoint's weights in the model; here the model is left as it was given. Held, the snapshot also holds the
/// model's influence lock: influence calls on one model from several threads take turns (each loads its checkpoints
/// into the model, so overlapping ones would compute with each other's weights), re-entrantly on one thread.
/// </summary>
internal sealed class ModelSnapshot : IDisposable
{
    private static readonly ConditionalWeakTable<nn.Module, object> Gates = [];

    private readonly nn.Module model;
    private readonly object gate;
    private readonly List<(string Name, Tensor Copy)> state = [];
    private readonly List<(Parameter Parameter, bool RequiresGrad)> flags = [];
    private bool disposed;

    public ModelSnapshot(nn.Module model, IEnumerable<Parameter> differentiated)
    {
        this.model = model;
        gate = Gates.GetValue(model, _ => new object());
        Monitor.Enter(gate);
        try
        {
            Take(differentiated);
        }
        catch
        {
            Restore();
            Monitor.Exit(gate);
            throw;
        }
    }

    public void Dispose()
    {
        if (disposed)
        {
            return;
        }

        disposed = true;
        try
        {
            Restore();
        }
        finally
        {
            Monitor.Exit(gate);
        }
    }

    private void Take(IEnumerable<Parameter> differentiated)
    {
        using (torch.no_grad())
        {
            foreach (var (name, tensor) in model.state_dict())
            {
                // Owned by the model (native layers make the wrappers they then keep): not the caller's scope's to free.
                tensor.DetachFromDisposeScope();
                var copy = tensor.detach().clone();
                copy.DetachFromDisposeScope();
                state.Add((name, copy));
            }
        }

        foreach (var p in differentiated)
        {
            flags.Add((p, p.requires_grad));
            p.requires_grad_(true);
        }
    }

    private void Restore()
    {
        foreach (var (p, requiresGrad) in flags)
        {
            p.requires_grad_(requiresGrad);
        }

        var current = model.state_dict();
        foreach (var tensor in current.Values)
        {
            tensor.DetachFromDisposeScope();
        }

        using (torch.no_grad())
        {
            foreach (var (name, copy) in state)
            {
                current[name].copy_(copy);
                copy.Dispose();
            }
        }

        state.Clear();
        flags.Clear();
    }
}
