using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Captum.Layers;
using Captum.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace Captum.Forward;

/// <summary>
/// Runs a model's image batches in channels-last memory order (NHWC strides, the same NCHW shape), where libtorch's
/// CPU convolutions are much faster at batches of several images, once a probe has shown that the model computes the
/// same thing from either order.
/// </summary>
/// <remarks>
/// <para>
/// Measured on this project's 2-core machine (docs/performance.md): ResNet-18 without gradients at 1 thread takes
/// 55 ms per image at batch 32 in TorchSharp's libtorch with contiguous (NCHW) batches and 28 ms per image in
/// channels-last order; forward and backward at batch 10 take 23 to 30% less time and about 80 MB less memory. At
/// batches of 1 and 2 channels-last is slower (88 against 64 ms per image at batch 1), so only batches of
/// <see cref="MinimumBatch"/> or more are rearranged.
/// </para>
/// <para>
/// Only the batch CaptumSharp hands to the model is rearranged (a copy, made in the caller's dispose scope; gradients
/// flow back through it to the leaf the attribution differentiates), never a tensor of the caller's, and never the
/// model's weights. Which order a model may be given is decided once per model by a probe: the first example of the
/// first qualifying batch is run in both orders without gradients and without any attribution's hooks, and
/// channels-last is used only if both runs succeed and agree to float tolerance. A model that views its input
/// (<c>x.view(-1, 784)</c> fails on channels-last strides), reads its raw data, or otherwise depends on the order is
/// thereby left in the order it was given. No probe runs, and nothing is rearranged, while the model has one of TorchSharp's
/// batch-norm, instance-norm, dropout or recurrent modules in training mode (the probe's passes would update statistics
/// or draw random numbers) or with forward hooks of the user's own (they
/// would see the probe's passes), for tensors not on the CPU (measured on the CPU only), and with
/// <c>CAPTUM_CHANNELS_LAST=0</c> in the process's environment.
/// </para>
/// </remarks>
internal static class ChannelsLastLayout
{
    /// <summary>The smallest batch rearranged: below it channels-last was measured slower.</summary>
    public const long MinimumBatch = 4;

    private static readonly ConditionalWeakTable<ForwardFunction, ConcurrentDictionary<long, Verdict>> Verdicts = new();
    private static readonly ConditionalWeakTable<nn.Module, Verdict> LastVerdicts = new();
    private static readonly bool ProcessDefault = Environment.GetEnvironmentVariable("CAPTUM_CHANNELS_LAST") != "0";
    private static readonly AsyncLocal<bool?> Override = new();

    /// <summary>Whether batches are rearranged (on unless <c>CAPTUM_CHANNELS_LAST=0</c>); tests switch it for their own execution flow.</summary>
    internal static bool Enabled
    {
        get => Override.Value ?? ProcessDefault;
        set => Override.Value = value;
    }

    /// <summary>
    /// The arguments to call the model with: <paramref name="args"/> itself, or a copy whose image batches are in
    /// channels-last order when <paramref name="function"/> has been found to accept that for these argument positions.
    /// </summary>
    /// <param name="function">The forward function called; verdicts are kept per function, since two functions over one model may treat its input differently.</param>
    /// <param name="module">The model <paramref name="invoke"/> runs.</param>
    /// <param name="args">The positional arguments of the call.</param>
    /// <param name="invoke">The call itself, used by the probe.</param>
    public static object?[] Arrange(ForwardFunction function, nn.Module module, object?[] args, Func<object?[], Tensor> invoke)
    {
        if (!Enabled)
        {
            return args;
        }

        // Which positions would be rearranged: a verdict holds for that set only (an optional 4-D argument the probe
        // never saw gets a probe of its own).
        long positions = 0;
        for (var i = 0; i < args.Length && i < 63; i++)
        {
            if (args[i] is Tensor t && Qualifies(t))
            {
                positions |= 1L << i;
            }
        }

        if (positions == 0)
        {
            return args;
        }

        var verdicts = Verdicts.GetValue(function, static _ => new ConcurrentDictionary<long, Verdict>());
        if (verdicts.TryGetValue(positions, out var known) && !known.Accepts)
        {
            return args;
        }

        // Checked on every call, not remembered: the model may leave training mode, or the user remove a hook.
        List<nn.Module> modules = [module, .. module.modules()];
        if (modules.Any(ChangesStateWhenCalled) || modules.Any(HookScope.HasForeignHooks))
        {
            return args;
        }

        if (known is null)
        {
            known = Probe(args, positions, invoke);
            verdicts[positions] = known;
            LastVerdicts.AddOrUpdate(module, known);
        }

        if (!known.Accepts)
        {
            return args;
        }

        var arranged = (object?[])args.Clone();
        for (var i = 0; i < arranged.Length; i++)
        {
            if ((positions & (1L << i)) != 0)
            {
                arranged[i] = ToChannelsLast((Tensor)arranged[i]!);
            }
        }

        return arranged;
    }

    /// <summary>
    /// A copy of <paramref name="t"/> in the memory order of <paramref name="like"/>: channels-last when
    /// <paramref name="like"/> is a 4-dimensional channels-last tensor of the same shape (a layer value that replaces
    /// one the model computed from a rearranged batch keeps its speed), otherwise a plain clone. Differentiable.
    /// </summary>
    public static Tensor CloneLike(Tensor t, Tensor like) =>
        t.Dimensions == 4 && like.Dimensions == 4 && t.shape.SequenceEqual(like.shape) && like.shape[1] > 1 && IsChannelsLast(like) && !IsChannelsLast(t)
            ? ToChannelsLast(t)
            : t.clone();

    /// <summary>Whether the last probe of a function over <paramref name="module"/> found channels-last batches accepted; null before any (tests).</summary>
    internal static bool? AcceptedBy(nn.Module module) => LastVerdicts.TryGetValue(module, out var v) ? v.Accepts : null;

    /// <summary>
    /// A TorchSharp module whose call in training mode changes state or draws random numbers (batch-norm statistics,
    /// dropout masks): the probe's passes must not do either. A model's own module types are taken as they are.
    /// </summary>
    private static bool ChangesStateWhenCalled(nn.Module module) =>
        module.training
        && module.GetType().Assembly == typeof(nn.Module).Assembly
        && StatefulInTraining.Any(module.GetType().Name.Contains);

    private static readonly string[] StatefulInTraining = ["BatchNorm", "InstanceNorm", "Dropout", "RReLU", "LSTM", "GRU", "RNN"];

    private static bool Qualifies(Tensor t) =>
        t.Dimensions == 4
        && t.is_floating_point()
        && t.device_type == DeviceType.CPU
        && t.shape[0] >= MinimumBatch
        && t.shape[1] > 1
        && t.shape[2] * t.shape[3] > 1
        && !IsChannelsLast(t);

    private static bool IsChannelsLast(Tensor t)
    {
        var stride = t.stride();
        return stride[1] == 1 && stride[3] == t.shape[1] && stride[2] == t.shape[1] * t.shape[3];
    }

    private static Tensor ToChannelsLast(Tensor t) => t.permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2);

    private static Verdict Probe(object?[] args, long positions, Func<object?[], Tensor> invoke)
    {
        var batch = args.OfType<Tensor>().First(Qualifies).shape[0];
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        using var suspended = HookScope.SuspendInThisFlow();
        try
        {
            // Copies, never views: a model that changes its input in place must not reach the caller's tensors.
            var first = args.Select(a => a is Tensor t ? (t.Dimensions > 0 && t.shape[0] == batch ? t.narrow(0, 0, 1) : t).clone() : a).ToArray();
            var rearranged = first.Select((a, i) => (positions & (1L << i)) != 0 ? ToChannelsLast((Tensor)a!) : a is Tensor t ? t.clone() : a).ToArray();
            var expected = invoke(first);
            var got = invoke(rearranged);
            if (!expected.shape.SequenceEqual(got.shape) || expected.dtype != got.dtype)
            {
                return Verdict.Refuses;
            }

            if (!expected.is_floating_point())
            {
                return expected.equal(got).item<bool>() ? Verdict.Accepted : Verdict.Refuses;
            }

            return Rounding.Close(got, expected) ? Verdict.Accepted : Verdict.Refuses;
        }
        catch (Exception ex) when (ex is not OperationCanceledException and not OutOfMemoryException)
        {
            return Verdict.Refuses;
        }
    }

    private sealed record Verdict(bool Accepts)
    {
        public static readonly Verdict Accepted = new(true);
        public static readonly Verdict Refuses = new(false);
    }
}
