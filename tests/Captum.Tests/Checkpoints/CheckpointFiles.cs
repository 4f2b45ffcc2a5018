namespace Captum.Tests.Checkpoints;

/// <summary>
/// Locates the real PyTorch checkpoints of shared/checkpoints: <c>$CAPTUM_CHECKPOINTS_DIR</c> when set, else
/// <c>&lt;repository root&gt;/../shared/checkpoints</c>, where the repository root is the first directory above the
/// test binaries that contains CaptumSharp.sln (see <c>Captum.TestData.SharedData.Locate</c>, which also finds the
/// folder beside the checkout a CI clone was made from).
/// </summary>
internal static class CheckpointFiles
{
    public const string DirectoryVariable = "CAPTUM_CHECKPOINTS_DIR";

    private static readonly Lazy<string> Root = new(Locate);

    /// <summary>The checkpoint folder.</summary>
    public static string Directory => Root.Value;

    /// <summary>The full path of a file of the checkpoint folder (e.g. <c>e2e/vqa.pth</c>); fails if it is absent.</summary>
    public static string PathOf(string relative)
    {
        var path = Path.GetFullPath(Path.Combine(Directory, relative));
        return File.Exists(path)
            ? path
            : throw new FileNotFoundException($"The checkpoint test file {path} does not exist.", path);
    }

    /// <summary>A fresh temporary file holding <paramref name="bytes"/>; deleted when disposed.</summary>
    public static TempFile Temp(byte[] bytes, string extension = ".pth") => new(bytes, extension);

    private static string Locate() => Captum.TestData.SharedData.Locate("checkpoints", DirectoryVariable);

    /// <summary>A temporary file deleted on dispose.</summary>
    internal sealed class TempFile : IDisposable
    {
        public TempFile(byte[] bytes, string extension)
        {
            Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"captum-ckpt-{Guid.NewGuid():N}{extension}");
            File.WriteAllBytes(Path, bytes);
        }

        public string Path { get; }

        public void Dispose()
        {
            try
            {
                File.Delete(Path);
            }
            catch (IOException)
            {
                // best effort
            }
        }
    }
}
