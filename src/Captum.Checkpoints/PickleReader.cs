// Why this pickle reader is our own, when Razorvine.Pickle and TorchSharp.PyBridge exist:
// - TorchSharp.PyBridge (1.4.4, served by the registry) reads only the zip format of torch.save: it refuses the
//   legacy format of PyTorch 0.4 to 1.5, which checkpoints still in use are written in (Captum's VQA tutorial
//   checkpoint is one), and it reads through Razorvine.Pickle's Unpickler, with the registry problem below.
// - Razorvine.Pickle's Unpickler builds objects through one class hook, Unpickler.registerConstructor, a
//   process-wide static registry: a library that registers torch's globals there changes how every other pickle
//   in the process is read (PyBridge registers its own), and registering while another thread unpickles is a race.
//   Its unknown classes become dictionaries, so an allow-list (never import, never execute) cannot be enforced.
// - A checkpoint is untrusted input: every length is checked against the bytes that remain before anything is
//   allocated, nothing recurses, and the storages are read straight into tensor memory. Those guarantees are what
//   this file is for; the opcode set itself is the fixed one of pickle protocols 0 to 5.

using System.Buffers.Binary;
using System.Globalization;
using System.Numerics;
using System.Text;

namespace Captum.Checkpoints;

/// <summary>
/// The operations a <see cref="PickleReader"/> delegates: resolving globals, calling them, building objects and
/// loading persistent ids. The reader itself never imports or executes anything.
/// </summary>
internal interface IPickleObjectFactory
{
    /// <summary>The value of the global <c>module.name</c> (a constant, or a <see cref="GlobalReference"/>).</summary>
    object ResolveGlobal(string module, string name);

    /// <summary><c>REDUCE</c>: the result of calling <paramref name="callable"/> with <paramref name="args"/>.</summary>
    object? Call(object? callable, object?[] args);

    /// <summary><c>NEWOBJ</c>/<c>NEWOBJ_EX</c>/<c>INST</c>/<c>OBJ</c>: a new instance of <paramref name="cls"/>.</summary>
    object? New(object? cls, object?[] args, CheckpointDict? kwargs);

    /// <summary><c>BUILD</c>: applies <paramref name="state"/> to <paramref name="target"/> in place.</summary>
    void Build(object? target, object? state);

    /// <summary><c>PERSID</c>/<c>BINPERSID</c>: the object a persistent id stands for.</summary>
    object? PersistentLoad(object? pid);
}

/// <summary>
/// A minimal, safe reader of Python pickles (protocols 0 to 5, without out-of-band buffers and the extension
/// registry). It builds the values of the model described on <see cref="CheckpointValue"/> and hands every global,
/// call and persistent id to an <see cref="IPickleObjectFactory"/>; nothing is ever executed. Every length field is
/// checked against the bytes that remain before anything is allocated, and no operation recurses, so corrupt or
/// hostile data fails with a <see cref="CheckpointFormatException"/> rather than a crash or a hang.
/// </summary>
internal sealed class PickleReader
{
    private const int BufferSize = 64 * 1024;
    private const int MaxLineLength = 1 << 20;

    private readonly Stream _stream;
    private readonly long _end;
    private readonly string _what;
    private readonly LoadContext _context;
    private readonly IPickleObjectFactory _factory;
    private readonly List<object?> _stack = [];
    private readonly Stack<int> _marks = new();
    private readonly Dictionary<long, object?> _memo = [];
    private readonly byte[] _buffer = new byte[BufferSize];
    private long _bufferStart;
    private int _bufferLength;
    private long _position;
    private long _opcodePosition;

    /// <summary>Creates a reader of the pickle that starts at <paramref name="start"/> in a seekable stream.</summary>
    /// <param name="stream">The seekable stream.</param>
    /// <param name="start">Where the pickle starts.</param>
    /// <param name="end">Where the readable data ends (exclusive): no length field may point past it.</param>
    /// <param name="what">What the pickle is, for messages (e.g. <c>data.pkl</c>).</param>
    /// <param name="context">The load being made, for messages.</param>
    /// <param name="factory">Resolves globals, calls and persistent ids.</param>
    public PickleReader(Stream stream, long start, long end, string what, LoadContext context, IPickleObjectFactory factory)
    {
        _stream = stream;
        _position = start;
        _bufferStart = start;
        _end = end;
        _what = what;
        _context = context;
        _factory = factory;
    }

    /// <summary>The position just after the <c>STOP</c> opcode once <see cref="Load"/> has returned.</summary>
    public long EndPosition => _position;

    /// <summary>Reads opcodes up to <c>STOP</c> and returns the value left on the stack.</summary>
    /// <returns>The unpickled value.</returns>
    /// <exception cref="CheckpointFormatException">The pickle is truncated, corrupt or uses unsupported features.</exception>
    public object? Load()
    {
        while (true)
        {
            _opcodePosition = _position;
            var op = ReadByte();
            switch (op)
            {
                case 0x80: // PROTO
                {
                    var protocol = ReadByte();
                    if (protocol > 5)
                    {
                        throw Fail($"unsupported pickle protocol {protocol}");
                    }

                    break;
                }

                case 0x95: // FRAME: frames are transparent; only the length is checked
                {
                    var length = ReadUInt64();
                    if (length > (ulong)Remaining)
                    {
                        throw Fail($"frame of {length} bytes runs past the end of the data ({Remaining} bytes left)");
                    }

                    break;
                }

                case (byte)'.': // STOP
                    if (_stack.Count == 0)
                    {
                        throw Fail("STOP with an empty stack");
                    }

                    return Pop();

                // Stack and mark manipulation.
                case (byte)'(': // MARK
                    _marks.Push(_stack.Count);
                    break;
                case (byte)'0': // POP
                    if (_stack.Count > 0 && (_marks.Count == 0 || _marks.Peek() < _stack.Count))
                    {
                        Pop();
                    }
                    else
                    {
                        PopMark();
                    }

                    break;
                case (byte)'1': // POP_MARK
                    PopMark();
                    break;
                case (byte)'2': // DUP
                    Push(Peek());
                    break;

                // Constants.
                case (byte)'N':
                    Push(null);
                    break;
                case 0x88: // NEWTRUE
                    Push(true);
                    break;
                case 0x89: // NEWFALSE
                    Push(false);
                    break;

                // Integers.
                case (byte)'J': // BININT
                    Push((long)BinaryPrimitives.ReadInt32LittleEndian(ReadSpan(4)));
                    break;
                case (byte)'K': // BININT1
                    Push((long)ReadByte());
                    break;
                case (byte)'M': // BININT2
                    Push((long)BinaryPrimitives.ReadUInt16LittleEndian(ReadSpan(2)));
                    break;
                case 0x8a: // LONG1
                    Push(ReadLong(ReadByte()));
                    break;
                case 0x8b: // LONG4
                {
                    var n = BinaryPrimitives.ReadInt32LittleEndian(ReadSpan(4));
                    if (n < 0)
                    {
                        throw Fail($"LONG4 with a negative length {n}");
                    }

                    Push(ReadLong(n));
                    break;
                }

                case (byte)'I': // INT (text)
                    Push(ParseTextInt(ReadLine()));
                    break;
                case (byte)'L': // LONG (text)
                    Push(ParseTextLong(ReadLine()));
                    break;

                // Floats.
                case (byte)'G': // BINFLOAT: big-endian IEEE 754 double
                    Push(BinaryPrimitives.ReadDoubleBigEndian(ReadSpan(8)));
                    break;
                case (byte)'F': // FLOAT (text)
                    Push(ParseTextFloat(ReadLine()));
                    break;

                // Strings and bytes.
                case (byte)'X': // BINUNICODE
                    Push(ReadUtf8(BinaryPrimitives.ReadUInt32LittleEndian(ReadSpan(4))));
                    break;
                case 0x8c: // SHORT_BINUNICODE
                    Push(ReadUtf8(ReadByte()));
                    break;
                case 0x8d: // BINUNICODE8
                    Push(ReadUtf8(ReadUInt64()));
                    break;
                case (byte)'V': // UNICODE (text, raw-unicode-escape)
                    Push(DecodeRawUnicodeEscape(ReadLine()));
                    break;
                case (byte)'T': // BINSTRING (Python 2 str)
                {
                    var n = BinaryPrimitives.ReadInt32LittleEndian(ReadSpan(4));
                    if (n < 0)
                    {
                        throw Fail($"BINSTRING with a negative length {n}");
                    }

                    Push(DecodePython2String(ReadBytes((ulong)n)));
                    break;
                }

                case (byte)'U': // SHORT_BINSTRING
                    Push(DecodePython2String(ReadBytes(ReadByte())));
                    break;
                case (byte)'S': // STRING (text, quoted)
                    Push(DecodePython2String(ParseQuotedString(ReadLine())));
                    break;
                case (byte)'B': // BINBYTES
                    Push(ReadBytes(BinaryPrimitives.ReadUInt32LittleEndian(ReadSpan(4))));
                    break;
                case (byte)'C': // SHORT_BINBYTES
                    Push(ReadBytes(ReadByte()));
                    break;
                case 0x8e: // BINBYTES8
                case 0x96: // BYTEARRAY8
                    Push(ReadBytes(ReadUInt64()));
                    break;

                // Containers.
                case (byte)')': // EMPTY_TUPLE
                    Push(Array.Empty<object?>());
                    break;
                case 0x85: // TUPLE1
                    Push(new[] { Pop() });
                    break;
                case 0x86: // TUPLE2
                {
                    var b = Pop();
                    var a = Pop();
                    Push(new[] { a, b });
                    break;
                }

                case 0x87: // TUPLE3
                {
                    var c = Pop();
                    var b = Pop();
                    var a = Pop();
                    Push(new[] { a, b, c });
                    break;
                }

                case (byte)'t': // TUPLE
                    Push(PopMark().ToArray());
                    break;
                case (byte)']': // EMPTY_LIST
                    Push(new List<object?>());
                    break;
                case (byte)'l': // LIST
                    Push(PopMark());
                    break;
                case (byte)'a': // APPEND
                {
                    var item = Pop();
                    Append(Peek(), item);
                    break;
                }

                case (byte)'e': // APPENDS
                {
                    var items = PopMark();
                    var target = Peek();
                    foreach (var item in items)
                    {
                        Append(target, item);
                    }

                    break;
                }

                case (byte)'}': // EMPTY_DICT
                    Push(new CheckpointDict());
                    break;
                case (byte)'d': // DICT
                {
                    var items = PopMark();
                    var dict = new CheckpointDict();
                    SetItems(dict, items);
                    Push(dict);
                    break;
                }

                case (byte)'s': // SETITEM
                {
                    var value = Pop();
                    var key = Pop();
                    SetItem(Peek(), key, value);
                    break;
                }

                case (byte)'u': // SETITEMS
                {
                    var items = PopMark();
                    SetItems(Peek(), items);
                    break;
                }

                case 0x8f: // EMPTY_SET
                    Push(new HashSet<object?>(PickleKeyComparer.Instance));
                    break;
                case 0x90: // ADDITEMS
                {
                    var items = PopMark();
                    if (Peek() is not HashSet<object?> set)
                    {
                        throw Fail($"ADDITEMS to a {TypeName(Peek())}, not a set");
                    }

                    foreach (var item in items)
                    {
                        set.Add(item);
                    }

                    break;
                }

                case 0x91: // FROZENSET
                    Push(new HashSet<object?>(PopMark(), PickleKeyComparer.Instance));
                    break;

                // Memo.
                case (byte)'q': // BINPUT
                    _memo[ReadByte()] = Peek();
                    break;
                case (byte)'r': // LONG_BINPUT
                    _memo[BinaryPrimitives.ReadUInt32LittleEndian(ReadSpan(4))] = Peek();
                    break;
                case 0x94: // MEMOIZE
                    _memo[_memo.Count] = Peek();
                    break;
                case (byte)'p': // PUT (text)
                    _memo[ParseMemoIndex(ReadLine())] = Peek();
                    break;
                case (byte)'h': // BINGET
                    Push(MemoGet(ReadByte()));
                    break;
                case (byte)'j': // LONG_BINGET
                    Push(MemoGet(BinaryPrimitives.ReadUInt32LittleEndian(ReadSpan(4))));
                    break;
                case (byte)'g': // GET (text)
                    Push(MemoGet(ParseMemoIndex(ReadLine())));
                    break;

                // Globals and object construction (all delegated to the factory).
                case (byte)'c': // GLOBAL
                {
                    var module = Encoding.UTF8.GetString(ReadLine());
                    var name = Encoding.UTF8.GetString(ReadLine());
                    Push(_factory.ResolveGlobal(module, name));
                    break;
                }

                case 0x93: // STACK_GLOBAL
                {
                    var name = Pop();
                    var module = Pop();
                    if (module is not string m || name is not string n)
                    {
                        throw Fail($"STACK_GLOBAL with a {TypeName(module)} module and a {TypeName(name)} name (both must be strings)");
                    }

                    Push(_factory.ResolveGlobal(m, n));
                    break;
                }

                case (byte)'R': // REDUCE
                {
                    var args = Pop();
                    var callable = Pop();
                    if (args is not object?[] tuple)
                    {
                        throw Fail($"REDUCE with {TypeName(args)} arguments (a tuple is required)");
                    }

                    Push(_factory.Call(callable, tuple));
                    break;
                }

                case 0x81: // NEWOBJ
                {
                    var args = Pop();
                    var cls = Pop();
                    if (args is not object?[] tuple)
                    {
                        throw Fail($"NEWOBJ with {TypeName(args)} arguments (a tuple is required)");
                    }

                    Push(_factory.New(cls, tuple, null));
                    break;
                }

                case 0x92: // NEWOBJ_EX
                {
                    var kwargs = Pop();
                    var args = Pop();
                    var cls = Pop();
                    if (args is not object?[] tuple || kwargs is not CheckpointDict dict)
                    {
                        throw Fail($"NEWOBJ_EX with {TypeName(args)} arguments and {TypeName(kwargs)} keyword arguments");
                    }

                    Push(_factory.New(cls, tuple, dict));
                    break;
                }

                case (byte)'i': // INST (protocol 0/1)
                {
                    var module = Encoding.UTF8.GetString(ReadLine());
                    var name = Encoding.UTF8.GetString(ReadLine());
                    var args = PopMark().ToArray();
                    Push(_factory.New(_factory.ResolveGlobal(module, name), args, null));
                    break;
                }

                case (byte)'o': // OBJ (protocol 1)
                {
                    var items = PopMark();
                    if (items.Count == 0)
                    {
                        throw Fail("OBJ without a class");
                    }

                    Push(_factory.New(items[0], items.Skip(1).ToArray(), null));
                    break;
                }

                case (byte)'b': // BUILD
                {
                    var state = Pop();
                    _factory.Build(Peek(), state);
                    break;
                }

                // Persistent ids (PyTorch's storages).
                case (byte)'Q': // BINPERSID
                    Push(_factory.PersistentLoad(Pop()));
                    break;
                case (byte)'P': // PERSID (text)
                    Push(_factory.PersistentLoad(Encoding.UTF8.GetString(ReadLine())));
                    break;

                case 0x82 or 0x83 or 0x84: // EXT1, EXT2, EXT4
                    throw Fail("the pickle uses the copyreg extension registry, which is not supported");
                case 0x97 or 0x98: // NEXT_BUFFER, READONLY_BUFFER
                    throw Fail("the pickle uses out-of-band buffers (protocol 5), which are not supported");
                default:
                    throw Fail($"unknown pickle opcode 0x{op:x2}");
            }
        }
    }

    private long Remaining => _end - _position;

    private CheckpointFormatException Fail(string reason) =>
        _context.Fail($"{_what}: {reason} (opcode at byte {_opcodePosition})");

    private CheckpointFormatException Truncated(ulong needed) =>
        _context.Fail($"{_what}: truncated pickle: needs {needed} more bytes at byte {_position}, but only {Remaining} remain");

    // ---- Stack helpers ------------------------------------------------------------------------------------------

    private void Push(object? value) => _stack.Add(value);

    private object? Pop()
    {
        var floor = _marks.Count > 0 ? _marks.Peek() : 0;
        if (_stack.Count <= floor)
        {
            throw Fail(_stack.Count == 0 ? "stack underflow" : "stack underflow (an operand would be taken across a MARK)");
        }

        var value = _stack[^1];
        _stack.RemoveAt(_stack.Count - 1);
        return value;
    }

    private object? Peek()
    {
        var floor = _marks.Count > 0 ? _marks.Peek() : 0;
        if (_stack.Count <= floor)
        {
            throw Fail(_stack.Count == 0 ? "stack underflow" : "stack underflow (an operand would be taken across a MARK)");
        }

        return _stack[^1];
    }

    private List<object?> PopMark()
    {
        if (_marks.Count == 0)
        {
            throw Fail("no MARK on the stack");
        }

        var mark = _marks.Pop();
        var items = _stack.GetRange(mark, _stack.Count - mark);
        _stack.RemoveRange(mark, _stack.Count - mark);
        return items;
    }

    private object? MemoGet(long index) =>
        _memo.TryGetValue(index, out var value) ? value : throw Fail($"memo entry {index} was never stored");

    private void Append(object? target, object? item)
    {
        switch (target)
        {
            case List<object?> list:
                list.Add(item);
                break;
            case UnknownObject unknown:
                unknown.Append(item);
                break;
            default:
                throw Fail($"APPEND to a {TypeName(target)}, not a list");
        }
    }

    private void SetItem(object? target, object? key, object? value)
    {
        switch (target)
        {
            case CheckpointDict dict:
                dict.Set(key, value);
                break;
            case UnknownObject unknown:
                unknown.SetItem(key, value);
                break;
            default:
                throw Fail($"SETITEM on a {TypeName(target)}, not a dict");
        }
    }

    private void SetItems(object? target, List<object?> items)
    {
        if (items.Count % 2 != 0)
        {
            throw Fail($"SETITEMS with an odd number of items ({items.Count})");
        }

        for (var i = 0; i < items.Count; i += 2)
        {
            SetItem(target, items[i], items[i + 1]);
        }
    }

    internal static string TypeName(object? value) => value switch
    {
        null => "None",
        string => "str",
        long or BigInteger => "int",
        double => "float",
        bool => "bool",
        byte[] => "bytes",
        object?[] => "tuple",
        List<object?> => "list",
        CheckpointDict d => d.TypeName,
        HashSet<object?> => "set",
        GlobalReference g => g.FullName,
        UnknownObject u => u.FullName,
        _ => value.GetType().Name,
    };

    // ---- Byte reading ------------------------------------------------------------------------------------------

    private byte ReadByte()
    {
        if (_position >= _end)
        {
            throw Truncated(1);
        }

        if (_position < _bufferStart || _position >= _bufferStart + _bufferLength)
        {
            Fill();
        }

        return _buffer[_position++ - _bufferStart];
    }

    /// <summary>Reads <paramref name="count"/> (at most the buffer size) bytes into a span of the buffer.</summary>
    private ReadOnlySpan<byte> ReadSpan(int count)
    {
        if (Remaining < count)
        {
            throw Truncated((ulong)count);
        }

        if (_position < _bufferStart || _position + count > _bufferStart + _bufferLength)
        {
            Fill();
            if (_bufferLength < count)
            {
                throw Truncated((ulong)count);
            }
        }

        var span = _buffer.AsSpan((int)(_position - _bufferStart), count);
        _position += count;
        return span;
    }

    private ulong ReadUInt64() => BinaryPrimitives.ReadUInt64LittleEndian(ReadSpan(8));

    private byte[] ReadBytes(ulong count)
    {
        if (count > (ulong)Remaining)
        {
            throw Truncated(count);
        }

        if (count > (ulong)Array.MaxLength)
        {
            throw Fail($"a {count}-byte string is too large");
        }

        var result = new byte[(int)count];
        var done = 0;
        while (done < result.Length)
        {
            if (_position < _bufferStart || _position >= _bufferStart + _bufferLength)
            {
                Fill();
            }

            var offset = (int)(_position - _bufferStart);
            var n = Math.Min(result.Length - done, _bufferLength - offset);
            _buffer.AsSpan(offset, n).CopyTo(result.AsSpan(done));
            done += n;
            _position += n;
        }

        return result;
    }

    private string ReadUtf8(ulong count) => Encoding.UTF8.GetString(ReadBytes(count));

    /// <summary>Reads a newline-terminated line (without the newline), as protocol 0 and GLOBAL use.</summary>
    private byte[] ReadLine()
    {
        var line = new List<byte>();
        while (true)
        {
            var b = ReadByte();
            if (b == (byte)'\n')
            {
                return [.. line];
            }

            if (line.Count >= MaxLineLength)
            {
                throw Fail($"a text line longer than {MaxLineLength} bytes");
            }

            line.Add(b);
        }
    }

    /// <summary>Refills the buffer from <see cref="_position"/>; fails when the stream ends before <see cref="_end"/>.</summary>
    private void Fill()
    {
        _stream.Position = _position;
        var want = (int)Math.Min(BufferSize, _end - _position);
        var got = 0;
        while (got < want)
        {
            var n = _stream.Read(_buffer, got, want - got);
            if (n == 0)
            {
                break;
            }

            got += n;
        }

        _bufferStart = _position;
        _bufferLength = got;
        if (got == 0)
        {
            throw Truncated(1);
        }
    }

    // ---- Value decoding -----------------------------------------------------------------------------------------

    /// <summary>A little-endian two's complement integer of <paramref name="length"/> bytes.</summary>
    private object ReadLong(int length)
    {
        if (length == 0)
        {
            return 0L;
        }

        var bytes = ReadBytes((ulong)length);
        return Normalize(new BigInteger(bytes, isUnsigned: false, isBigEndian: false));
    }

    /// <summary>A <see cref="long"/> when the value fits, else the <see cref="BigInteger"/>.</summary>
    private static object Normalize(BigInteger value)
    {
        if (value >= long.MinValue && value <= long.MaxValue)
        {
            return (long)value;
        }

        return value;
    }

    private object ParseTextInt(byte[] line)
    {
        var text = Encoding.ASCII.GetString(line).Trim();
        if (text == "00")
        {
            return false;
        }

        if (text == "01")
        {
            return true;
        }

        return BigInteger.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value)
            ? Normalize(value)
            : throw Fail($"INT with an invalid value '{Truncate(text)}'");
    }

    private object ParseTextLong(byte[] line)
    {
        var text = Encoding.ASCII.GetString(line).Trim();
        if (text.EndsWith('L'))
        {
            text = text[..^1];
        }

        return BigInteger.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value)
            ? Normalize(value)
            : throw Fail($"LONG with an invalid value '{Truncate(text)}'");
    }

    private double ParseTextFloat(byte[] line)
    {
        var text = Encoding.ASCII.GetString(line).Trim();
        return text switch
        {
            "inf" => double.PositiveInfinity,
            "-inf" => double.NegativeInfinity,
            "nan" => double.NaN,
            _ => double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value)
                ? value
                : throw Fail($"FLOAT with an invalid value '{Truncate(text)}'"),
        };
    }

    private long ParseMemoIndex(byte[] line)
    {
        var text = Encoding.ASCII.GetString(line).Trim();
        return long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var index)
            ? index
            : throw Fail($"invalid memo index '{Truncate(text)}'");
    }

    /// <summary>Decodes a Python 2 <c>str</c> as PyTorch does by default: UTF-8, or Latin-1 when not valid UTF-8.</summary>
    private static string DecodePython2String(byte[] bytes)
    {
        try
        {
            return new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(bytes);
        }
        catch (DecoderFallbackException)
        {
            return Encoding.Latin1.GetString(bytes);
        }
    }

    /// <summary>Undoes Python's <c>repr</c> quoting of a protocol 0 <c>STRING</c> argument.</summary>
    private byte[] ParseQuotedString(byte[] line)
    {
        if (line.Length < 2 || line[0] != line[^1] || (line[0] != (byte)'\'' && line[0] != (byte)'"'))
        {
            throw Fail("STRING argument is not quoted");
        }

        var result = new List<byte>(line.Length);
        for (var i = 1; i < line.Length - 1; i++)
        {
            var b = line[i];
            if (b != (byte)'\\' || i + 1 >= line.Length - 1)
            {
                result.Add(b);
                continue;
            }

            var e = line[++i];
            switch (e)
            {
                case (byte)'n': result.Add((byte)'\n'); break;
                case (byte)'r': result.Add((byte)'\r'); break;
                case (byte)'t': result.Add((byte)'\t'); break;
                case (byte)'0': result.Add(0); break;
                case (byte)'\\' or (byte)'\'' or (byte)'"': result.Add(e); break;
                case (byte)'x' when i + 2 < line.Length - 1
                                    && byte.TryParse(Encoding.ASCII.GetString(line, i + 1, 2), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var hex):
                    result.Add(hex);
                    i += 2;
                    break;
                default:
                    result.Add((byte)'\\');
                    result.Add(e);
                    break;
            }
        }

        return [.. result];
    }

    /// <summary>Decodes Python's <c>raw-unicode-escape</c>: Latin-1 bytes with <c>\uXXXX</c> and <c>\UXXXXXXXX</c> escapes.</summary>
    private static string DecodeRawUnicodeEscape(byte[] line)
    {
        var sb = new StringBuilder(line.Length);
        for (var i = 0; i < line.Length; i++)
        {
            if (line[i] == (byte)'\\' && i + 1 < line.Length && (line[i + 1] == (byte)'u' || line[i + 1] == (byte)'U'))
            {
                var digits = line[i + 1] == (byte)'u' ? 4 : 8;
                if (i + 2 + digits <= line.Length
                    && int.TryParse(Encoding.ASCII.GetString(line, i + 2, digits), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var code)
                    && code is >= 0 and <= 0x10FFFF and (< 0xD800 or > 0xDFFF))
                {
                    sb.Append(char.ConvertFromUtf32(code));
                    i += 1 + digits;
                    continue;
                }
            }

            sb.Append((char)line[i]);
        }

        return sb.ToString();
    }

    private static string Truncate(string text) => text.Length <= 40 ? text : text[..40] + "...";
}
