using Captum.Forward;
using Captum.Runtime;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Captum.Influence;

/// <summary>
/// The influence function of Koh and Liang (2017), computed exactly: the influence of training example z on test
/// example x is ∇L(x)ᵀ H⁻¹ ∇L(z), with the gradients taken with respect to the model's parameters (all of them, or
/// those of chosen layers) at one checkpoint, and H the Hessian of the summed training loss with respect to the same
/// parameters. It approximates how much x's loss would change if z were up-weighted and the model retrained.
/// </summary>
/// <remarks>
/// <para>Python: <c>captum.influence.NaiveInfluenceFunction(model, train_dataset, checkpoint, checkpoints_load_func,
/// layers, loss_fn, batch_size, hessian_dataset, test_loss_fn, sample_wise_grads_per_batch, projection_dim, seed,
/// hessian_reg, hessian_inverse_tol, projection_on_cpu, show_progress)</c>. As Captum: H is the sum over the Hessian
/// data of each batch's Hessian of its summed loss, regularised by <c>HessianReg</c>·I; its eigenvalues above
/// <c>HessianInverseTol</c> are kept, the <c>ProjectionDim</c> largest of them, and every example is represented by
/// its gradient times R = V Λ^(-1/2) (eigenvectors signed so that each sums to a positive number), so that influence
/// is a dot product of those representations and self influence their squared norm.</para>
/// <para>Differences: the Hessian is computed on the first call (with its progress and cancellation) and kept, not in
/// the constructor; the model's weights and <c>requires_grad</c> are restored after each call, where Captum leaves the
/// checkpoint loaded; no global random seed is set (Captum's <c>seed</c> seeds PyTorch's global generator, and this
/// method draws nothing at random); the loss is always per example (see <see cref="InfluenceLoss"/>).</para>
/// <para>Cost: the Hessian takes one backward pass per differentiated parameter per Hessian batch, and P² numbers
/// for P parameters; it is for small models or a few layers ("naive"). Calls on one instance are serialised; calls on
/// instances sharing a model must not overlap.</para>
/// </remarks>
public sealed class NaiveInfluenceFunction : IDisposable
{
    private readonly IEnumerable<InfluenceBatch> trainingData;
    private readonly IEnumerable<InfluenceBatch> hessianData;
    private readonly CheckpointSweep sweep;
    private readonly ForwardFunction forward;
    private readonly InfluenceLoss loss;
    private readonly InfluenceLoss testLoss;
    private readonly NaiveInfluenceFunctionOptions options;
    private readonly object gate = new();
    private Tensor? projection;
    private bool disposed;

    /// <summary>Creates the method; nothing is computed until the first call.</summary>
    /// <param name="model">The trained model's architecture; the checkpoint's weights are loaded into it while a call runs.</param>
    /// <param name="trainingData">The training examples in batches, in a fixed order; training example j is the j-th example it yields.</param>
    /// <param name="checkpoint">The checkpoint whose parameters the gradients and the Hessian are taken at (its learning rate is not used).</param>
    /// <param name="options">Layers, losses, Hessian data and the inverse's settings; Captum's defaults when null.</param>
    /// <exception cref="ArgumentException">A layer is not in the model, or an option is out of range; the message names it.</exception>
    public NaiveInfluenceFunction(nn.Module model, IEnumerable<InfluenceBatch> trainingData, TrainingCheckpoint checkpoint, NaiveInfluenceFunctionOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(trainingData);
        ArgumentNullException.ThrowIfNull(checkpoint);
        this.options = options ?? new NaiveInfluenceFunctionOptions();
        this.options.Validate();
        TorchRuntime.EnsureAvailable();

        this.trainingData = trainingData;
        hessianData = this.options.HessianData ?? trainingData;
        forward = ForwardFunction.FromModule(model);
        loss = this.options.Loss ?? InfluenceLosses.CrossEntropy;
        testLoss = this.options.TestLoss ?? loss;
        Parameters = InfluenceParameters.Of(model, this.options.Layers);
        sweep = new CheckpointSweep(model, [checkpoint], Parameters);
    }

    /// <summary>The differentiated parameters, in the order their gradients are concatenated (the Hessian's rows and columns).</summary>
    public IReadOnlyList<Parameter> Parameters { get; }

    /// <summary>
    /// The influence of every training example on every test example: ∇L_test(x)ᵀ H⁻¹ ∇L(z), restricted to the kept
    /// eigenvalues of H.
    /// </summary>
    /// <param name="test">The test examples (their loss is <see cref="NaiveInfluenceFunctionOptions.TestLoss"/>).</param>
    /// <param name="progress">Reports batches done: the Hessian data's on the first call, then the training data's.</param>
    /// <param name="cancellationToken">Checked between batches and between examples.</param>
    /// <returns>[test examples, training examples]; the caller disposes it.</returns>
    /// <exception cref="ArgumentException">A batch does not fit the model or the loss; the message names it.</exception>
    /// <exception cref="InvalidOperationException">No eigenvalue of the Hessian is above <see cref="NaiveInfluenceFunctionOptions.HessianInverseTol"/>.</exception>
    /// <remarks>Python: <c>influence(inputs)</c> (k None).</remarks>
    public Tensor Influence(InfluenceBatch test, IProgress<AttributionProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(test);
        test.Validate(nameof(test));
        return Run(trainingData, progress, cancellationToken, (r, batches) =>
        {
            var testQuantities = Quantities(test, testLoss, r, cancellationToken);
            return torch.cat(batches(batch => torch.mm(testQuantities, Quantities(batch, loss, r, cancellationToken).t())), 1);
        });
    }

    /// <summary>The k training examples of highest (proponents) or lowest (opponents) influence on each test example, highest first (lowest first for opponents).</summary>
    /// <param name="test">The test examples.</param>
    /// <param name="k">How many, from 1 to the number of training examples.</param>
    /// <param name="proponents">True for the most positive influences, false for the most negative.</param>
    /// <param name="progress">As <see cref="Influence"/>.</param>
    /// <param name="cancellationToken">As <see cref="Influence"/>.</param>
    /// <returns>Indices and scores, [test examples, k] each; the caller disposes them.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="k"/> is below 1 or above the training set's size (checked first when the training data is a collection).</exception>
    /// <remarks>Python: <c>influence(inputs, k, proponents)</c>.</remarks>
    public MostInfluentialResult MostInfluential(InfluenceBatch test, int k, bool proponents = true, IProgress<AttributionProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        MostInfluentialResult.RequireK(k, trainingData);
        using var scores = Influence(test, progress, cancellationToken);
        return MostInfluentialResult.From(scores, k, proponents);
    }

    /// <summary>Each example's influence on itself, ∇L(z)ᵀ H⁻¹ ∇L(z), with the training loss; of the training examples unless <paramref name="examples"/> are given.</summary>
    /// <returns>[examples]; the caller disposes it.</returns>
    /// <remarks>Python: <c>self_influence(inputs_dataset)</c>.</remarks>
    public Tensor SelfInfluence(IEnumerable<InfluenceBatch>? examples = null, IProgress<AttributionProgress>? progress = null, CancellationToken cancellationToken = default) =>
        Run(examples ?? trainingData, progress, cancellationToken, (r, batches) =>
            torch.cat(batches(batch => Quantities(batch, loss, r, cancellationToken).pow(2).sum(1))));

    /// <summary>
    /// Each example's representation, its loss gradient times R = V Λ^(-1/2): influence is the dot product of two
    /// examples' representations. [examples, kept eigenvalues], or their sum, [1, kept eigenvalues], with
    /// <paramref name="aggregate"/>.
    /// </summary>
    /// <param name="examples">The examples.</param>
    /// <param name="aggregate">Whether to return the sum over the examples.</param>
    /// <param name="test">Whether to use the test loss instead of the training loss.</param>
    /// <param name="progress">As <see cref="Influence"/>.</param>
    /// <param name="cancellationToken">As <see cref="Influence"/>.</param>
    /// <returns>The representations; the caller disposes them.</returns>
    /// <remarks>Python: <c>compute_intermediate_quantities(inputs_dataset, aggregate, show_progress, return_on_cpu, test)</c>; the result stays on the model's device.</remarks>
    public Tensor ComputeIntermediateQuantities(IEnumerable<InfluenceBatch> examples, bool aggregate = false, bool test = false, IProgress<AttributionProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(examples);
        return Run(examples, progress, cancellationToken, (r, batches) =>
        {
            var rows = torch.cat(batches(batch => Quantities(batch, test ? testLoss : loss, r, cancellationToken)));
            return aggregate ? rows.sum(0, keepdim: true) : rows;
        });
    }

    /// <summary>Frees the kept projection.</summary>
    public void Dispose()
    {
        lock (gate)
        {
            projection?.Dispose();
            projection = null;
            disposed = true;
        }
    }

    private Tensor Run(IEnumerable<InfluenceBatch> data, IProgress<AttributionProgress>? progress, CancellationToken cancellationToken, Func<Tensor, BatchMap, Tensor> term)
    {
        lock (gate)
        {
            ObjectDisposedException.ThrowIf(disposed, this);
            projection ??= Projection(progress, cancellationToken);
            var r = projection;
            return sweep.Sum(data, progress, cancellationToken, (_, batches) => term(r, batches));
        }
    }

    private Tensor Quantities(InfluenceBatch batch, InfluenceLoss batchLoss, Tensor r, CancellationToken cancellationToken) =>
        torch.mm(PerExampleGradients.Compute(forward, Parameters, batch, batchLoss, cancellationToken), r);

    /// <summary>R = V Λ^(-1/2) from the Hessian's kept eigenpairs ([P, kept]); kept by the instance.</summary>
    private Tensor Projection(IProgress<AttributionProgress>? progress, CancellationToken cancellationToken)
    {
        RequireHessianFits();
        using var scope = torch.NewDisposeScope();
        using var hessian = sweep.Sum(hessianData, progress, cancellationToken, (_, batches) =>
        {
            Tensor? sum = null;
            batches(batch =>
            {
                var h = BatchHessian(batch, cancellationToken);
                if (sum is null)
                {
                    sum = h.MoveToOuterDisposeScope();
                }
                else
                {
                    sum.add_(h);
                }

                return torch.empty(0);
            });
            return sum!;
        });

        var regularised = hessian + (torch.eye(hessian.shape[0], dtype: hessian.dtype, device: hessian.device) * options.HessianReg);
        var (values, vectors) = torch.linalg.eig(regularised);
        var order = torch.argsort(values.real);
        var kept = (values.real.index_select(0, order) > options.HessianInverseTol).nonzero().reshape(-1);
        if (kept.shape[0] == 0)
        {
            throw new InvalidOperationException(
                $"The Hessian has no eigenvalue above HessianInverseTol ({options.HessianInverseTol}), so it cannot be inverted; lower HessianInverseTol or raise HessianReg.");
        }

        // Ascending, so the largest are last: keep the last ProjectionDim.
        if (options.ProjectionDim is { } dim && dim < kept.shape[0])
        {
            kept = kept.narrow(0, kept.shape[0] - dim, dim);
        }

        var l = values.real.index_select(0, order.index_select(0, kept));
        var v = vectors.real.index_select(1, order.index_select(0, kept));
        var sign = (v.sum(dim: 0) > 0).to(v.dtype) * 2 - 1;
        var r = ((v * sign.unsqueeze(0)) * l.pow(-0.5).unsqueeze(0)).detach().contiguous();
        r.DetachFromDisposeScope();
        return r;
    }

    /// <summary>The Hessian of the batch's summed loss with respect to the parameters, [P, P]: one backward pass per parameter.</summary>
    private Tensor BatchHessian(InfluenceBatch batch, CancellationToken cancellationToken)
    {
        using var grad = torch.enable_grad();
        var parameters = Parameters.Cast<Tensor>().ToArray();
        var total = PerExampleGradients.ExampleLosses(forward, batch, loss).sum();
        var first = torch.autograd.grad([total], parameters, retain_graph: true, create_graph: true, allow_unused: true);
        var gradient = torch.cat(Parameters.Select((p, k) => Flat(first[k], p)).ToArray());
        var size = gradient.shape[0];
        var rows = new Tensor[size];
        for (var i = 0; i < size; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var element = gradient[i];
            if (!element.requires_grad)
            {
                rows[i] = torch.zeros(size, gradient.dtype, gradient.device);
                continue;
            }

            var second = torch.autograd.grad([element], parameters, retain_graph: true, allow_unused: true);
            rows[i] = torch.cat(Parameters.Select((p, k) => Flat(second[k], p).detach()).ToArray());
        }

        return torch.stack(rows);
    }

    private static Tensor Flat(Tensor? gradient, Parameter parameter) =>
        gradient is { IsInvalid: false } g ? g.reshape(-1) : torch.zeros(parameter.numel(), parameter.dtype, parameter.device);

    /// <summary>Refuses a Hessian that cannot fit: its P² numbers, a few copies for the eigendecomposition, within the memory budget.</summary>
    private void RequireHessianFits()
    {
        var size = Parameters.Sum(p => p.numel());
        var bytes = (double)size * size * Parameters[0].ElementSize * 6;
        var budget = options.MemoryBudget ?? (long)(GC.GetGCMemoryInfo().TotalAvailableMemoryBytes * 0.25);
        if (bytes > budget)
        {
            throw new ArgumentException(
                $"Layers: the {size} differentiated parameters make a Hessian of {size}² numbers, about {bytes / (1 << 20):F0} MiB with its eigendecomposition, more than the memory budget ({budget / (1 << 20)} MiB); choose fewer layers, or raise MemoryBudget.",
                "Layers");
        }
    }
}

/// <summary>The settings of <see cref="NaiveInfluenceFunction"/>, with Captum's defaults.</summary>
/// <remarks>Python: the keyword arguments of <c>NaiveInfluenceFunction.__init__</c>.</remarks>
public sealed record NaiveInfluenceFunctionOptions
{
    /// <summary>The layers whose parameters are differentiated (modules or dotted paths); every parameter when null. Python: <c>layers</c>.</summary>
    public IReadOnlyList<Captum.Layers.LayerReference>? Layers { get; init; }

    /// <summary>The per-example loss of training examples (and of the Hessian data); cross entropy when null. Python: <c>loss_fn</c>.</summary>
    public InfluenceLoss? Loss { get; init; }

    /// <summary>The per-example loss of test examples; <see cref="Loss"/> when null. Python: <c>test_loss_fn</c>.</summary>
    public InfluenceLoss? TestLoss { get; init; }

    /// <summary>The examples whose summed loss's Hessian is inverted; the training data when null. Python: <c>hessian_dataset</c>.</summary>
    public IEnumerable<InfluenceBatch>? HessianData { get; init; }

    /// <summary>How many of the Hessian's largest kept eigenvalues are used, at least 1; all of them when null. Default 50. Python: <c>projection_dim</c>.</summary>
    public int? ProjectionDim { get; init; } = 50;

    /// <summary>Added to the Hessian's diagonal before it is decomposed, at least 0. Default 1e-6. Python: <c>hessian_reg</c>.</summary>
    public double HessianReg { get; init; } = 1e-6;

    /// <summary>Eigenvalues at or below this are dropped, at least 0. Default 1e-5. Python: <c>hessian_inverse_tol</c>.</summary>
    public double HessianInverseTol { get; init; } = 1e-5;

    /// <summary>
    /// The most bytes the Hessian and its eigendecomposition may take (about 6 P² elements for P parameters); a
    /// quarter of the memory available to the process when null, as the attribution methods' default budget.
    /// </summary>
    public long? MemoryBudget { get; init; }

    internal void Validate()
    {
        if (ProjectionDim is < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(ProjectionDim), ProjectionDim, "ProjectionDim must be at least 1, or null for every kept eigenvalue.");
        }

        if (!(HessianReg >= 0 && double.IsFinite(HessianReg)))
        {
            throw new ArgumentOutOfRangeException(nameof(HessianReg), HessianReg, "HessianReg must be finite and at least 0.");
        }

        if (!(HessianInverseTol >= 0 && double.IsFinite(HessianInverseTol)))
        {
            throw new ArgumentOutOfRangeException(nameof(HessianInverseTol), HessianInverseTol, "HessianInverseTol must be finite and at least 0.");
        }

        if (MemoryBudget is < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(MemoryBudget), MemoryBudget, "MemoryBudget must be at least 1 byte, or null for the default.");
        }
    }
}
