using Captum.Attr;
using Captum.Forward;
using Captum.Layers;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Captum.Tests.Core;

/// <summary>
/// Freeing a model's intermediates when each submodule returns (<see cref="IntermediateRelease"/>): fewer live
/// tensors, the same answers, hooked layers and models that need their intermediates left alone.
/// </summary>
[Collection("IntermediateRelease")]
public sealed class IntermediateReleaseTests
{
    [Fact]
    public void Invoke_BlockNet_FewerTensorsLiveAtTheLastLayer()
    {
        using var model = new BlockNet(seed: 1);
        using var x = torch.randn(4, 3, 8, 8, generator: new Generator(2));
        var forward = (ForwardFunction)model;

        var released = WithRelease(true, () => LiveAtProbe(model, () => forward.Invoke(x)));
        var kept = WithRelease(false, () => LiveAtProbe(model, () => forward.Invoke(x)));

        // Each of the three blocks makes 5 intermediates besides its output; released, only the outputs remain.
        Assert.True(released + 15 <= kept, $"live tensors at the last layer: {released} released, {kept} kept");
    }

    [Fact]
    public void Attribute_IntegratedGradientsOnBlockNet_SameAttributionsAsWithoutRelease()
    {
        using var model = new BlockNet(seed: 3);
        using var x = torch.randn(2, 3, 8, 8, generator: new Generator(4));
        var ig = new IntegratedGradients(model);
        var options = new IntegratedGradientsOptions { Steps = 16, Target = 1 };

        using var released = WithRelease(true, () => ig.Attribute(x, options));
        using var kept = WithRelease(false, () => ig.Attribute(x, options));

        Assert.True(Same(released.Attributions[0], kept.Attributions[0]));
    }

    [Fact]
    public void Attribute_LayerInsideABlock_CapturedValuesSurviveTheBlock()
    {
        using var model = new BlockNet(seed: 5);
        using var x = torch.randn(2, 3, 8, 8, generator: new Generator(6));
        var layer = model.Blocks[1].Conv1;
        var lig = new LayerIntegratedGradients(model, layer);
        var options = new LayerIntegratedGradientsOptions { Steps = 8, Target = 0 };

        using var released = WithRelease(true, () => lig.Attribute(x, options));
        using var kept = WithRelease(false, () => lig.Attribute(x, options));

        Assert.True(Same(released.Attribution, kept.Attribution));
        Assert.Equal(new long[] { 2, 4, 8, 8 }, released.Attribution.shape);
    }

    [Fact]
    public void Invoke_ModelReadsAChildsStashedTensor_ThrowsSayingSoOnceThenRunsUnreleased()
    {
        using var model = new StashingModel();
        using var x = torch.randn(3, 4, generator: new Generator(7));
        var forward = (ForwardFunction)model;
        using var expected = WithRelease(false, () => forward.Invoke(x).detach());
        var callsBefore = model.Child.Calls;

        var error = WithRelease(true, () => Record.Exception(() => forward.Invoke(x)));
        var callsOfFailed = model.Child.Calls - callsBefore;
        using var second = WithRelease(true, () => forward.Invoke(x));

        Assert.IsAssignableFrom<InvalidOperationException>(error);
        Assert.Contains("CAPTUM_RELEASE_INTERMEDIATES", error!.Message, StringComparison.Ordinal);
        Assert.Equal(1, callsOfFailed);
        Assert.True(Same(second, expected));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Attribute_LayerIntegratedGradientsModelReadsAStashedTensorAfterTheLayer_ThrowsSayingSoOnEitherPath(bool reusePrefix)
    {
        using var model = new StashAfterLayerModel();
        using var x = torch.randn(2, 4, generator: new Generator(13));
        var lig = new LayerIntegratedGradients(model, "lin");
        var callsBefore = model.Child.Calls;

        // The end-point passes stop at the layer; the first pass that runs the rest of the model fails. On the prefix
        // path that is its check's attempt, whose failure must not become a silent re-run on the expanded pass.
        var error = WithRelease(true, () => Record.Exception(() =>
            lig.Attribute(x, new LayerIntegratedGradientsOptions { Target = 0, Steps = 4, ReuseLayerPrefix = reusePrefix }).Dispose()));

        Assert.IsAssignableFrom<InvalidOperationException>(error);
        Assert.Contains("CAPTUM_RELEASE_INTERMEDIATES", error!.Message, StringComparison.Ordinal);
        Assert.Equal(1, model.Child.Calls - callsBefore);
    }

    [Fact]
    public void Invoke_ChildThrowsAndParentCatches_ResultStillFreedWithTheCallersScope()
    {
        using var model = new CatchingParent();
        using var x = torch.ones(2, 3);
        var forward = (ForwardFunction)model;
        var liveBefore = DisposeScopeManager.Statistics.ThreadTotalLiveCount;

        WithRelease(true, () =>
        {
            using (torch.NewDisposeScope())
            {
                Assert.Equal(2.0f * 6, forward.Invoke(x).sum().item<float>());
            }

            return 0;
        });

        Assert.Equal(liveBefore, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
    }

    [Fact]
    public void Attribute_LayerSharedByTwoParents_CapturedValuesSurviveEither()
    {
        using var model = new SharedLayerModel();
        using var x = torch.randn(2, 4, generator: new Generator(12));
        var activation = new LayerActivation(model, model.Shared);

        using var released = WithRelease(true, () => activation.Attribute(x));
        using var kept = WithRelease(false, () => activation.Attribute(x));

        Assert.True(Same(released.Attribution, kept.Attribution));
    }

    [Fact]
    public void Invoke_CallFailsOnItsOwn_ThrowsTheCallsErrorAndKeepsReleasing()
    {
        using var model = new BlockNet(seed: 8);
        using var wrong = torch.randn(2, 5, 8, 8);
        using var right = torch.randn(2, 3, 8, 8, generator: new Generator(9));
        var forward = (ForwardFunction)model;

        var error = WithRelease(true, () => Record.Exception(() => forward.Invoke(wrong)));
        var keptError = WithRelease(false, () => Record.Exception(() => forward.Invoke(wrong)));

        Assert.NotNull(error);
        Assert.Equal(keptError!.GetType(), error!.GetType());
        var released = WithRelease(true, () => LiveAtProbe(model, () => forward.Invoke(right)));
        var kept = WithRelease(false, () => LiveAtProbe(model, () => forward.Invoke(right)));
        Assert.True(released < kept, "the model is still released after a call of its own failed");
    }

    [Fact]
    public void Invoke_IdentityBlockReturnsItsInput_CallersTensorStaysAlive()
    {
        using var model = new Chain();
        using var x = torch.ones(2, 3);
        var forward = (ForwardFunction)model;

        WithRelease(true, () =>
        {
            using (torch.NewDisposeScope())
            {
                _ = forward.Invoke(x);
            }

            return 0;
        });

        Assert.False(x.IsInvalid);
        Assert.Equal(6.0f, x.sum().item<float>());
    }

    [Fact]
    public void Invoke_UserHookOnABlock_BlockAndItsAncestorsKeepTheirIntermediates()
    {
        using var model = new BlockNet(seed: 10);
        using var x = torch.randn(2, 3, 8, 8, generator: new Generator(11));
        Tensor? seen = null;
        var handle = model.Blocks[0].Conv2.register_forward_hook((_, _, output) =>
        {
            seen = output;
            return null!;
        });
        var forward = (ForwardFunction)model;

        try
        {
            WithRelease(true, () =>
            {
                using (torch.NewDisposeScope())
                {
                    _ = forward.Invoke(x);
                    Assert.NotNull(seen);
                    Assert.False(seen!.IsInvalid);
                    Assert.Equal(4, seen.shape[1]);
                }

                return 0;
            });
        }
        finally
        {
            handle.remove();
        }
    }

    private static bool Same(Tensor a, Tensor b) => a.shape.SequenceEqual(b.shape) && a.eq(b).all().item<bool>();

    private static int LiveAtProbe(BlockNet model, Func<Tensor> call)
    {
        using var scope = torch.NewDisposeScope();
        model.Probe.LiveAtCall = -1;
        _ = call();
        return model.Probe.LiveAtCall;
    }

    private static T WithRelease<T>(bool enabled, Func<T> action)
    {
        var before = IntermediateRelease.Enabled;
        IntermediateRelease.Enabled = enabled;
        try
        {
            return action();
        }
        finally
        {
            IntermediateRelease.Enabled = before;
        }
    }

    /// <summary>Three residual blocks of convolutions, then a probe that counts the live tensors, then a classifier.</summary>
    private sealed class BlockNet : nn.Module<Tensor, Tensor>
    {
        public BlockNet(int seed)
            : base(nameof(BlockNet))
        {
            torch.manual_seed(seed);
            stem = nn.Conv2d(3, 4, 3, padding: 1);
            blocks = nn.ModuleList(new Block(), new Block(), new Block());
            Probe = new LiveProbe();
            head = nn.Linear(4, 3);
            RegisterComponents();
        }

        private readonly nn.Module<Tensor, Tensor> stem;
        private readonly TorchSharp.Modules.ModuleList<Block> blocks;
        private readonly nn.Module<Tensor, Tensor> head;

        public LiveProbe Probe { get; }

        public IReadOnlyList<Block> Blocks => [.. blocks];

        public override Tensor forward(Tensor x)
        {
            var y = stem.call(x);
            foreach (var block in blocks)
            {
                y = block.call(y);
            }

            return head.call(Probe.call(y).mean([2, 3]));
        }
    }

    private sealed class Block : nn.Module<Tensor, Tensor>
    {
        public Block()
            : base(nameof(Block))
        {
            Conv1 = nn.Conv2d(4, 4, 3, padding: 1);
            Conv2 = nn.Conv2d(4, 4, 3, padding: 1);
            RegisterComponents();
        }

        public nn.Module<Tensor, Tensor> Conv1 { get; }

        public nn.Module<Tensor, Tensor> Conv2 { get; }

        public override Tensor forward(Tensor x)
        {
            var y = torch.nn.functional.relu(Conv1.call(x));
            y = Conv2.call(y) * 0.5;
            return torch.nn.functional.relu(y + x);
        }
    }

    private sealed class LiveProbe : nn.Module<Tensor, Tensor>
    {
        public LiveProbe()
            : base(nameof(LiveProbe))
        {
        }

        public int LiveAtCall { get; set; } = -1;

        public override Tensor forward(Tensor x)
        {
            LiveAtCall = (int)DisposeScopeManager.Statistics.ThreadTotalLiveCount;
            return x.alias();
        }
    }

    /// <summary>A parent that reads the tensor its child kept in a field after the child returned.</summary>
    private sealed class StashingModel : nn.Module<Tensor, Tensor>
    {
        public StashingModel()
            : base(nameof(StashingModel))
        {
            Child = new StashingChild();
            RegisterComponents();
        }

        public StashingChild Child { get; }

        public override Tensor forward(Tensor x)
        {
            var y = Child.call(x);
            return y + Child.Stash!;
        }
    }

    /// <summary>forward(x) = child(lin(x)) + the child's stash (2 lin(x)), [batch, 4].</summary>
    private sealed class StashAfterLayerModel : nn.Module<Tensor, Tensor>
    {
        private readonly TorchSharp.Modules.Linear lin;

        public StashAfterLayerModel()
            : base(nameof(StashAfterLayerModel))
        {
            lin = nn.Linear(4, 4);
            Child = new StashingChild();
            RegisterComponents();
        }

        public StashingChild Child { get; }

        public override Tensor forward(Tensor x)
        {
            var y = Child.call(lin.call(x));
            return y + Child.Stash!;
        }
    }

    private sealed class StashingChild : nn.Module<Tensor, Tensor>
    {
        public StashingChild()
            : base(nameof(StashingChild))
        {
        }

        public Tensor? Stash { get; private set; }

        public int Calls { get; private set; }

        public override Tensor forward(Tensor x)
        {
            Calls++;
            Stash = x * 2;
            return x + 1;
        }
    }

    private sealed class PassThrough(string name) : nn.Module<Tensor, Tensor>(name)
    {
        public override Tensor forward(Tensor x) => x;
    }

    /// <summary>A parent whose child throws; the parent catches it and goes on.</summary>
    private sealed class CatchingParent : nn.Module<Tensor, Tensor>
    {
        private readonly Thrower thrower = new();

        public CatchingParent()
            : base(nameof(CatchingParent)) => RegisterComponents();

        public override Tensor forward(Tensor x)
        {
            var doubled = x * 2;
            try
            {
                _ = thrower.call(doubled);
            }
            catch (InvalidOperationException)
            {
            }

            return doubled + 0;
        }
    }

    private sealed class Thrower() : nn.Module<Tensor, Tensor>(nameof(Thrower))
    {
        public override Tensor forward(Tensor x)
        {
            _ = x * 3;
            throw new InvalidOperationException("thrown on purpose");
        }
    }

    /// <summary>One linear layer registered under two holders; the model calls it through the second.</summary>
    private sealed class SharedLayerModel : nn.Module<Tensor, Tensor>
    {
        private readonly Holder first;
        private readonly Holder second;

        public SharedLayerModel()
            : base(nameof(SharedLayerModel))
        {
            torch.manual_seed(13);
            Shared = nn.Linear(4, 4);
            first = new Holder(Shared);
            second = new Holder(Shared);
            RegisterComponents();
        }

        public nn.Module<Tensor, Tensor> Shared { get; }

        public override Tensor forward(Tensor x) => second.call(first.Touch(x)).sum(1, keepdim: true);
    }

    private sealed class Holder : nn.Module<Tensor, Tensor>
    {
        private readonly nn.Module<Tensor, Tensor> layer;

        public Holder(nn.Module<Tensor, Tensor> layer)
            : base(nameof(Holder))
        {
            this.layer = layer;
            RegisterComponents();
        }

        public Tensor Touch(Tensor x) => x * 1;

        public override Tensor forward(Tensor x) => torch.nn.functional.relu(layer.call(x) + 1) * 2;
    }

    /// <summary>Two pass-through modules in a row (TorchSharp's Sequential disposes what its first child returns, so it cannot hold them).</summary>
    private sealed class Chain : nn.Module<Tensor, Tensor>
    {
        private readonly PassThrough a = new("a");
        private readonly PassThrough b = new("b");

        public Chain()
            : base(nameof(Chain)) => RegisterComponents();

        public override Tensor forward(Tensor x) => b.call(a.call(x));
    }
}
