namespace Captum.Visualization;

/// <summary>
/// Whether a JPEG file is whole: its markers, read in order, reach the end-of-image marker (EOI, FF D9). ImageSharp
/// decodes a JPEG cut short as if the missing scan data were zeros (the lost part comes out flat), where libjpeg and
/// so PIL refuse it ("image file is truncated"); this tells the two apart before decoding.
/// </summary>
/// <remarks>
/// Segments are skipped by their lengths, so an EOI inside one (an EXIF thumbnail's) is not taken for the file's;
/// after a start-of-scan segment, the entropy-coded data runs to the next marker that is not a stuffed byte (FF 00)
/// or a restart marker (FF D0 to FF D7), as the JPEG standard lays it out.
/// </remarks>
internal static class JpegStructure
{
    private const int EndOfImage = 0xD9;

    /// <summary>Whether the JPEG in <paramref name="stream"/> (from its start) reaches its end-of-image marker.</summary>
    public static bool IsComplete(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        if (stream.ReadByte() != 0xFF || stream.ReadByte() != 0xD8)
        {
            return false;
        }

        while (true)
        {
            var marker = NextMarker(stream);
            if (marker < 0)
            {
                return false;
            }

            if (marker == EndOfImage)
            {
                return true;
            }

            if (marker == 0xD8)
            {
                continue; // a repeated start of image has no length
            }

            var (high, low) = (stream.ReadByte(), stream.ReadByte());
            var length = (high << 8) | low;
            if (low < 0 || length < 2 || stream.Position + length - 2 > stream.Length)
            {
                return false;
            }

            stream.Seek(length - 2, SeekOrigin.Current);
        }
    }

    /// <summary>
    /// The next marker's code, past any bytes before it (a scan's entropy-coded data, with its stuffed bytes and restart
    /// markers, or stray bytes between segments); -1 when the stream ends first.
    /// </summary>
    private static int NextMarker(Stream stream)
    {
        int b;
        while ((b = stream.ReadByte()) >= 0)
        {
            if (b != 0xFF)
            {
                continue;
            }

            do
            {
                b = stream.ReadByte(); // FF bytes before a marker are fill
            }
            while (b == 0xFF);

            var standalone = b is 0x00 or 0x01 or (>= 0xD0 and <= 0xD7); // stuffed zero, TEM, restart markers
            if (b < 0 || !standalone)
            {
                return b;
            }
        }

        return -1;
    }
}
