using Captum.Robust;
using FsCheck.Xunit;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Captum.Tests.Robust;

/// <summary>PGD: within its ball and bounds, FGSM's step, the random start, progress, cancellation and argument checks.</summary>
public sealed class PGDTests
{
    [Property(MaxTest = 25)]
    public void Perturb_RandomInputs_StaysWithinTheRadiusAndTheBounds(int seed, bool l2, bool randomStart, bool targeted)
    {
        using var scope = torch.NewDisposeScope();
        var generator = new torch.Generator((ulong)(uint)seed);
        var model = TestModels.SmoothMlp(seed);
        var x = torch.rand(3, 4, generator: generator);
        var radius = 0.05 + torch.rand(1, generator: generator).item<float>();
        var norm = l2 ? PGDNorm.L2 : PGDNorm.Linf;

        using var perturbed = new PGD(model, AttackLosses.CrossEntropy, lowerBound: 0, upperBound: 1).Perturb(x, new PGDOptions
        {
            Radius = radius,
            StepSize = radius / 2,
            StepNum = 4,
            Norm = norm,
            Target = 1,
            Targeted = targeted,
            RandomStart = randomStart,
            Seed = seed,
        });

        var difference = perturbed.Perturbed - x;
        var distance = l2 ? difference.norm(1, false, 2) : difference.abs().amax([1]);
        Assert.True((distance <= (radius * (1 + 1e-5)) + 1e-6).all().item<bool>(), $"{norm}: distances {distance.max().item<float>()} > {radius}");
        Assert.True((perturbed.Perturbed >= 0).all().item<bool>() && (perturbed.Perturbed <= 1).all().item<bool>());
    }

    [Fact]
    public void Perturb_OneStepWithinTheRadius_EqualsFGSM()
    {
        using var scope = torch.NewDisposeScope();
        var model = TestModels.SmoothMlp(21);
        var x = TestModels.Normal(22, 4, 4);

        using var pgd = new PGD(model).Perturb(x, new PGDOptions { Radius = 1, StepSize = 0.2, StepNum = 1, Target = 2 });
        using var fgsm = new FGSM(model).Perturb(x, new FGSMOptions { Epsilon = 0.2, Target = 2 });

        TensorAssert.AllClose(pgd.Perturbed, fgsm.Perturbed, 1e-7, 0);
    }

    [Fact]
    public void Perturb_UntargetedAndTargeted_MoveTheLossInOppositeDirections()
    {
        using var scope = torch.NewDisposeScope();
        var model = TestModels.SmoothMlp(23);
        var x = TestModels.Normal(24, 5, 4);
        Target target = new[] { 2, 1, 0, 1, 2 };
        var pgd = new PGD(model, AttackLosses.CrossEntropy);
        var options = new PGDOptions { Radius = 0.05, StepSize = 0.01, StepNum = 3, Norm = PGDNorm.L2, Target = target };

        using var away = pgd.Perturb(x, options);
        using var towards = pgd.Perturb(x, options with { Targeted = true });

        var before = FGSMTests.Loss(model, x, target);
        Assert.True((FGSMTests.Loss(model, away.Perturbed, target) > before).all().item<bool>());
        Assert.True((FGSMTests.Loss(model, towards.Perturbed, target) < before).all().item<bool>());
    }

    [Theory]
    [InlineData(PGDNorm.Linf)]
    [InlineData(PGDNorm.L2)]
    public void Perturb_MaskWithRandomStart_LeavesMaskedOutElementsUnchanged(PGDNorm norm)
    {
        using var scope = torch.NewDisposeScope();
        var model = TestModels.SmoothMlp(25);
        var x = TestModels.Normal(26, 3, 4);
        var mask = torch.tensor(new float[,] { { 0, 1, 1, 0 }, { 1, 1, 1, 1 }, { 0, 0, 0, 0 } });

        using var perturbed = new PGD(model).Perturb(x, new PGDOptions
        {
            Radius = 0.3, StepSize = 0.1, StepNum = 3, Norm = norm, Target = 0, RandomStart = true, Seed = 3, Mask = [mask],
        });

        var moved = (perturbed.Perturbed - x).abs();
        TensorAssert.AllClose(moved * (1 - mask), torch.zeros(3, 4), 0, 0);
        Assert.True((moved[1] > 0).all().item<bool>());
    }

    [Fact]
    public void Perturb_RandomStartWithASeed_IsReproducibleAndDiffersFromTheInputsStart()
    {
        using var scope = torch.NewDisposeScope();
        var model = TestModels.SmoothMlp(27);
        var x = TestModels.Normal(28, 3, 4);
        var options = new PGDOptions { Radius = 0.5, StepSize = 0.01, StepNum = 1, Target = 0, RandomStart = true, Seed = 5 };
        var pgd = new PGD(model);

        using var first = pgd.Perturb(x, options);
        using var second = pgd.Perturb(x, options);
        using var other = pgd.Perturb(x, options with { Seed = 6 });
        using var generated = pgd.Perturb(x, options with { Seed = null, Generator = new torch.Generator(5) });

        TensorAssert.AllClose(first.Perturbed, second.Perturbed, 0, 0);
        TensorAssert.AllClose(generated.Perturbed, first.Perturbed, 0, 0);
        Assert.False(torch.allclose(first.Perturbed, other.Perturbed));
        Assert.Equal("Seed", Assert.Throws<ArgumentException>(() => pgd.Perturb(x, options with { Generator = new torch.Generator(1) })).ParamName);
    }

    [Fact]
    public void Perturb_NoSteps_GivesTheStartingPointAsCaptumDoes()
    {
        using var scope = torch.NewDisposeScope();
        var model = TestModels.SmoothMlp(27);
        var x = TestModels.Normal(28, 3, 4);
        var pgd = new PGD(model, lowerBound: -0.2, upperBound: 0.2);
        var none = new PGDOptions { Radius = 0.5, StepSize = 0.1, StepNum = 0, Target = 0 };

        using (var copy = pgd.Perturb(x, none))
        {
            // Captum returns the inputs themselves, unbounded; here a copy, so that disposing or changing it leaves them be.
            TensorAssert.AllClose(x, copy.Perturbed, 0, 0);
            copy.Perturbed.add_(1);
            Assert.False(torch.allclose(x, copy.Perturbed));
        }

        using var started = pgd.Perturb(x, none with { RandomStart = true, Seed = 5 });
        using var oneStep = pgd.Perturb(x, none with { RandomStart = true, Seed = 5, StepSize = 0, StepNum = 1 });
        // A step of size 0 from the same start: the same point, up to the projection's x + (p - x) rounding.
        TensorAssert.AllClose(oneStep.Perturbed, started.Perturbed, 1e-6, 0);
        Assert.False(torch.allclose(started.Perturbed, x.clamp(-0.2, 0.2)));
        Assert.True(started.Perturbed.abs().max().item<float>() <= 0.2f);
        Assert.Equal("StepNum", Assert.Throws<ArgumentOutOfRangeException>(() => pgd.Perturb(x, none with { StepNum = -1 })).ParamName);
    }

    [Fact]
    public void Perturb_Steps_ReportProgressPerStep()
    {
        using var scope = torch.NewDisposeScope();
        var reports = new List<AttributionProgress>();

        using var perturbed = new PGD(TestModels.SmoothMlp(29)).Perturb(TestModels.Normal(30, 2, 4), new PGDOptions
        {
            Radius = 0.1, StepSize = 0.05, StepNum = 3, Target = 0, Progress = new SynchronousProgress(reports.Add),
        });

        Assert.Equal(new AttributionProgress[] { new(1, 3), new(2, 3), new(3, 3) }, reports);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Perturb_TokenCancelledAtTheFirstReport_ThrowsLeavingNoLiveTensorsAndTheCallersTensors(bool requiresGrad)
    {
        using var scope = torch.NewDisposeScope();
        var model = TestModels.SmoothMlp(31);
        var x = TestModels.Normal(32, 3, 4).requires_grad_(requiresGrad);
        var copy = x.detach().clone();
        var pgd = new PGD(model, lowerBound: -1, upperBound: 1);
        using var cancel = new CancellationTokenSource();
        var options = new PGDOptions
        {
            Radius = 0.2, StepSize = 0.1, StepNum = 4, Target = 1, RandomStart = true, Seed = 1,
            Progress = new SynchronousProgress(_ => cancel.Cancel()),
        };
        using (pgd.Perturb(x, options with { Progress = null }))
        {
        }

        var live = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        Assert.Throws<OperationCanceledException>(() => pgd.Perturb(x, options, cancel.Token));

        Assert.Equal(live, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
        TensorAssert.Untouched(x, copy, requiresGrad);
    }

    [Fact]
    public void Perturb_BadArguments_ThrowNamingTheArgument()
    {
        using var scope = torch.NewDisposeScope();
        var model = TestModels.SmoothMlp(33);
        var x = TestModels.Normal(34, 3, 4);
        var pgd = new PGD(model);
        var good = new PGDOptions { Radius = 0.1, StepSize = 0.05, StepNum = 2, Target = 0 };

        Assert.Equal("Radius", Assert.ThrowsAny<ArgumentException>(() => pgd.Perturb(x, good with { Radius = -1 })).ParamName);
        Assert.Equal("StepSize", Assert.ThrowsAny<ArgumentException>(() => pgd.Perturb(x, good with { StepSize = -0.1 })).ParamName);
        Assert.Equal("StepNum", Assert.ThrowsAny<ArgumentException>(() => pgd.Perturb(x, good with { StepNum = -1 })).ParamName);
        Assert.Equal("Norm", Assert.Throws<ArgumentException>(() => pgd.Perturb(x, good with { Norm = (PGDNorm)7 })).ParamName);
        Assert.Equal("Mask", Assert.Throws<ArgumentException>(() => pgd.Perturb(x, good with { Mask = [torch.ones(2, 4)] })).ParamName);
        Assert.Equal("target", Assert.Throws<ArgumentException>(() => pgd.Perturb(x, good with { Target = new[] { 0, 1, 2, 0 } })).ParamName);
        Assert.Equal("lowerBound", Assert.Throws<ArgumentException>(() => new PGD(model, lowerBound: 2, upperBound: 1)).ParamName);
    }
}
