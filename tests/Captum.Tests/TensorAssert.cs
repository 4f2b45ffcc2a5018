using System.Globalization;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Captum.Tests;

/// <summary>Tensor assertions with messages that locate the failure.</summary>
internal static class TensorAssert
{
    /// <summary>
    /// Asserts a caller's tensor came back as it was given: the values of <paramref name="copy"/>, the same
    /// <c>requires_grad</c>, and no gradient accumulated into it.
    /// </summary>
    public static void Untouched(Tensor x, Tensor copy, bool requiresGrad)
    {
        AllClose(x.detach(), copy, 0, 0, "the caller's tensor");
        Assert.Equal(requiresGrad, x.requires_grad);
        Assert.Null(x.grad);
    }

    /// <summary>
    /// Asserts equal shapes and <c>|actual - expected| &lt;= atol + rtol * |expected|</c> elementwise (NaN never
    /// matches; equal infinities do). On failure reports the shapes, the number of failing elements, the max
    /// absolute difference, and the index and values of the worst element.
    /// </summary>
    public static void AllClose(Tensor actual, Tensor expected, double atol = 1e-4, double rtol = 1e-3, string? what = null)
    {
        ArgumentNullException.ThrowIfNull(actual);
        ArgumentNullException.ThrowIfNull(expected);
        var label = what is null ? string.Empty : $"{what}: ";
        if (!actual.shape.SequenceEqual(expected.shape))
        {
            Assert.Fail($"{label}shape mismatch: actual {Shape(actual)}, expected {Shape(expected)}.");
        }

        using var scope = torch.NewDisposeScope();
        var a = actual.detach().to(ScalarType.Float64, torch.CPU).contiguous().reshape(-1);
        var e = expected.detach().to(ScalarType.Float64, torch.CPU).contiguous().reshape(-1);
        if (a.numel() == 0)
        {
            return;
        }

        var av = a.data<double>().ToArray();
        var ev = e.data<double>().ToArray();
        var failures = 0;
        var worst = -1;
        var worstExcess = double.NegativeInfinity;
        var maxAbs = 0.0;
        var sawNaN = false;
        for (var i = 0; i < av.Length; i++)
        {
            var diff = Math.Abs(av[i] - ev[i]);
            var ok = av[i] == ev[i] || diff <= atol + rtol * Math.Abs(ev[i]);
            if (!ok)
            {
                failures++;
                var excess = double.IsNaN(diff) ? double.PositiveInfinity : diff - (atol + rtol * Math.Abs(ev[i]));
                if (worst < 0 || excess > worstExcess)
                {
                    worst = i;
                    worstExcess = excess;
                }
            }

            if (double.IsNaN(diff))
            {
                sawNaN |= !ok;
            }
            else
            {
                maxAbs = Math.Max(maxAbs, diff);
            }
        }

        if (failures > 0)
        {
            Assert.Fail(
                $"{label}{failures} of {av.Length} element(s) differ beyond |a - e| <= {atol.ToString(CultureInfo.InvariantCulture)} + " +
                $"{rtol.ToString(CultureInfo.InvariantCulture)} * |e|; max abs diff {Fmt(maxAbs)}{(sawNaN ? " (ignoring NaN)" : string.Empty)}; worst at index " +
                $"[{string.Join(", ", Unravel(worst, actual.shape))}]: actual {Fmt(av[worst])}, expected {Fmt(ev[worst])}; " +
                $"shape {Shape(actual)}.");
        }
    }

    private static long[] Unravel(long flat, long[] shape)
    {
        var index = new long[shape.Length];
        for (var d = shape.Length - 1; d >= 0; d--)
        {
            index[d] = shape[d] == 0 ? 0 : flat % shape[d];
            flat = shape[d] == 0 ? 0 : flat / shape[d];
        }

        return index;
    }

    private static string Shape(Tensor t) => $"[{string.Join(", ", t.shape)}]";

    private static string Fmt(double v) => v.ToString("R", CultureInfo.InvariantCulture);
}
