using System.Globalization;
using System.Runtime.InteropServices;
using TorchSharp;
using static TorchSharp.torch;

namespace Captum.Runtime;

/// <summary>
/// Checks that libtorch's oneDNN (MKL-DNN) kernels compute what its own reference kernels compute, and switches
/// oneDNN off for the process when they do not; and switches NNPACK off where it cannot run. On some CPUs the oneDNN 3.7.1 inside libtorch 2.10 picks JIT kernels
/// that give wrong numbers: on an AMD EPYC of family 26 (Zen 5) the AVX-512 and AVX2 kernels of a convolution's
/// input gradient with fewer than 16 channels, and of an LSTM's forward pass, are off by whole units with no error,
/// which turned a trained model's answers and every gradient attribution through a first convolution into noise.
/// </summary>
/// <remarks>
/// Written by hand because neither TorchSharp 0.107 nor any served library exposes ATen's switch
/// (<c>torch.backends.mkldnn.enabled</c> in Python); it is called through the C++ entry points
/// <c>at::globalContext()</c>, <c>at::Context::setUserEnabledMkldnn(bool)</c>, <c>setUserEnabledNNPACK(bool)</c> and
/// <c>at::native::_nnpack_available()</c>, exported by libtorch_cpu under
/// the Itanium C++ ABI (Linux, macOS). The reference is the same operation in float64, which oneDNN does not
/// handle, so ATen's own kernels compute it. With oneDNN off, ATen computes convolutions and LSTMs with its own
/// kernels: correct, and slower.
/// </remarks>
internal static class NativeKernelCheck
{
    private const double Tolerance = 1e-3;

    /// <summary>Runs the check; returns null when oneDNN agrees with the reference, else what differed.</summary>
    internal static string? FindWrongKernel()
    {
        using var scope = torch.NewDisposeScope();
        using var grad = torch.enable_grad();
        var generator = new Generator(20261207);
        try
        {
            // Channel counts below oneDNN's block of 16, as in a network's first layer over RGB or grey images.
            foreach (var (channels, outChannels, size, kernel, stride, padding) in new[] { (1, 1, 6, 3, 1, 1), (3, 8, 12, 7, 2, 3) })
            {
                var x = torch.randn([2, channels, size, size], generator: generator);
                var w = torch.randn([outChannels, channels, kernel, kernel], generator: generator);
                var what = $"conv2d of {channels} to {outChannels} channels, {kernel}x{kernel} kernel";
                if (Compare(what, [x, w], t => nn.functional.conv2d(t[0], t[1], strides: [stride, stride], padding: [padding, padding])) is { } problem)
                {
                    return problem;
                }
            }

            using var lstm = nn.LSTM(6, 5, batchFirst: true);
            using var lstm64 = nn.LSTM(6, 5, batchFirst: true);
            lstm64.load_state_dict(lstm.state_dict());
            lstm64.to(float64);
            // oneDNN runs an LSTM only without autograd, as in a model's prediction.
            using var inference = torch.no_grad();
            var sequence = torch.randn([2, 4, 6], generator: generator);
            var (out32, _, _) = lstm.call(sequence);
            var (out64, _, _) = lstm64.call(sequence.to(float64));
            return Differs("LSTM forward", out32, out64);
        }
        finally
        {
            generator.Dispose();
        }
    }

    /// <summary>Switches oneDNN off in ATen for the whole process; false when libtorch does not export the switch.</summary>
    internal static bool Disable()
    {
        try
        {
            SetUserEnabledMkldnn(GlobalContext(), false);
            return !UserEnabledMkldnn(GlobalContext());
        }
        catch (Exception ex) when (ex is EntryPointNotFoundException or DllNotFoundException)
        {
            return false;
        }
    }

    /// <summary>
    /// Switches NNPACK off when it cannot run on this CPU; true when it did. ATen asks NNPACK before each convolution
    /// it does not give oneDNN, and where NNPACK cannot initialise (this CPU: "unsupported hardware") libtorch logs a
    /// warning on every such call (hundreds per command). Asked once here, with libtorch's log level raised to errors
    /// for that call (<see cref="QuietNnpackAvailable"/>), it does not warn at all.
    /// </summary>
    internal static bool DisableUnavailableNnpack()
    {
        try
        {
            if (QuietNnpackAvailable())
            {
                return false;
            }

            SetUserEnabledNnpack(GlobalContext(), false);
            return true;
        }
        catch (Exception ex) when (ex is EntryPointNotFoundException or DllNotFoundException)
        {
            return false;
        }
    }

    /// <summary>
    /// <c>_nnpack_available()</c> with c10's log level (<c>FLAGS_caffe2_log_level</c>, exported by libc10) at
    /// errors for the call: NNPACK initialises on the first ask and logs "Could not initialize NNPACK" as a warning
    /// where it cannot, which says nothing a user can act on once NNPACK is switched off (and then ATen no longer asks).
    /// </summary>
    private static bool QuietNnpackAvailable()
    {
        const int ErrorLevel = 2; // c10's severities: 0 info, 1 warning, 2 error, 3 fatal
        if (!NativeLibrary.TryLoad("libc10", typeof(NativeKernelCheck).Assembly, null, out var c10)
            || !NativeLibrary.TryGetExport(c10, "FLAGS_caffe2_log_level", out var level))
        {
            return NnpackAvailable();
        }

        var previous = Marshal.ReadInt32(level);
        Marshal.WriteInt32(level, Math.Max(previous, ErrorLevel));
        try
        {
            return NnpackAvailable();
        }
        finally
        {
            Marshal.WriteInt32(level, previous);
        }
    }

    /// <summary>Whether ATen may use NNPACK, and whether NNPACK can run here.</summary>
    internal static (bool Enabled, bool Available) NnpackState() => (UserEnabledNnpack(GlobalContext()), NnpackAvailable());

    private static string? Compare(string what, Tensor[] arguments, Func<Tensor[], Tensor> operation)
    {
        var single = arguments.Select(a => a.detach().requires_grad_()).ToArray();
        var reference = arguments.Select(a => a.detach().to(float64).requires_grad_()).ToArray();
        var y = operation(single);
        var y64 = operation(reference);
        var seed = torch.randn_like(y64);
        y.backward([seed.to(float32)]);
        y64.backward([seed]);
        return Differs(what + " forward", y, y64)
            ?? single.Select((a, i) => Differs($"{what}, gradient of argument {i}", a.grad!, reference[i].grad!)).FirstOrDefault(p => p is not null);
    }

    private static string? Differs(string what, Tensor actual, Tensor reference)
    {
        var error = (actual.to(float64) - reference).abs().max().item<double>();
        var scale = Math.Max(1.0, reference.abs().max().item<double>());
        return error <= Tolerance * scale
            ? null
            : string.Create(CultureInfo.InvariantCulture, $"{what} differs from float64 by {error:g3} (of {scale:g3})");
    }

    [DllImport("libtorch_cpu", EntryPoint = "_ZN2at13globalContextEv")]
    private static extern IntPtr GlobalContext();

    [DllImport("libtorch_cpu", EntryPoint = "_ZN2at7Context20setUserEnabledMkldnnEb")]
    private static extern void SetUserEnabledMkldnn(IntPtr context, [MarshalAs(UnmanagedType.U1)] bool enabled);

    [DllImport("libtorch_cpu", EntryPoint = "_ZN2at7Context20setUserEnabledNNPACKEb")]
    private static extern void SetUserEnabledNnpack(IntPtr context, [MarshalAs(UnmanagedType.U1)] bool enabled);

    [DllImport("libtorch_cpu", EntryPoint = "_ZNK2at7Context17userEnabledNNPACKEv")]
    [return: MarshalAs(UnmanagedType.U1)]
    private static extern bool UserEnabledNnpack(IntPtr context);

    [DllImport("libtorch_cpu", EntryPoint = "_ZN2at6native17_nnpack_availableEv")]
    [return: MarshalAs(UnmanagedType.U1)]
    private static extern bool NnpackAvailable();

    [DllImport("libtorch_cpu", EntryPoint = "_ZNK2at7Context17userEnabledMkldnnEv")]
    [return: MarshalAs(UnmanagedType.U1)]
    private static extern bool UserEnabledMkldnn(IntPtr context);
}
