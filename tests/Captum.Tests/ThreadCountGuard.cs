using System.Globalization;
using TorchSharp;

namespace Captum.Tests;

/// <summary>
/// libtorch's thread count when a test starts (<see cref="Before"/>), another one for the test to ask a command for
/// (<see cref="Other"/>), and the first put back on dispose, so that a test that fails leaves the others their count.
/// </summary>
internal sealed class ThreadCountGuard : IDisposable
{
    public ThreadCountGuard()
    {
        Before = torch.get_num_threads();
        Other = Before == 1 ? 2 : 1;
    }

    /// <summary>The count when the test started.</summary>
    public int Before { get; }

    /// <summary>A count other than <see cref="Before"/>.</summary>
    public int Other { get; }

    /// <summary><see cref="Other"/> as a command-line value.</summary>
    public string OtherText => Other.ToString(CultureInfo.InvariantCulture);

    public void Dispose() => torch.set_num_threads(Before);
}
