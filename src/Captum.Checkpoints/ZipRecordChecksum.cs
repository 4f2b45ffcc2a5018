using System.IO.Compression;
using System.IO.Hashing;

namespace Captum.Checkpoints;

/// <summary>
/// A read-only view of a zip record's stream that computes the CRC-32 of everything read through it, so the reader
/// can check a record against the checksum the zip's central directory holds: .NET's <see cref="ZipArchive"/> does
/// not (a flipped byte in a stored record reads back silently), while Python's zipfile, which torch.load uses, does.
/// </summary>
internal sealed class ZipRecordChecksum(Stream source) : Stream
{
    private readonly Crc32 crc = new();

    /// <inheritdoc/>
    public override bool CanRead => true;

    /// <inheritdoc/>
    public override bool CanSeek => false;

    /// <inheritdoc/>
    public override bool CanWrite => false;

    /// <inheritdoc/>
    public override long Length => throw new NotSupportedException();

    /// <inheritdoc/>
    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    /// <summary>
    /// Reads what is left of the record, then checks the CRC-32 of all of it against <paramref name="entry"/>'s.
    /// </summary>
    /// <exception cref="CheckpointFormatException">The checksums differ; the message names the record.</exception>
    public void Verify(ZipArchiveEntry entry, LoadContext context)
    {
        var buffer = new byte[81920];
        while (Read(buffer, 0, buffer.Length) > 0)
        {
        }

        var actual = crc.GetCurrentHashAsUInt32();
        if (actual != entry.Crc32)
        {
            throw context.Fail($"record {entry.FullName} is corrupt: its CRC-32 is {actual:x8}, the archive's directory says {entry.Crc32:x8}");
        }
    }

    /// <inheritdoc/>
    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    /// <inheritdoc/>
    public override int Read(Span<byte> buffer)
    {
        var n = source.Read(buffer);
        crc.Append(buffer[..n]);
        return n;
    }

    /// <inheritdoc/>
    public override void Flush()
    {
    }

    /// <inheritdoc/>
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    /// <inheritdoc/>
    public override void SetLength(long value) => throw new NotSupportedException();

    /// <inheritdoc/>
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    /// <inheritdoc/>
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            source.Dispose();
        }

        base.Dispose(disposing);
    }
}
