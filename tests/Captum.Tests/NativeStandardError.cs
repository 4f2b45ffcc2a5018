using System.Runtime.InteropServices;
using Xunit;

namespace Captum.Tests;

/// <summary>
/// What native code (libtorch's warnings, written to the process's file descriptor 2 by C++) prints on standard error
/// while an action runs; .NET's <see cref="Console.Error"/> never sees it. Linux only: elsewhere the action runs and
/// nothing is captured. The tests of this assembly run one at a time, so no other test writes meanwhile.
/// </summary>
internal static class NativeStandardError
{
    private const int StandardErrorDescriptor = 2;

    public static string Capture(Action action)
    {
        ArgumentNullException.ThrowIfNull(action);
        if (!OperatingSystem.IsLinux())
        {
            action();
            return string.Empty;
        }

        var path = Path.Combine(Path.GetTempPath(), $"captum-stderr-{Guid.NewGuid():N}.txt");
        var saved = Dup(StandardErrorDescriptor);
        Assert.True(saved >= 0, "dup(2) failed");
        try
        {
            using (var file = File.OpenHandle(path, FileMode.CreateNew, FileAccess.Write))
            {
                Assert.True(Dup2((int)file.DangerousGetHandle(), StandardErrorDescriptor) >= 0, "dup2 failed");
                try
                {
                    action();
                }
                finally
                {
                    Dup2(saved, StandardErrorDescriptor);
                }
            }

            return File.ReadAllText(path);
        }
        finally
        {
            Close(saved);
            File.Delete(path);
        }
    }

    [DllImport("libc", EntryPoint = "dup")]
    private static extern int Dup(int descriptor);

    [DllImport("libc", EntryPoint = "dup2")]
    private static extern int Dup2(int descriptor, int target);

    [DllImport("libc", EntryPoint = "close")]
    private static extern int Close(int descriptor);
}
