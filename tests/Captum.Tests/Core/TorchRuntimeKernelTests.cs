using Captum.Runtime;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Captum.Tests.Core;

public class TorchRuntimeKernelTests
{
    // The shapes oneDNN 3.7.1's AVX-512 and AVX2 kernels got wrong on an AMD EPYC of family 26, and others: after
    // EnsureAvailable, float32 convolutions and LSTMs agree with the float64 ones libtorch computes with its own kernels.
    [Theory]
    [InlineData(1, 1, 3, 1, 1)]
    [InlineData(3, 4, 7, 2, 3)]
    [InlineData(2, 16, 3, 1, 0)]
    [InlineData(32, 8, 1, 1, 0)]
    public void EnsureAvailable_AnyCpu_ConvolutionGradientsAgreeWithFloat64(int channels, int outChannels, int kernel, int stride, int padding)
    {
        TorchRuntime.EnsureAvailable();
        using var scope = torch.NewDisposeScope();
        torch.manual_seed(channels * 100 + kernel);
        var x = torch.randn(3, channels, 16, 16);
        var w = torch.randn(outChannels, channels, kernel, kernel);
        var (y, dx, dw) = Convolve(x, w, stride, padding);
        var (y64, dx64, dw64) = Convolve(x.to(float64), w.to(float64), stride, padding);
        TensorAssert.AllClose(y.to(float64), y64, 1e-4, 1e-4, "output");
        TensorAssert.AllClose(dx.to(float64), dx64, 1e-4, 1e-4, "input gradient");
        TensorAssert.AllClose(dw.to(float64), dw64, 1e-3, 1e-4, "weight gradient");
    }

    // oneDNN runs an LSTM only without autograd (a prediction); its kernels were off by tenths there.
    [Theory]
    [InlineData(2, 4, 6, 5, true)]
    [InlineData(3, 9, 6, 5, false)]
    [InlineData(2, 5, 8, 16, true)]
    public void EnsureAvailable_AnyCpu_LstmPredictionAgreesWithFloat64(int batch, int length, int features, int hidden, bool batchFirst)
    {
        TorchRuntime.EnsureAvailable();
        using var scope = torch.NewDisposeScope();
        using var inference = torch.no_grad();
        torch.manual_seed(7);
        using var lstm = nn.LSTM(features, hidden, batchFirst: batchFirst);
        using var lstm64 = nn.LSTM(features, hidden, batchFirst: batchFirst);
        lstm64.load_state_dict(lstm.state_dict());
        lstm64.to(float64);
        var sequence = torch.randn(batch, length, features);
        var (output, _, _) = lstm.call(sequence);
        var (output64, _, _) = lstm64.call(sequence.to(float64));
        TensorAssert.AllClose(output.to(float64), output64, 1e-5, 1e-4, "LSTM output");
    }

    // Where NNPACK cannot initialise, libtorch logged a warning at every convolution that did not go to oneDNN.
    [Fact]
    public void EnsureAvailable_AnyCpu_LeavesNnpackOnOnlyWhereItCanRun()
    {
        TorchRuntime.EnsureAvailable();

        var (enabled, available) = NativeKernelCheck.NnpackState();

        Assert.Equal(available, enabled);
    }

    // Asking NNPACK whether it can run initialises it, and where it cannot it used to log one warning per process.
    [Fact]
    public async Task Captum_AnyCpu_PrintsNoNnpackWarning()
    {
        var errors = new System.Collections.Concurrent.ConcurrentQueue<string>();
        using var process = Captum.Tests.Batch.IndexedJobWorker.Start(["plugins"], 0, 1, errors.Enqueue);
        await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(2));

        Assert.Equal(0, process.ExitCode);
        Assert.DoesNotContain(errors, line => line.Contains("NNPACK", StringComparison.Ordinal));
    }

    // The check builds an LSTM and draws from the global generator; a caller's seeded draws must not see it.
    [Fact]
    public void CheckKernels_AfterManualSeed_LeavesTheGlobalGeneratorWhereItWas()
    {
        using var scope = torch.NewDisposeScope();
        torch.manual_seed(5);
        var expected = torch.randn(8);
        torch.manual_seed(5);

        Assert.Null(TorchRuntime.CheckKernels());
        var drawn = torch.randn(8);

        TensorAssert.AllClose(drawn, expected, 0, 0);
    }

    private static (Tensor Y, Tensor Dx, Tensor Dw) Convolve(Tensor x, Tensor w, int stride, int padding)
    {
        var xg = x.detach().requires_grad_();
        var wg = w.detach().requires_grad_();
        var y = nn.functional.conv2d(xg, wg, strides: [stride, stride], padding: [padding, padding]);
        y.pow(2).sum().backward();
        return (y, xg.grad!, wg.grad!);
    }
}
