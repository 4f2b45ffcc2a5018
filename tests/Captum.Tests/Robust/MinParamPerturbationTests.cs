using Captum.Forward;
using Captum.Robust;
using FsCheck.Xunit;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Captum.Tests.Robust;

/// <summary>
/// MinParamPerturbation: the first failing value in Captum's search order (linear and binary, against Captum's own
/// search run on Python), attempts, grouping into forward passes, preprocessing, and the checks of its arguments.
/// </summary>
public sealed class MinParamPerturbationTests
{
    /// <summary>The identity model: the inputs are the logits.</summary>
    private static readonly ForwardFunction Logits = (Func<Tensor, Tensor>)(t => t * 1);

    /// <summary>Moves p from class 1 to class 0: [a, b] becomes [a + p, b - p].</summary>
    private static IPerturbation<double> Shift(List<double>? tried = null) =>
        Perturbation.FromFunction<double>((t, p) =>
        {
            tried?.Add(p);
            return t + (p * torch.tensor(new[] { 1f, -1f }));
        });

    private static MinParamPerturbation<double> Search(IPerturbation<double> attack, MinParamPerturbationOptions options) =>
        new(Logits, attack, (_, p) => p, options);

    /// <summary>Captum's <c>drange</c>, written out: ArgMin, then adding ArgStep while below ArgMax.</summary>
    private static List<double> Range(double min, double max, double step)
    {
        var values = new List<double>();
        for (var v = min; v < max; v += step)
        {
            values.Add(v);
        }

        return values;
    }

    [Property(MaxTest = 30)]
    public void Evaluate_LinearSearch_AnswersTheFirstValueOfTheRangeThatFails(int seed)
    {
        using var scope = torch.NewDisposeScope();
        var random = new Random(seed);
        var min = -random.NextDouble();
        var step = 0.05 + (0.25 * random.NextDouble());
        var max = min + (step * random.Next(2, 12)) + (0.5 * step * random.NextDouble()) + 1e-9;
        var threshold = min - 0.3 + ((max - min + 0.6) * random.NextDouble());
        var x = torch.tensor(new[] { 0f, (float)(2 * threshold) }).reshape(1, 2); // class 1 until p reaches the threshold
        var options = new MinParamPerturbationOptions { ArgMin = min, ArgMax = max, ArgStep = step, NumAttempts = random.Next(1, 4) };
        var evaluation = new AttackEvaluationOptions { PerturbationsPerEval = random.Next(1, 6) };

        using var result = Search(Shift(), options).Evaluate(x, 0.0, 1, evaluation);

        using var noGrad = torch.no_grad();
        var expected = Range(min, max, step).Cast<double?>()
            .FirstOrDefault(p => (x + (p!.Value * torch.tensor(new[] { 1f, -1f }))).argmax(1).item<long>() != 1);
        Assert.Equal(expected, result.ParamValue);
        Assert.Equal(expected is not null, result.Found);
        if (expected is { } value)
        {
            TensorAssert.AllClose(result.PerturbedInputs!.Perturbed, x + (value * torch.tensor(new[] { 1f, -1f })), 0, 0);
        }
        else
        {
            Assert.Null(result.PerturbedInputs);
        }
    }

    [Property(MaxTest = 30)]
    public void Evaluate_BinarySearchOnWholeStepsWhenFailingIsMonotonic_AnswersTheSmallestFailingValue(int seed)
    {
        using var scope = torch.NewDisposeScope();
        var random = new Random(seed);
        var min = random.Next(-5, 6);
        var step = random.Next(1, 4);
        var max = min + (step * random.Next(2, 30)) + random.Next(0, step);
        var threshold = min - 2 + ((max - min + 4) * random.NextDouble());
        var options = new MinParamPerturbationOptions
        {
            ArgMin = min, ArgMax = max, ArgStep = step, Mode = MinParamPerturbationMode.Binary, NumAttempts = random.Next(1, 3),
            CorrectFn = (output, _) => (output < threshold).all().item<bool>(),
        };
        var evaluation = new AttackEvaluationOptions { PerturbationsPerEval = random.Next(1, 4) };
        var attack = Perturbation.FromFunction<double>((t, p) => t + p);

        using var result = new MinParamPerturbation<double>(Logits, attack, (_, p) => p, options).Evaluate(torch.zeros(1, 1, ScalarType.Float64), 0.0, options: evaluation);

        var smallest = Range(min, max, step).Cast<double?>().FirstOrDefault(p => p >= threshold);
        Assert.Equal(smallest, result.ParamValue);
    }

    [Theory]
    [InlineData(MinParamPerturbationMode.Linear, 0.0, 1.0, 0.1, 0.35, new[] { 0.0, 0.1, 0.2, 0.30000000000000004, 0.4 }, 0.4)]
    [InlineData(MinParamPerturbationMode.Binary, 0.0, 1.0, 0.1, 0.35, new[] { 0.4, 0.2, 0.30000000000000004, 0.30000000000000004 }, 0.4)]
    [InlineData(MinParamPerturbationMode.Binary, 0.0, 2.0, 0.3, 0.5, new[] { 0.8999999999999999, 0.3, 0.6, 0.3 }, 0.6)]
    [InlineData(MinParamPerturbationMode.Binary, 0.2, 3.0, 0.7, 2.0, new[] { 1.5999999999999999, 2.3, 1.5999999999999999 }, 2.3)]
    public void Evaluate_FloatSteps_TriesCaptumsValuesInCaptumsOrder(MinParamPerturbationMode mode, double min, double max, double step, double threshold, double[] captumTried, double captumAnswer)
    {
        // captumTried and captumAnswer: Captum 0.8.0's _linear_search and _binary_search run on Python 3 with a stub
        // model that fails from the threshold on (Python's float floor division: 1.0 // 0.1 is 9.0, so the first
        // binary midpoint of [0, 1) is 0.4, not 0.5).
        using var scope = torch.NewDisposeScope();
        var tried = new List<double>();
        var options = new MinParamPerturbationOptions
        {
            ArgMin = min, ArgMax = max, ArgStep = step, Mode = mode,
            CorrectFn = (output, _) => (output < threshold).all().item<bool>(),
        };
        var attack = Perturbation.FromFunction<double>((t, p) =>
        {
            tried.Add(p);
            return t + p;
        });

        using var result = new MinParamPerturbation<double>(Logits, attack, (_, p) => p, options).Evaluate(torch.zeros(1, 1, ScalarType.Float64), 0.0);

        Assert.Equal(captumTried, tried);
        Assert.Equal(captumAnswer, result.ParamValue);
    }

    [Fact]
    public void Evaluate_BinarySearchWhenOnlyAMiddleValueFails_FollowsCaptumsOrderAndFindsNone()
    {
        using var scope = torch.NewDisposeScope();
        var tried = new List<double>();
        var options = new MinParamPerturbationOptions
        {
            ArgMin = 0, ArgMax = 10, ArgStep = 1, Mode = MinParamPerturbationMode.Binary,
            CorrectFn = (output, _) => output.item<float>() != 3,
        };
        var attack = Perturbation.FromFunction<double>((t, p) =>
        {
            tried.Add(p);
            return t + p;
        });

        using var result = new MinParamPerturbation<double>(Logits, attack, (_, p) => p, options).Evaluate(torch.zeros(1, 1), 0.0);

        // By Captum's algorithm: mid 0 + (10 // 1) // 2 = 5 passes, so 5 + 2 = 7, 7 + 1 = 8, 8 + 1 = 9, then one step
        // is left and mid = 9 again; 3 is never tried.
        Assert.Equal([5.0, 7, 8, 9, 9], tried);
        Assert.False(result.Found);
        Assert.Null(result.ParamValue);
        Assert.Null(result.PerturbedInputs);
    }

    [Theory]
    [InlineData(MinParamPerturbationMode.Linear, 1)]
    [InlineData(MinParamPerturbationMode.Linear, 4)]
    [InlineData(MinParamPerturbationMode.Binary, 1)]
    [InlineData(MinParamPerturbationMode.Binary, 2)]
    public void Evaluate_ValueFailingOnlyAtItsLastAttempt_Fails(MinParamPerturbationMode mode, int perEval)
    {
        using var scope = torch.NewDisposeScope();
        var calls = 0;
        var attack = Perturbation.FromFunction<double>((t, p) => t + (calls++ % 3 == 2 ? p : 0));
        var options = new MinParamPerturbationOptions
        {
            ArgMin = 0, ArgMax = 8, ArgStep = 1, Mode = mode, NumAttempts = 3,
            CorrectFn = (output, _) => (output < 2.5).all().item<bool>(),
        };

        using var result = new MinParamPerturbation<double>(Logits, attack, (_, p) => p, options)
            .Evaluate(torch.zeros(1, 1), 0.0, options: new AttackEvaluationOptions { PerturbationsPerEval = perEval });

        Assert.Equal(3.0, result.ParamValue);
        TensorAssert.AllClose(result.PerturbedInputs!.Perturbed, torch.full(new long[] { 1, 1 }, 3f), 0, 0);
        if (mode == MinParamPerturbationMode.Linear && perEval == 1)
        {
            Assert.Equal(12, calls); // values 0, 1, 2 and 3, three attempts each
        }
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Evaluate_ApplyBeforePreproc_ReturnsTheAttacksResultOnTheRawOrThePreprocessedInputs(bool before)
    {
        using var scope = torch.NewDisposeScope();
        var x = torch.tensor(new[] { 0f, 1f }).reshape(1, 2);
        var options = new MinParamPerturbationOptions
        {
            ArgMin = 0, ArgMax = 2, ArgStep = 0.3, ApplyBeforePreproc = before, Preprocessing = inputs => inputs.Tensors[0] * 2,
        };

        using var result = Search(Shift(), options).Evaluate(x, 0.0, 1);

        // Before: the model sees 2(x + p[1, -1]) = [2p, 2 - 2p], wrong above p = 0.5; after: 2x + p[1, -1] = [p, 2 - p], above p = 1.
        Assert.Equal(Range(0, 2, 0.3).First(p => p > (before ? 0.5 : 1.0)), result.ParamValue);
        var shift = result.ParamValue!.Value * torch.tensor(new[] { 1f, -1f });
        TensorAssert.AllClose(result.PerturbedInputs!.Perturbed, before ? x + shift : (x * 2) + shift, 0, 0);
    }

    [Fact]
    public void Evaluate_FGSMEpsilon_FailsWhereFGSMByHandMisclassifiesFirst()
    {
        using var scope = torch.NewDisposeScope();
        var model = TestModels.SmoothMlp(61);
        var x = TestModels.Normal(62, 1, 4);
        long label;
        using (torch.no_grad())
        {
            label = model.call(x).argmax(1).item<long>();
        }

        var fgsm = new FGSM(model, AttackLosses.CrossEntropy);
        var options = new MinParamPerturbationOptions { ArgMin = 0, ArgMax = 3, ArgStep = 0.1 };
        var search = new MinParamPerturbation<FGSMOptions>(model, fgsm, (o, eps) => o with { Epsilon = eps }, options);

        using var result = search.Evaluate(x, new FGSMOptions { Epsilon = 0, Target = label }, label);

        var expected = Range(0, 3, 0.1).Cast<double?>().FirstOrDefault(eps =>
        {
            using var perturbed = fgsm.Perturb(x, new FGSMOptions { Epsilon = eps!.Value, Target = label });
            using var noGrad = torch.no_grad();
            return model.call(perturbed.Perturbed).argmax(1).item<long>() != label;
        });
        Assert.NotNull(expected);
        Assert.Equal(expected, result.ParamValue);
    }

    [Fact]
    public void Evaluate_Progress_ReportsEveryPass()
    {
        using var scope = torch.NewDisposeScope();
        var reports = new List<AttributionProgress>();
        var options = new MinParamPerturbationOptions { ArgMin = 0, ArgMax = 1, ArgStep = 0.25, CorrectFn = (_, _) => true };
        var evaluation = new AttackEvaluationOptions { PerturbationsPerEval = 3, Progress = new SynchronousProgress(reports.Add) };

        using var result = Search(Shift(), options).Evaluate(torch.zeros(1, 2), 0.0, options: evaluation);

        Assert.Equal(new AttributionProgress[] { new(1, 2), new(2, 2) }, reports);
    }

    [Theory]
    [InlineData(MinParamPerturbationMode.Linear)]
    [InlineData(MinParamPerturbationMode.Binary)]
    public void Evaluate_ResultDisposedOrTokenCancelled_LeavesNoLiveTensors(MinParamPerturbationMode mode)
    {
        using var scope = torch.NewDisposeScope();
        var x = torch.tensor(new[] { 0f, 1f }).reshape(1, 2);
        var options = new MinParamPerturbationOptions { ArgMin = 0, ArgMax = 2, ArgStep = 0.1, Mode = mode, Preprocessing = inputs => inputs.Tensors[0] * 2 };
        var search = Search(Shift(), options);
        using var cancel = new CancellationTokenSource();
        var cancelling = new AttackEvaluationOptions { Progress = new SynchronousProgress(_ => cancel.Cancel()) };

        var live = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        using (var result = search.Evaluate(x, 0.0, 1, new AttackEvaluationOptions { PerturbationsPerEval = 3 }))
        {
            Assert.True(result.Found);
        }

        Assert.Equal(live, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
        Assert.Throws<OperationCanceledException>(() => search.Evaluate(x, 0.0, 1, cancelling, cancel.Token));
        Assert.Equal(live, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
    }

    [Fact]
    public void PythonFloorDiv_Floats_AreAsPythonDividesThem()
    {
        // Python 3: 1.0 // 0.1, 0.3 // 0.1, -1.0 // 0.3, 2.0 // -0.7, 0.7 // 0.1, 5.0 // 2, -0.0 // 1.0, 1e-300 // 1e10.
        (double A, double B, double Python)[] cases = [(1.0, 0.1, 9.0), (0.3, 0.1, 2.0), (-1.0, 0.3, -4.0), (2.0, -0.7, -3.0), (0.7, 0.1, 6.0), (5.0, 2, 2.0), (-0.0, 1.0, -0.0), (1e-300, 1e10, 0.0)];
        foreach (var (a, b, python) in cases)
        {
            var actual = MinParamPerturbation<double>.PythonFloorDiv(a, b);
            Assert.Equal(python, actual);
            Assert.Equal(double.IsNegative(python), double.IsNegative(actual));
        }
    }

    [Fact]
    public void Evaluate_NoTargetWithTheDefaultCorrectness_ThrowsSayingTargetOrCorrectFn()
    {
        using var scope = torch.NewDisposeScope();
        var search = Search(Shift(), new MinParamPerturbationOptions { ArgMin = 0, ArgMax = 1, ArgStep = 0.1 });

        var error = Assert.Throws<ArgumentException>(() => search.Evaluate(torch.zeros(2, 2), 0.0));

        Assert.Equal("target", error.ParamName);
        Assert.Contains("default correctness", error.Message, StringComparison.Ordinal);
        Assert.Contains("CorrectFn", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void BadArguments_ThrowNamingTheArgumentBeforeAnyWork()
    {
        using var scope = torch.NewDisposeScope();
        var tried = new List<double>();
        var good = new MinParamPerturbationOptions { ArgMin = 0, ArgMax = 1, ArgStep = 0.1 };
        var x = torch.zeros(2, 2);

        string? Name(MinParamPerturbationOptions o) => Assert.ThrowsAny<ArgumentException>(() => Search(Shift(tried), o)).ParamName;
        Assert.Equal("ArgMin", Name(good with { ArgMin = 2 }));
        Assert.Equal("ArgMin", Name(good with { ArgMin = 1 }));
        Assert.Equal("ArgMax", Name(good with { ArgMax = double.PositiveInfinity }));
        Assert.Equal("ArgMin", Name(good with { ArgMin = double.NaN }));
        Assert.Equal("ArgStep", Name(good with { ArgStep = 0 }));
        Assert.Equal("ArgStep", Name(good with { ArgStep = -0.1 }));
        Assert.Equal("ArgStep", Name(good with { ArgStep = double.NaN }));
        Assert.Equal("ArgStep", Name(good with { ArgStep = 1 }));
        Assert.Equal("ArgStep", Name(new MinParamPerturbationOptions { ArgMin = 1e20, ArgMax = 2e20, ArgStep = 1 }));
        Assert.Equal("NumAttempts", Name(good with { NumAttempts = 0 }));
        Assert.Equal("Mode", Name(good with { Mode = (MinParamPerturbationMode)5 }));

        var search = Search(Shift(tried), good);
        Assert.Equal("PerturbationsPerEval", Assert.ThrowsAny<ArgumentException>(() => search.Evaluate(x, 0.0, 1, new AttackEvaluationOptions { PerturbationsPerEval = 0 })).ParamName);
        Assert.Equal("target", Assert.Throws<ArgumentException>(() => search.Evaluate(x, 0.0)).ParamName);
        Assert.Equal("target", Assert.Throws<ArgumentException>(() => search.Evaluate(x, 0.0, new[] { 1, 1, 1 })).ParamName);
        Assert.Equal("target", Assert.Throws<ArgumentException>(() => search.Evaluate(x, 0.0, (1, 1))).ParamName);
        Assert.Equal("inputs", Assert.Throws<ArgumentException>(() => search.Evaluate(new[] { x, torch.zeros(3, 2) }, 0.0, 1)).ParamName);
        Assert.Empty(tried);

        var flat = new MinParamPerturbation<double>((Func<Tensor, Tensor>)(t => t.sum(1)), Shift(), (_, p) => p, good);
        Assert.Equal("CorrectFn", Assert.Throws<ArgumentException>(() => flat.Evaluate(x, 0.0, 1)).ParamName);
    }
}
