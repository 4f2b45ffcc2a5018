using System.Buffers.Binary;
using System.Text;

namespace Captum.TestData;

/// <summary>PNG files written chunk by chunk for tests: any size in the header, with or without pixel data.</summary>
internal static class PngFiles
{
    /// <summary>
    /// An 8-bit RGB PNG of <paramref name="width"/> x <paramref name="height"/>: its header, its zlib-compressed pixel
    /// data when given (null: none, so a few dozen bytes say the image is as large as one likes), and its end.
    /// </summary>
    public static byte[] Rgb(int width, int height, byte[]? pixelData)
    {
        var header = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(header, width);
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4), height);
        header[8] = 8; // bit depth
        header[9] = 2; // RGB
        using var file = new MemoryStream();
        file.Write([0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A]);
        WriteChunk(file, "IHDR", header);
        if (pixelData is not null)
        {
            WriteChunk(file, "IDAT", pixelData);
        }

        WriteChunk(file, "IEND", []);
        return file.ToArray();
    }

    private static void WriteChunk(Stream file, string type, byte[] data)
    {
        var typed = Encoding.ASCII.GetBytes(type).Concat(data).ToArray();
        Span<byte> number = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(number, data.Length);
        file.Write(number);
        file.Write(typed);
        BinaryPrimitives.WriteUInt32BigEndian(number, Crc32(typed));
        file.Write(number);
    }

    /// <summary>The CRC-32 PNG chunks carry (zlib's polynomial, bit by bit: the chunks here are tiny).</summary>
    private static uint Crc32(byte[] bytes)
    {
        var crc = 0xFFFFFFFFu;
        foreach (var b in bytes)
        {
            crc ^= b;
            for (var k = 0; k < 8; k++)
            {
                crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xEDB88320u : crc >> 1;
            }
        }

        return ~crc;
    }
}
