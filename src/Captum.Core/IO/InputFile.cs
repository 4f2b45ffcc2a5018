using System.Runtime.InteropServices;
using System.Text;

namespace Captum;

/// <summary>
/// Checks on the files a user names (a checkpoint, an image, a batch or dataset manifest), made before they are read,
/// and bounded reads of them: a folder, a device or a pipe is refused naming the option instead of hanging a reader
/// (a FIFO) or filling memory (<c>/dev/zero</c>).
/// </summary>
public static class InputFile
{
    /// <summary>
    /// Checks that <paramref name="path"/> names a regular file (links followed): not missing, not a folder, and not a
    /// device, pipe or socket, which can block a reader or never end (<c>/dev/zero</c>).
    /// </summary>
    /// <param name="path">The file.</param>
    /// <param name="label">What gave it, to start the message: <c>--image</c>, <c>--batch FILE: scenes[1].image</c>.</param>
    /// <param name="paramName">The argument the exception names; <c>path</c> by default.</param>
    /// <exception cref="ArgumentException">It is not a regular file; the message starts with <paramref name="label"/> and names the file.</exception>
    public static void RequireRegular(string path, string label, string paramName = "path")
    {
        ArgumentNullException.ThrowIfNull(path);
        if (Directory.Exists(path))
        {
            throw new ArgumentException($"{label}: {path} is a folder, not a file.", paramName);
        }

        if (!File.Exists(path))
        {
            throw new ArgumentException($"{label}: file not found: {path}", paramName);
        }

        if (SpecialKind(path) is { } kind)
        {
            throw new ArgumentException($"{label}: {path} is a {kind}, not a regular file.", paramName);
        }
    }

    /// <summary>Reads a regular text file of at most <paramref name="maxBytes"/> bytes (UTF-8 unless a byte order mark says otherwise).</summary>
    /// <exception cref="ArgumentException">It is not a regular file, or it is larger; the message starts with <paramref name="label"/> and names the file.</exception>
    public static string ReadText(string path, long maxBytes, string label, string paramName = "path")
    {
        var bytes = ReadBytes(path, maxBytes, label, paramName);
        using var reader = new StreamReader(new MemoryStream(bytes, writable: false), Encoding.UTF8, detectEncodingFromByteOrderMarks: true);
        return reader.ReadToEnd();
    }

    /// <summary>Reads a regular file of at most <paramref name="maxBytes"/> bytes.</summary>
    /// <param name="path">The file.</param>
    /// <param name="maxBytes">The most bytes it may have.</param>
    /// <param name="label">What gave it, to start the message.</param>
    /// <param name="paramName">The argument the exception names; <c>path</c> by default.</param>
    /// <returns>Its contents.</returns>
    /// <exception cref="ArgumentException">It is not a regular file, or it is larger; the message starts with <paramref name="label"/> and names the file.</exception>
    /// <exception cref="IOException">It cannot be read.</exception>
    public static byte[] ReadBytes(string path, long maxBytes, string label, string paramName = "path")
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxBytes);
        RequireRegular(path, label, paramName);
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        using var copy = new MemoryStream((int)Math.Min(Math.Min(stream.Length, maxBytes), Array.MaxLength));

        // Bounded by what is read, not by Length: a file can grow meanwhile, and /proc's files say they are empty.
        var buffer = new byte[81920];
        int read;
        while ((read = stream.Read(buffer, 0, (int)Math.Min(buffer.Length, maxBytes + 1 - copy.Length))) > 0)
        {
            copy.Write(buffer, 0, read);
            if (copy.Length > maxBytes)
            {
                throw new ArgumentException($"{label}: {path} is larger than {Bytes(maxBytes)}, the most it may be.", paramName);
            }
        }

        // Sized from the file's length, the buffer is the contents unless the file grew or said nothing (/proc).
        return copy.Length == copy.Capacity ? copy.GetBuffer() : copy.ToArray();
    }

    /// <summary>A size in bytes as people write it: 16 MiB.</summary>
    private static string Bytes(long bytes) => bytes switch
    {
        >= 1 << 30 when bytes % (1 << 30) == 0 => $"{bytes >> 30} GiB",
        >= 1 << 20 when bytes % (1 << 20) == 0 => $"{bytes >> 20} MiB",
        >= 1 << 10 when bytes % (1 << 10) == 0 => $"{bytes >> 10} KiB",
        _ => $"{bytes} bytes",
    };

    /// <summary>What the file is when it exists but is not regular ("character device", "pipe", ...); null for a regular file or where this cannot be told.</summary>
    private static string? SpecialKind(string path)
    {
        // .NET reports devices and pipes as normal files; statx's layout is the same on every Linux architecture.
        if (!OperatingSystem.IsLinux())
        {
            return null;
        }

        var status = new byte[256];
        try
        {
            if (Statx(AtCurrentDirectory, path, 0, StatxType, status) != 0)
            {
                return null;
            }
        }
        catch (Exception ex) when (ex is EntryPointNotFoundException or DllNotFoundException)
        {
            // A C library without statx (musl before 1.2.5): the kind cannot be told, as on other systems.
            return null;
        }

        return (BitConverter.ToUInt16(status, StatxModeOffset) & FileTypeMask) switch
        {
            RegularFile => null,
            0x1000 => "pipe",
            0x2000 => "character device",
            0x6000 => "block device",
            0xC000 => "socket",
            _ => "special file",
        };
    }

    private const int AtCurrentDirectory = -100;
    private const uint StatxType = 0x1;
    private const int StatxModeOffset = 28;
    private const int FileTypeMask = 0xF000;
    private const int RegularFile = 0x8000;

    [DllImport("libc", EntryPoint = "statx", CharSet = CharSet.Ansi, BestFitMapping = false, ThrowOnUnmappableChar = true)]
    private static extern int Statx(int directory, string path, int flags, uint mask, [Out] byte[] status);
}
