using System.Buffers.Binary;
using System.Text;
using SixLabors.ImageSharp.Formats;
using SixLabors.ImageSharp.Formats.Bmp;
using SixLabors.ImageSharp.Formats.Gif;
using SixLabors.ImageSharp.Formats.Jpeg;
using SixLabors.ImageSharp.Formats.Pbm;
using SixLabors.ImageSharp.Formats.Png;
using SixLabors.ImageSharp.Formats.Tga;
using SixLabors.ImageSharp.Formats.Tiff;
using SixLabors.ImageSharp.Formats.Webp;

namespace Captum.Visualization;

/// <summary>
/// Whether an image file holds all the data its own structure says it has. ImageSharp 2.1 decodes most formats cut
/// short as if the missing data were zeros (BMP, GIF, WebP, PBM, a PNG missing its end chunk, a TIFF missing its last
/// strip's end), so a truncated upload would be explained as a different, partly black image; PIL refuses such files
/// ("image file is truncated"). Written by hand because no served library checks this: each format's layout, from
/// its specification, is walked as far as it says the data goes, without decoding anything.
/// </summary>
public static class ImageStructure
{
    /// <summary>Why the image file in <paramref name="stream"/> is incomplete, or null when it is whole.</summary>
    /// <param name="format">The file's format, as <see cref="ImageHeaders.Read"/> found it; a format not listed in <see cref="ImageHeaders.Formats"/> is taken as whole.</param>
    /// <param name="stream">The file's contents: seekable, from its start. Read, not disposed.</param>
    /// <returns>A reason for a message such as <c>cannot read image NAME: REASON</c> (<see cref="ImageHeaders.Unreadable"/>), or null.</returns>
    /// <remarks>
    /// Reads the file once, without decoding it; a PNG's pixel data is inflated, in a fixed window, to check it holds
    /// as many bytes as its header needs. The VQA plugin's image files and Captum Insights' uploads are checked with it.
    /// </remarks>
    public static string? Incomplete(IImageFormat format, Stream stream)
    {
        ArgumentNullException.ThrowIfNull(format);
        ArgumentNullException.ThrowIfNull(stream);
        var reader = new Bytes(stream);
        return format switch
        {
            JpegFormat => JpegStructure.IsComplete(stream) ? null : "the JPEG file is truncated (its data ends before the end-of-image marker)",
            PngFormat => !Png(reader) ? "the PNG file is truncated (its chunks end before the IEND chunk)" : PngPixelData(stream, reader),
            GifFormat => Gif(reader) ? null : "the GIF file is truncated (its blocks end before the trailer)",
            BmpFormat => Bmp(reader) is { } need ? $"the BMP file is truncated ({reader.Length:N0} bytes where its header says {need:N0})" : null,
            WebpFormat => Webp(reader) is { } need ? $"the WebP file is truncated ({reader.Length:N0} bytes where its RIFF header says {need:N0})" : null,
            TgaFormat => Tga(reader) ? null : "the TGA file is truncated (its pixel data ends before the image does)",
            TiffFormat => Tiff(reader) ? null : "the TIFF file is truncated (an image directory or strip lies beyond its end)",
            PbmFormat => Pbm(reader) ? null : "the PBM file is truncated (its pixel data ends before the image does)",
            _ => null,
        };
    }

    // Signature, then chunks of length, type, data and CRC, up to and including IEND.
    private static bool Png(Bytes file)
    {
        for (long at = 8; at + 12 <= file.Length;)
        {
            var length = file.UInt32(at, bigEndian: true);
            var type = file.Ascii(at + 4, 4);
            at += 12 + length;
            if (type == "IEND")
            {
                return at <= file.Length;
            }
        }

        return false;
    }

    /// <summary>
    /// Why the pixel data of a PNG whose chunks are whole is not (its IDAT chunks inflate to fewer bytes than the
    /// header's size, bit depth, colour type and interlacing need, or do not inflate at all), or null when it is.
    /// ImageSharp fills rows missing from the data with zeros.
    /// </summary>
    private static string? PngPixelData(Stream stream, Bytes file)
    {
        if (file.Ascii(12, 4) != "IHDR" || file.UInt32(8, bigEndian: true) != 13)
        {
            return "the PNG file does not start with its IHDR header chunk";
        }

        var (width, height) = (file.UInt32(16, bigEndian: true), file.UInt32(20, bigEndian: true));
        var (depth, colour, interlaced) = (file.Byte(24), file.Byte(25), file.Byte(28) == 1);
        var channels = colour switch { 0 => 1, 2 => 3, 3 => 1, 4 => 2, 6 => 4, _ => 0 };
        if (channels == 0 || depth is not (1 or 2 or 4 or 8 or 16))
        {
            return null; // ImageSharp refuses these itself
        }

        var bits = (long)channels * depth;
        long Rows(long w, long h) => w == 0 || h == 0 ? 0 : h * (1 + ((w * bits) + 7) / 8);
        long expected;
        if (!interlaced)
        {
            expected = Rows(width, height);
        }
        else
        {
            // Adam7: seven passes over the pixels at (x0 + k dx, y0 + k dy).
            (int X0, int Y0, int Dx, int Dy)[] passes = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)];
            expected = passes.Sum(p => Rows(width > p.X0 ? (width - p.X0 + p.Dx - 1) / p.Dx : 0, height > p.Y0 ? (height - p.Y0 + p.Dy - 1) / p.Dy : 0));
        }

        using var compressed = new MemoryStream();
        for (long at = 8; at + 12 <= file.Length;)
        {
            var length = file.UInt32(at, bigEndian: true);
            var type = file.Ascii(at + 4, 4);
            if (type == "IDAT")
            {
                stream.Position = at + 8;
                var data = new byte[length];
                stream.ReadExactly(data);
                compressed.Write(data);
            }

            at += 12 + length;
            if (type == "IEND")
            {
                break;
            }
        }

        compressed.Position = 0;
        long inflated = 0;
        try
        {
            using var zlib = new System.IO.Compression.ZLibStream(compressed, System.IO.Compression.CompressionMode.Decompress);
            var buffer = new byte[1 << 16];
            int read;
            while (inflated < expected && (read = zlib.Read(buffer, 0, (int)Math.Min(buffer.Length, expected - inflated))) > 0)
            {
                inflated += read;
            }
        }
        catch (InvalidDataException)
        {
            return "the PNG file's pixel data is corrupt (its IDAT chunks do not inflate)";
        }

        return inflated < expected
            ? $"the PNG file's pixel data is truncated ({inflated:N0} bytes of the {expected:N0} its {width} x {height} header needs)"
            : null;
    }

    // Header, logical screen descriptor and global colour table, then extensions and images, each a run of sub-blocks
    // ended by an empty one, up to the trailer (3B).
    private static bool Gif(Bytes file)
    {
        long at = 13;
        if (file.Length < at)
        {
            return false;
        }

        var flags = file.Byte(10);
        at += (flags & 0x80) != 0 ? 3L << ((flags & 7) + 1) : 0;
        var imageEnded = false;
        while (at < file.Length)
        {
            switch (file.Byte(at))
            {
                case 0x3B:
                    return true;
                case 0x21:
                    at = SkipSubBlocks(file, at + 2);
                    break;
                case 0x2C:
                    if (at + 10 > file.Length)
                    {
                        return false;
                    }

                    var local = file.Byte(at + 9);
                    at += 10 + ((local & 0x80) != 0 ? 3L << ((local & 7) + 1) : 0);
                    at = SkipSubBlocks(file, at + 1);
                    imageEnded = at == file.Length;
                    break;
                default:
                    return false;
            }
        }

        // Without its trailer, a file whose last image's data ends exactly at its end is read whole (as PIL does).
        return imageEnded;
    }

    private static long SkipSubBlocks(Bytes file, long at)
    {
        while (at < file.Length)
        {
            var size = file.Byte(at);
            at += 1 + size;
            if (size == 0)
            {
                return at;
            }
        }

        return long.MaxValue;
    }

    // The file header's size, or for uncompressed pixels the pixel offset plus the rows; null when the file has them.
    private static long? Bmp(Bytes file)
    {
        if (file.Length < 30)
        {
            return 30;
        }

        // Uncompressed rows are counted from the dimensions; bfSize, which some writers overstate, only where the
        // pixels are compressed (run-length, JPEG or PNG inside) and it is at least the pixels' offset.
        var pixelOffset = (long)file.UInt32(10, bigEndian: false);
        long need = pixelOffset;
        var headerSize = file.UInt32(14, bigEndian: false);
        if (headerSize >= 40 && file.Length >= 34)
        {
            var width = Math.Abs((long)(int)file.UInt32(18, bigEndian: false));
            var height = Math.Abs((long)(int)file.UInt32(22, bigEndian: false));
            var bits = file.UInt16(28, bigEndian: false);
            var compression = file.UInt32(30, bigEndian: false);
            var declared = (long)file.UInt32(2, bigEndian: false);
            need = compression is 0 or 3 or 6
                ? pixelOffset + ((bits * width + 31) / 32 * 4 * height)
                : Math.Max(pixelOffset, declared);
        }

        return file.Length < need ? need : null;
    }

    // "RIFF", the size of what follows, "WEBP".
    private static long? Webp(Bytes file)
    {
        var need = file.Length < 12 ? 12 : 8L + file.UInt32(4, bigEndian: false);
        return file.Length < need ? need : null;
    }

    // An 18-byte header, the image id and colour map, then the pixels: raw, or run-length packets.
    private static bool Tga(Bytes file)
    {
        if (file.Length < 18)
        {
            return false;
        }

        var idLength = file.Byte(0);
        var type = file.Byte(2);
        var mapLength = file.UInt16(5, bigEndian: false);
        var mapBytes = (file.Byte(7) + 7) / 8;
        var pixels = (long)file.UInt16(12, bigEndian: false) * file.UInt16(14, bigEndian: false);
        var pixelBytes = (file.Byte(16) + 7) / 8;
        long at = 18 + idLength + (file.Byte(1) == 1 ? (long)mapLength * mapBytes : 0);
        if (type < 8)
        {
            return at + (pixels * pixelBytes) <= file.Length;
        }

        for (long done = 0; done < pixels;)
        {
            if (at >= file.Length)
            {
                return false;
            }

            var packet = file.Byte(at);
            var count = (packet & 0x7F) + 1;
            at += 1 + ((packet & 0x80) != 0 ? pixelBytes : (long)count * pixelBytes);
            done += count;
        }

        return at <= file.Length;
    }

    // Byte order, 42, the first directory's offset; every directory's entries, and every strip or tile inside the file.
    private static bool Tiff(Bytes file)
    {
        if (file.Length < 8)
        {
            return false;
        }

        var big = file.Byte(0) == (byte)'M';
        if (file.UInt16(2, big) != 42)
        {
            // BigTIFF (43) lays its directories out with 8-byte fields; it is left to the decoder.
            return true;
        }

        // Directories may chain or share their values; a whole file never needs more reading than twice its size,
        // so a crafted chain of overlapping directories is refused before it costs more.
        var seen = new HashSet<long>();
        var walked = 0L;
        for (long ifd = file.UInt32(4, big); ifd != 0; )
        {
            if (!seen.Add(ifd) || ifd + 2 > file.Length)
            {
                return false;
            }

            var entries = file.UInt16(ifd, big);
            var end = ifd + 2 + (12L * entries);
            walked += end - ifd + 4;
            if (end + 4 > file.Length || walked > 2 * file.Length)
            {
                return false;
            }

            var fields = new Dictionary<int, long[]>();
            for (var e = 0; e < entries; e++)
            {
                var entry = ifd + 2 + (12L * e);
                var tag = file.UInt16(entry, big);
                if (tag is 273 or 279 or 324 or 325 && Values(file, entry, big) is { } values)
                {
                    fields[tag] = values;
                    walked += 4L * values.Length;
                }
                else if (tag is 273 or 279 or 324 or 325)
                {
                    return false;
                }
            }

            if (walked > 2 * file.Length || !DataInside(file, fields, 273, 279) || !DataInside(file, fields, 324, 325))
            {
                return false;
            }

            ifd = file.UInt32(end, big);
        }

        return true;
    }

    private static bool DataInside(Bytes file, Dictionary<int, long[]> fields, int offsetsTag, int countsTag)
    {
        if (!fields.TryGetValue(offsetsTag, out var offsets))
        {
            return true;
        }

        return fields.TryGetValue(countsTag, out var counts)
            && counts.Length == offsets.Length
            && offsets.Zip(counts).All(p => p.First + p.Second <= file.Length);
    }

    // A SHORT or LONG field's values, inline when they fit in four bytes; null when they lie beyond the file.
    private static long[]? Values(Bytes file, long entry, bool big)
    {
        var type = file.UInt16(entry + 2, big);
        var count = file.UInt32(entry + 4, big);
        var size = type == 3 ? 2 : type == 4 ? 4 : 0;
        if (size == 0 || count > file.Length)
        {
            return null;
        }

        var at = count * size <= 4 ? entry + 8 : file.UInt32(entry + 8, big);
        if (at + (count * size) > file.Length)
        {
            return null;
        }

        var values = new long[count];
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = size == 2 ? file.UInt16(at + (2L * i), big) : file.UInt32(at + (4L * i), big);
        }

        return values;
    }

    // P1-P6: magic, width, height and (but for P1 and P4) the maximum value, as text with comments; then the pixels,
    // as text numbers (P1's digits may touch) or as bytes after one whitespace.
    private static bool Pbm(Bytes file)
    {
        var kind = file.Length < 2 ? 0 : file.Byte(1) - '0';
        var tokens = new List<long>();
        long at = 2;
        var header = kind is 1 or 4 ? 2 : 3;
        while (tokens.Count < header)
        {
            if (NextNumber(file, ref at) is not { } number)
            {
                return false;
            }

            tokens.Add(number);
        }

        var (width, height) = (tokens[0], tokens[1]);
        var channels = kind is 3 or 6 ? 3 : 1;
        var sampleBytes = header == 3 && tokens[2] > 255 ? 2 : 1;
        var samples = width * height * channels;
        switch (kind)
        {
            case 4:
                return at + 1 + ((width + 7) / 8 * height) <= file.Length;
            case 5 or 6:
                return at + 1 + (samples * sampleBytes) <= file.Length;
            case 1:
                return CountDigits(file, at) >= samples;
            default:
                for (long i = 0; i < samples; i++)
                {
                    if (NextNumber(file, ref at) is null)
                    {
                        return false;
                    }
                }

                return true;
        }
    }

    private static long? NextNumber(Bytes file, ref long at)
    {
        while (at < file.Length && (char.IsWhiteSpace((char)file.Byte(at)) || file.Byte(at) == '#'))
        {
            if (file.Byte(at) == '#')
            {
                while (at < file.Length && file.Byte(at) is not ((byte)'\n' or (byte)'\r'))
                {
                    at++;
                }
            }
            else
            {
                at++;
            }
        }

        long value = 0;
        var start = at;
        while (at < file.Length && file.Byte(at) is >= (byte)'0' and <= (byte)'9')
        {
            value = Math.Min((value * 10) + (file.Byte(at) - '0'), (long)int.MaxValue + 1);
            at++;
        }

        // A value beyond an int is no image the decoder reads.
        return at > start && value <= int.MaxValue ? value : null;
    }

    private static long CountDigits(Bytes file, long at)
    {
        long digits = 0;
        for (; at < file.Length; at++)
        {
            var b = file.Byte(at);
            if (b == '#')
            {
                while (at < file.Length && file.Byte(at) is not ((byte)'\n' or (byte)'\r'))
                {
                    at++;
                }
            }
            else if (b is (byte)'0' or (byte)'1')
            {
                digits++;
            }
        }

        return digits;
    }

    /// <summary>Random access to a seekable stream's bytes through a window; reads past the end give zeros, which the walks above never trust.</summary>
    private sealed class Bytes(Stream stream)
    {
        private const int WindowSize = 1 << 16;
        private readonly byte[] window = new byte[WindowSize];
        private readonly byte[] scratch = new byte[8];
        private long windowStart = -1;
        private int windowLength;

        public long Length { get; } = stream.Length;

        public byte Byte(long at) => Read(at, 1)[0];

        public ushort UInt16(long at, bool bigEndian) =>
            bigEndian ? BinaryPrimitives.ReadUInt16BigEndian(Read(at, 2)) : BinaryPrimitives.ReadUInt16LittleEndian(Read(at, 2));

        public uint UInt32(long at, bool bigEndian) =>
            bigEndian ? BinaryPrimitives.ReadUInt32BigEndian(Read(at, 4)) : BinaryPrimitives.ReadUInt32LittleEndian(Read(at, 4));

        public string Ascii(long at, int count) => Encoding.ASCII.GetString(Read(at, count));

        private ReadOnlySpan<byte> Read(long at, int count)
        {
            Array.Clear(scratch);
            for (var i = 0; i < count; i++)
            {
                var position = at + i;
                if (position < 0 || position >= Length)
                {
                    continue;
                }

                if (position < windowStart || position >= windowStart + windowLength)
                {
                    stream.Position = position;
                    windowStart = position;
                    windowLength = stream.ReadAtLeast(window, WindowSize, throwOnEndOfStream: false);
                }

                scratch[i] = window[position - windowStart];
            }

            return scratch.AsSpan(0, count);
        }
    }
}
