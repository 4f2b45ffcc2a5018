using TorchSharp;
using static TorchSharp.torch;

namespace Captum.Tests.Concepts;

using Concept = Captum.Concept.Concept;

/// <summary>
/// A model whose output is linear in one direction of its hidden layer: hidden = Q x (Q a random rotation), output =
/// d · hidden. The gradient of the output with respect to the hidden layer is d for every input, so a concept along d
/// scores 1 and one against it 0. With a curvature c, the output is d · hidden + c/2 (e · hidden)² for a unit e
/// orthogonal to d: the gradient, d + c (e · hidden) e, then varies with the input, and a concept whose vector has a
/// component along e scores between 0 and 1. Counts its forward passes.
/// </summary>
internal sealed class DirectionModel : nn.Module<Tensor, Tensor>
{
    private readonly TorchSharp.Modules.Linear hidden;
    private readonly TorchSharp.Modules.Linear head;

    private readonly double curvature;

    public DirectionModel(int features, long seed, double curvature = 0)
        : base(nameof(DirectionModel))
    {
        this.curvature = curvature;
        hidden = nn.Linear(features, features, hasBias: false);
        head = nn.Linear(features, 1, hasBias: false);
        RegisterComponents();
        using var scope = torch.NewDisposeScope();
        var generator = new torch.Generator((ulong)seed);
        var (q, _) = torch.linalg.qr(torch.randn(features, features, generator: generator));
        var d = torch.randn(features, generator: generator);
        d /= d.norm();
        var e = torch.randn(features, generator: generator);
        e -= e.dot(d) * d;
        e /= e.norm();
        using (torch.no_grad())
        {
            hidden.weight!.copy_(q);
            head.weight!.copy_(d.unsqueeze(0));
        }

        Rotation = q.detach().clone().DetachFromDisposeScope();
        Direction = d.detach().clone().DetachFromDisposeScope();
        Curved = e.detach().clone().DetachFromDisposeScope();
    }

    /// <summary>Q, [features, features].</summary>
    public Tensor Rotation { get; }

    /// <summary>d, unit length.</summary>
    public Tensor Direction { get; }

    /// <summary>e, unit length, orthogonal to d: the direction along which the output is curved.</summary>
    public Tensor Curved { get; }

    public int ForwardCalls { get; private set; }

    public override Tensor forward(Tensor x)
    {
        ForwardCalls++;
        var h = hidden.call(x);
        var output = head.call(h);
        return curvature == 0 ? output : output + (curvature / 2 * h.matmul(Curved).pow(2).unsqueeze(1));
    }

    /// <summary>Inputs whose hidden activations are <paramref name="along"/> d plus noise of standard deviation <paramref name="noise"/>.</summary>
    public Tensor Examples(int count, double along, double noise, long seed)
    {
        var generator = new torch.Generator((ulong)seed);
        var h = (along * Direction.unsqueeze(0)) + (noise * torch.randn(count, Direction.shape[0], generator: generator));

        // hidden = x Qᵀ, so x = h Q (Q orthogonal).
        return h.matmul(Rotation);
    }

    /// <summary>
    /// A concept the model does not use: examples shifted by <paramref name="shift"/> along a unit vector orthogonal to
    /// d, with noise that has no component along d either (so nothing about them differs along d).
    /// </summary>
    public Concept OrthogonalConcept(int id, string name, double shift, double noise, int batches = 4, int batchSize = 16)
    {
        // Made before the enumeration: what an example source creates while making a batch is freed after it.
        var d = Direction.unsqueeze(0);
        var e = torch.randn(Direction.shape[0], generator: new torch.Generator((ulong)id));
        e -= e.dot(Direction) * Direction;
        e /= e.norm();

        IEnumerable<Tensor> Make()
        {
            for (var b = 0; b < batches; b++)
            {
                var n = noise * torch.randn(batchSize, Direction.shape[0], generator: new torch.Generator((ulong)((id * 1000) + b)));
                n -= n.matmul(Direction).unsqueeze(1) * d;
                yield return ((shift * e.unsqueeze(0)) + n).matmul(Rotation);
            }
        }

        return new Concept(id, name, Make());
    }

    /// <summary>A concept of <paramref name="batches"/> lazily made batches of <paramref name="batchSize"/> examples.</summary>
    public Concept Concept(int id, string name, double along, double noise, int batches = 4, int batchSize = 16)
    {
        IEnumerable<Tensor> Make()
        {
            for (var b = 0; b < batches; b++)
            {
                yield return Examples(batchSize, along, noise, (id * 1000) + b);
            }
        }

        return new Concept(id, name, Make());
    }
}
