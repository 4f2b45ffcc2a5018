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

    [Theory]
    [InlineData(Keeping.Plain)]
    [InlineData(Keeping.List)]
    [InlineData(Keeping.Array)]
    [InlineData(Keeping.Dictionary)]
    [InlineData(Keeping.Tuple)]
    [InlineData(Keeping.Descendant)]
    public void Invoke_ModelReadsATensorAChildKeptInAField_SameAsWithoutRelease(Keeping how)
    {
        using var model = new KeepingModel(how);
        using var x = torch.randn(3, 4, generator: new Generator(7));
        var forward = (ForwardFunction)model;
        using var expected = WithRelease(false, () => forward.Invoke(x).detach());
        var released = WithRelease(true, () => LiveAtProbe(model.Probe, () => forward.Invoke(x)));
        var kept = WithRelease(false, () => LiveAtProbe(model.Probe, () => forward.Invoke(x)));

        using var got = WithRelease(true, () => forward.Invoke(x));

        Assert.True(Same(got, expected));
        // The keeper's other intermediate (x + 1 before the sum) is still freed when it returns.
        Assert.True(released < kept, $"live tensors at the probe: {released} released, {kept} kept");
    }

    [Fact]
    public void TensorFields_TorchSharpModulesAndAUsersModule_OnlyTheUsersTensorHoldingFields()
    {
        Assert.Empty(TensorFields.Of(typeof(TorchSharp.Modules.Linear)));
        Assert.Empty(TensorFields.Of(typeof(TorchSharp.Modules.Conv2d)));
        Assert.Empty(TensorFields.Of(typeof(TorchSharp.Modules.BatchNorm2d)));
        Assert.Empty(TensorFields.Of(typeof(BlockNet)));

        var names = TensorFields.Of(typeof(FieldKeeper)).Select(f => f.Name).Order().ToArray();

        Assert.Equal(new[] { "array", "dictionary", "list", "plain", "tuple" }, names);
    }

    [Fact]
    public void Invoke_ModuleKeepsALazySequence_SequenceNeverEnumeratedByRelease()
    {
        using var model = new LazySequenceModel();
        using var x = torch.randn(2, 4, generator: new Generator(20));
        var forward = (ForwardFunction)model;

        using var got = WithRelease(true, () => forward.Invoke(x).detach());

        Assert.Equal(0, model.Inner.Enumerations);
        Assert.Equal(new long[] { 2, 4 }, got.shape);
    }

    [Fact]
    public void Invoke_ModuleBuildsACacheOnItsFirstCall_CacheStillValidOnTheNextCall()
    {
        using var model = new LazyCacheModel();
        using var x = torch.randn(2, 4, generator: new Generator(14));
        var forward = (ForwardFunction)model;
        using var expected = WithRelease(false, () => forward.Invoke(x).detach());
        model.Inner.Reset();

        WithRelease(true, () =>
        {
            using (torch.NewDisposeScope())
            {
                var first = forward.Invoke(x);
                var second = forward.Invoke(x);
                Assert.True(Same(first, expected));
                Assert.True(Same(second, expected));
                Assert.False(model.Inner.Cache!.IsInvalid);
            }

            return 0;
        });

        Assert.Equal(1, model.Inner.Builds);
    }

    [Fact]
    public void Invoke_ChildAddedAfterTheFirstCall_ReleasedToo()
    {
        using var model = new GrowingNet();
        using var x = torch.randn(2, 3, 8, 8, generator: new Generator(15));
        var forward = (ForwardFunction)model;
        WithRelease(true, () => forward.Invoke(x).Dispose());
        model.AddBlock();

        var released = WithRelease(true, () => LiveAtProbe(model.Probe, () => forward.Invoke(x)));
        var kept = WithRelease(false, () => LiveAtProbe(model.Probe, () => forward.Invoke(x)));

        // Each block makes 5 intermediates besides its output: both blocks' go, the added one's included.
        Assert.True(released + 10 <= kept, $"live tensors at the probe: {released} released, {kept} kept");
    }

    [Fact]
    public void Invoke_SmallCallsOfAModelThatFreedLittle_NotReleasedUntilTheInputsGrow()
    {
        using var model = new BlockNet(seed: 16);
        using var small = torch.randn(2, 3, 8, 8, generator: new Generator(17));
        using var large = torch.randn(64, 3, 8, 8, generator: new Generator(18));
        var forward = (ForwardFunction)model;

        // A call of the small batch frees about 10,000 elements (3 blocks x 5 intermediates x 512, and the model's
        // own), under the minimum; one of the large batch 32 times as many, over it.
        var first = WithRelease(true, () => LiveAtProbe(model.Probe, () => forward.Invoke(small)), minimum: 100_000);
        var second = WithRelease(true, () => LiveAtProbe(model.Probe, () => forward.Invoke(small)), minimum: 100_000);
        var largeReleased = WithRelease(true, () => LiveAtProbe(model.Probe, () => forward.Invoke(large)), minimum: 100_000);
        var smallKept = WithRelease(false, () => LiveAtProbe(model.Probe, () => forward.Invoke(small)));
        var largeKept = WithRelease(false, () => LiveAtProbe(model.Probe, () => forward.Invoke(large)));

        Assert.True(first + 15 <= smallKept, $"first call: {first} live released, {smallKept} kept");
        Assert.Equal(smallKept, second);
        Assert.True(largeReleased + 15 <= largeKept, $"large call: {largeReleased} live released, {largeKept} kept");
    }

    [Fact]
    public void Invoke_ModelReadsATensorAChildKeptInAStatic_ThrowsSayingSoOnceThenRunsUnreleased()
    {
        using var model = new StaticStashingModel();
        using var x = torch.randn(3, 4, generator: new Generator(7));
        var forward = (ForwardFunction)model;
        using var expected = WithRelease(false, () => forward.Invoke(x).detach());
        var callsBefore = model.Child.Calls;

        var error = WithRelease(true, () => Record.Exception(() => forward.Invoke(x)));
        var callsOfFailed = model.Child.Calls - callsBefore;
        using var second = WithRelease(true, () => forward.Invoke(x));

        Assert.IsType<IntermediateReleaseException>(error);
        Assert.Contains("CAPTUM_RELEASE_INTERMEDIATES=0", error!.Message, StringComparison.Ordinal);
        Assert.Equal(1, callsOfFailed);
        Assert.True(Same(second, expected));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Attribute_LayerIntegratedGradientsModelReadsATensorKeptInAStaticAfterTheLayer_ThrowsSayingSoOnEitherPath(bool reusePrefix)
    {
        using var model = new StashAfterLayerModel();
        using var x = torch.randn(2, 4, generator: new Generator(13));
        var lig = new LayerIntegratedGradients(model, "lin");
        var callsBefore = model.Child.Calls;

        // The end-point passes stop at the layer; the first pass that runs the rest of the model fails. On the prefix
        // path that is its check's attempt, whose failure must not become a silent re-run on the expanded pass.
        var error = WithRelease(true, () => Record.Exception(() =>
            lig.Attribute(x, new LayerIntegratedGradientsOptions { Target = 0, Steps = 4, ReuseLayerPrefix = reusePrefix }).Dispose()));

        Assert.IsType<IntermediateReleaseException>(error);
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

    private static int LiveAtProbe(BlockNet model, Func<Tensor> call) => LiveAtProbe(model.Probe, call);

    private static int LiveAtProbe(LiveProbe probe, Func<Tensor> call)
    {
        using var scope = torch.NewDisposeScope();
        probe.LiveAtCall = -1;
        _ = call();
        return probe.LiveAtCall;
    }

    /// <summary>Runs <paramref name="action"/> with release on or off; on, every call is released unless <paramref name="minimum"/> says otherwise.</summary>
    private static T WithRelease<T>(bool enabled, Func<T> action, long minimum = 0)
    {
        var before = IntermediateRelease.Enabled;
        var minimumBefore = IntermediateRelease.MinimumFreedElements;
        IntermediateRelease.Enabled = enabled;
        IntermediateRelease.MinimumFreedElements = minimum;
        try
        {
            return action();
        }
        finally
        {
            IntermediateRelease.Enabled = before;
            IntermediateRelease.MinimumFreedElements = minimumBefore;
        }
    }

    private static void WithRelease(bool enabled, Action action) => WithRelease(enabled, () =>
    {
        action();
        return 0;
    });

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

    public enum Keeping
    {
        Plain,
        List,
        Array,
        Dictionary,
        Tuple,
        Descendant,
    }

    /// <summary>forward(x) = keeper(x) + what the keeper kept in a field (2x), read after the keeper returned.</summary>
    private sealed class KeepingModel : nn.Module<Tensor, Tensor>
    {
        private readonly FieldKeeper? keeper;
        private readonly KeeperBlock? block;

        public KeepingModel(Keeping how)
            : base(nameof(KeepingModel))
        {
            if (how == Keeping.Descendant)
            {
                block = new KeeperBlock();
            }
            else
            {
                keeper = new FieldKeeper(how);
            }

            Probe = new LiveProbe();
            RegisterComponents();
        }

        public LiveProbe Probe { get; }

        public override Tensor forward(Tensor x)
        {
            var y = keeper is not null ? keeper.call(x) : block!.call(x);
            var kept = keeper is not null ? keeper.Kept : block!.Leaf.Kept;
            return Probe.call(y + kept);
        }
    }

    /// <summary>A module with children whose leaf keeps a tensor in a field: the block's scope must keep it too.</summary>
    private sealed class KeeperBlock : nn.Module<Tensor, Tensor>
    {
        public KeeperBlock()
            : base(nameof(KeeperBlock))
        {
            Leaf = new FieldKeeper(Keeping.Plain);
            RegisterComponents();
        }

        public FieldKeeper Leaf { get; }

        public override Tensor forward(Tensor x) => Leaf.call(x * 1) - 0;
    }

    /// <summary>forward(x) = (x + 1) * 1; keeps 2x in the field <see cref="Keeping"/> names.</summary>
    private sealed class FieldKeeper(Keeping how) : nn.Module<Tensor, Tensor>(nameof(FieldKeeper))
    {
        private readonly List<Tensor> list = [];
        private readonly Dictionary<string, Tensor> dictionary = [];
        private Tensor? plain;
        private Tensor[] array = [];
        private (Tensor First, Tensor Second)? tuple;

        public Tensor Kept => how switch
        {
            Keeping.List => list[^1],
            Keeping.Array => array[0],
            Keeping.Dictionary => dictionary["kept"],
            Keeping.Tuple => tuple!.Value.Second,
            _ => plain!,
        };

        public override Tensor forward(Tensor x)
        {
            var doubled = x * 2;
            switch (how)
            {
                case Keeping.List:
                    list.Add(doubled);
                    break;
                case Keeping.Array:
                    array = [doubled];
                    break;
                case Keeping.Dictionary:
                    dictionary["kept"] = doubled;
                    break;
                case Keeping.Tuple:
                    tuple = (x * 1, doubled);
                    break;
                default:
                    plain = doubled;
                    break;
            }

            return (x + 1) * 1;
        }
    }

    private sealed class LazySequenceModel : nn.Module<Tensor, Tensor>
    {
        public LazySequenceModel()
            : base(nameof(LazySequenceModel))
        {
            Inner = new LazySequenceKeeper();
            RegisterComponents();
        }

        public LazySequenceKeeper Inner { get; }

        public override Tensor forward(Tensor x) => Inner.call(x) * 2;
    }

    /// <summary>Keeps a lazy sequence of tensors that counts its enumerations: release must not run it.</summary>
    private sealed class LazySequenceKeeper() : nn.Module<Tensor, Tensor>(nameof(LazySequenceKeeper))
    {
        private IEnumerable<Tensor> lazy = [];

        public int Enumerations { get; private set; }

        public override Tensor forward(Tensor x)
        {
            lazy = new List<int> { 0, 1 }.Select(i =>
            {
                Enumerations++;
                return x * i;
            });
            return x + 1;
        }
    }

    /// <summary>forward(x) = inner(x); the inner module scales by a vector it builds on its first call and keeps.</summary>
    private sealed class LazyCacheModel : nn.Module<Tensor, Tensor>
    {
        public LazyCacheModel()
            : base(nameof(LazyCacheModel))
        {
            Inner = new LazyCache();
            RegisterComponents();
        }

        public LazyCache Inner { get; }

        public override Tensor forward(Tensor x) => Inner.call(x) + 1;
    }

    private sealed class LazyCache() : nn.Module<Tensor, Tensor>(nameof(LazyCache))
    {
        public Tensor? Cache { get; private set; }

        public int Builds { get; private set; }

        public void Reset()
        {
            Cache = null;
            Builds = 0;
        }

        public override Tensor forward(Tensor x)
        {
            if (Cache is null)
            {
                Builds++;
                Cache = torch.arange(1, x.shape[^1] + 1, dtype: x.dtype) * 0.5;
            }

            return x * Cache;
        }
    }

    /// <summary>Blocks, then a probe; <see cref="AddBlock"/> registers one more block after the model was first called.</summary>
    private sealed class GrowingNet : nn.Module<Tensor, Tensor>
    {
        private readonly nn.Module<Tensor, Tensor> stem;
        private readonly List<Block> blocks = [];

        public GrowingNet()
            : base(nameof(GrowingNet))
        {
            torch.manual_seed(19);
            stem = nn.Conv2d(3, 4, 3, padding: 1);
            Probe = new LiveProbe();
            RegisterComponents();
            AddBlock();
        }

        public LiveProbe Probe { get; }

        public void AddBlock()
        {
            var block = new Block();
            register_module($"block{blocks.Count}", block);
            blocks.Add(block);
        }

        public override Tensor forward(Tensor x)
        {
            var y = stem.call(x);
            foreach (var block in blocks)
            {
                y = block.call(y);
            }

            return Probe.call(y).mean([1, 2, 3]);
        }
    }

    /// <summary>A parent that reads the tensor its child kept in a static field after the child returned.</summary>
    private sealed class StaticStashingModel : nn.Module<Tensor, Tensor>
    {
        public StaticStashingModel()
            : base(nameof(StaticStashingModel))
        {
            Child = new StaticStashingChild();
            RegisterComponents();
        }

        public StaticStashingChild Child { get; }

        public override Tensor forward(Tensor x)
        {
            var y = Child.call(x);
            return y + StaticStashingChild.Stash!;
        }
    }

    /// <summary>forward(x) = child(lin(x)) + the child's static stash (2 lin(x)), [batch, 4].</summary>
    private sealed class StashAfterLayerModel : nn.Module<Tensor, Tensor>
    {
        private readonly TorchSharp.Modules.Linear lin;

        public StashAfterLayerModel()
            : base(nameof(StashAfterLayerModel))
        {
            lin = nn.Linear(4, 4);
            Child = new StaticStashingChild();
            RegisterComponents();
        }

        public StaticStashingChild Child { get; }

        public override Tensor forward(Tensor x)
        {
            var y = Child.call(lin.call(x));
            return y + StaticStashingChild.Stash!;
        }
    }

    /// <summary>Keeps 2x where release cannot see it: a static field (the tests of this class run one at a time).</summary>
    private sealed class StaticStashingChild : nn.Module<Tensor, Tensor>
    {
        public StaticStashingChild()
            : base(nameof(StaticStashingChild))
        {
        }

        public static Tensor? Stash { get; private set; }

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
