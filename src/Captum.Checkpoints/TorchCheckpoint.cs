using System.Globalization;
using System.Runtime.InteropServices;
using TorchSharp;
using static TorchSharp.torch;

namespace Captum.Checkpoints;

/// <summary>
/// Reads files written by PyTorch's <c>torch.save</c> without Python, and loads state dicts into TorchSharp modules.
/// <para>
/// Both serializations are read: the zip format of PyTorch 1.6 and later (<c>archive/data.pkl</c> plus one record
/// per storage under <c>archive/data/</c>, honouring a <c>byteorder</c> record) and the legacy format of PyTorch 0.4
/// to 1.5 (magic number, protocol version 1001, system info, the object pickle, the storage key list, then the raw
/// storages). The pre-0.4 tar format is recognised and rejected. Storages saved on any device (<c>cuda:0</c>, ...)
/// are materialised on the CPU.
/// </para>
/// <para>
/// The pickles are read by a minimal reader that never imports or executes anything: only an allow-list of globals
/// becomes values (<c>collections.OrderedDict</c>, <c>torch._utils._rebuild_tensor[_v2|_v3]</c>,
/// <c>torch._utils._rebuild_parameter</c>, the <c>torch.*Storage</c> types, <c>torch.Size</c>,
/// <c>torch.device</c>, the torch dtypes, <c>set</c>/<c>frozenset</c>, bytes, numpy scalars); any other object
/// becomes an <see cref="UnknownObject"/> that records what the pickle asked for. See <see cref="CheckpointValue"/>
/// for the value model.
/// </para>
/// </summary>
public static partial class TorchCheckpoint
{
    private const int HeaderBytes = 512;

    /// <summary>Reads a checkpoint file: <c>torch.save</c>'s zip or legacy format, or a safetensors file (as an ordered dict of its tensors, a state dict).</summary>
    /// <param name="path">The file written by <c>torch.save</c> or a safetensors writer.</param>
    /// <returns>The saved object. Its tensors are CPU tensors; inside a dispose scope they belong to the scope.</returns>
    /// <exception cref="ArgumentException"><paramref name="path"/> is null or empty.</exception>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="CheckpointFormatException">
    /// The file is empty, truncated, corrupt, not a PyTorch checkpoint, or of an unsupported serialization; the
    /// message names the file and the problem.
    /// </exception>
    public static CheckpointValue Load(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 4096);
        return Load(stream, path);
    }

    /// <summary>
    /// Reads a checkpoint from a stream, from its current position to its end. A stream that cannot seek is copied
    /// into memory first. The stream is not closed.
    /// </summary>
    /// <param name="stream">The data written by <c>torch.save</c>.</param>
    /// <param name="sourceName">The name to use in messages (e.g. the file or resource name); <c>&lt;stream&gt;</c> if null.</param>
    /// <returns>The saved object. Its tensors are CPU tensors; inside a dispose scope they belong to the scope.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="stream"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="stream"/> cannot be read.</exception>
    /// <exception cref="CheckpointFormatException">
    /// The data is empty, truncated, corrupt, not a PyTorch checkpoint, or of an unsupported serialization.
    /// </exception>
    public static CheckpointValue Load(Stream stream, string? sourceName = null)
    {
        ArgumentNullException.ThrowIfNull(stream);
        if (!stream.CanRead)
        {
            throw new ArgumentException("The stream cannot be read.", nameof(stream));
        }

        var context = new LoadContext(sourceName ?? "<stream>");
        MemoryStream? copy = null;
        var source = stream;
        try
        {
            if (!stream.CanSeek || stream.Position != 0)
            {
                // The readers need random access from offset 0 (zip offsets are absolute).
                copy = new MemoryStream();
                stream.CopyTo(copy);
                copy.Position = 0;
                source = copy;
            }

            using var scope = torch.NewDisposeScope();
            var (root, format) = LoadCore(source, context);
            scope.MoveToOuter(CollectDisposables(root));
            return new CheckpointValue(root, "$", context.Source, format);
        }
        catch (Exception ex) when (IsDataError(ex))
        {
            throw context.Fail($"corrupt data ({ex.GetType().Name}: {FirstLine(ex.Message)})", ex);
        }
        finally
        {
            copy?.Dispose();
        }
    }

    /// <summary>
    /// Tells which serialization a file uses from its first bytes, without reading the rest (so a file reported
    /// <see cref="CheckpointFormat.Zip"/> or <see cref="CheckpointFormat.Legacy"/> may still fail to load).
    /// </summary>
    /// <param name="path">The file.</param>
    /// <returns>The format, or <see cref="CheckpointFormat.Unknown"/>.</returns>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    public static CheckpointFormat DetectFormat(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        var header = new byte[HeaderBytes];
        var n = StorageIO.ReadFully(stream, header);
        return SafeTensors.LooksLike(header.AsSpan(0, n), stream.Length) ? CheckpointFormat.SafeTensors : Detect(header.AsSpan(0, n));
    }

    /// <summary>
    /// Extracts a state dict (an ordered dict of parameter and buffer names to tensors) from a loaded value, or from
    /// its entry <paramref name="key"/> (e.g. <c>"weights"</c>, <c>"state_dict"</c>, <c>"model"</c>).
    /// </summary>
    /// <param name="value">A <see cref="CheckpointValue"/>, or a raw value (a <see cref="CheckpointDict"/>).</param>
    /// <param name="key">The entry holding the state dict, or <c>null</c> when <paramref name="value"/> is the state dict.</param>
    /// <returns>The tensors by name, in the file's order (the tensors themselves, not copies).</returns>
    /// <exception cref="KeyNotFoundException">There is no entry <paramref name="key"/>; the message lists the entries.</exception>
    /// <exception cref="ArgumentException">The value is not a dict of str to tensor; the message names the offending entry.</exception>
    public static IReadOnlyDictionary<string, Tensor> StateDict(object? value, string? key = null)
    {
        var source = Unwrap(value, key);
        var where = $"{source.Path} in {source.Source}";
        if (source.Raw is not CheckpointDict dict)
        {
            throw new ArgumentException($"{where} is {CheckpointValue.Describe(source.Raw)}, not a state dict (a dict of str to tensor).", nameof(value));
        }

        var result = new OrderedDictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var (name, entry) in dict)
        {
            if (name is not string s)
            {
                throw new ArgumentException($"{where} has the non-string key {CheckpointDict.Describe(name)}, so it is not a state dict.", nameof(value));
            }

            result[s] = entry as Tensor ?? throw new ArgumentException(
                $"{source.Path}['{s}'] in {source.Source} is {CheckpointValue.Describe(entry)}, not a tensor, so {source.Path} is not a state dict.",
                nameof(value));
        }

        return result;
    }

    /// <summary>
    /// Removes a prefix from the names of a state dict, e.g. the <c>module.</c> that <c>nn.DataParallel</c> adds;
    /// names without the prefix are kept as they are.
    /// </summary>
    /// <param name="state">The state dict.</param>
    /// <param name="prefix">The prefix to remove.</param>
    /// <returns>A new state dict (same tensors, same order) with the prefix removed.</returns>
    /// <exception cref="ArgumentException">Two names become equal once the prefix is removed.</exception>
    public static IReadOnlyDictionary<string, Tensor> StripPrefix(this IReadOnlyDictionary<string, Tensor> state, string prefix = "module.")
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(prefix);
        var result = new OrderedDictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var (name, tensor) in state)
        {
            var stripped = name.StartsWith(prefix, StringComparison.Ordinal) ? name[prefix.Length..] : name;
            if (!result.TryAdd(stripped, tensor))
            {
                throw new ArgumentException($"Removing the prefix '{prefix}' from '{name}' gives '{stripped}', which the state dict already has.", nameof(state));
            }
        }

        return result;
    }

    /// <summary>
    /// Reads a vocabulary stored as a dict of dicts of str to int, e.g. the VQA checkpoints'
    /// <c>{"question": {word: index}, "answer": {answer: index}}</c>.
    /// </summary>
    /// <param name="value">A <see cref="CheckpointValue"/>, or a raw value (a <see cref="CheckpointDict"/>).</param>
    /// <param name="key">The entry holding the vocabulary (e.g. <c>"vocab"</c>), or <c>null</c> when <paramref name="value"/> is it.</param>
    /// <returns>Each table by name, in the file's order.</returns>
    /// <exception cref="KeyNotFoundException">There is no entry <paramref name="key"/>; the message lists the entries.</exception>
    /// <exception cref="ArgumentException"><paramref name="key"/> is given but the value is not a dict.</exception>
    /// <exception cref="InvalidCastException">The value is not a dict of dicts of str to int; the message names the entry.</exception>
    public static IReadOnlyDictionary<string, IReadOnlyDictionary<string, long>> Vocab(object? value, string? key = null)
    {
        var wrapped = Unwrap(value, key);
        var where = $"{wrapped.Path} in {wrapped.Source}";
        var result = new OrderedDictionary<string, IReadOnlyDictionary<string, long>>(StringComparer.Ordinal);
        foreach (var (name, table) in wrapped.Entries)
        {
            if (name is not string s)
            {
                throw new InvalidCastException($"{where} has the non-string key {CheckpointDict.Describe(name)}.");
            }

            result[s] = table.AsInt64Map();
        }

        return result;
    }

    /// <summary>
    /// Copies a state dict into a module's parameters and buffers (<c>running_mean</c>, <c>running_var</c>,
    /// <c>num_batches_tracked</c>, ...), by name, under <c>no_grad</c>, converting the dtype (and device) where they
    /// differ. Nothing is copied unless every check passes.
    /// </summary>
    /// <param name="module">The module; its <c>state_dict()</c> names are matched.</param>
    /// <param name="state">The tensors by name (e.g. from <see cref="StateDict"/>, after <see cref="StripPrefix"/>).</param>
    /// <param name="strict">
    /// When true, every name of the module must be in <paramref name="state"/> and every name of
    /// <paramref name="state"/> in the module. Shapes must match either way (as in PyTorch).
    /// </param>
    /// <param name="allowNonFinite">
    /// Load parameters holding NaN or infinite values, and floating-point buffers holding NaN (beyond PyTorch, which loads
    /// them silently); by default they are refused, naming them, before anything is copied. Infinite values in buffers
    /// are loaded: masks hold <c>-inf</c> by design.
    /// </param>
    /// <exception cref="StateDictMismatchException">
    /// Names are missing or unexpected (when strict) or shapes differ; the message lists all of them.
    /// </exception>
    /// <exception cref="NonFiniteStateException">A parameter holds NaN or infinite values, or a floating-point buffer NaN; the message and <see cref="NonFiniteStateException.RefusedKeys"/> name them (argument <c>state</c>).</exception>
    public static void LoadStateDict(nn.Module module, IReadOnlyDictionary<string, Tensor> state, bool strict = true, bool allowNonFinite = false)
    {
        ArgumentNullException.ThrowIfNull(module);
        ArgumentNullException.ThrowIfNull(state);
        var target = module.state_dict();

        // The module owns these tensors: for TorchSharp's native layers (Embedding, LSTM, ...) state_dict() makes the
        // wrappers the module then keeps, and a caller's dispose scope must not free them.
        foreach (var tensor in target.Values)
        {
            tensor.DetachFromDisposeScope();
        }

        var missing = target.Keys.Where(k => !state.ContainsKey(k)).ToList();
        var unexpected = state.Keys.Where(k => !target.ContainsKey(k)).ToList();
        var mismatches = new List<StateDictShapeMismatch>();
        foreach (var (name, destination) in target)
        {
            if (state.TryGetValue(name, out var source) && !source.shape.SequenceEqual(destination.shape))
            {
                mismatches.Add(new StateDictShapeMismatch(name, source.shape, destination.shape));
            }
        }

        if (mismatches.Count > 0 || (strict && (missing.Count > 0 || unexpected.Count > 0)))
        {
            throw new StateDictMismatchException(
                strict ? missing : [],
                strict ? unexpected : [],
                mismatches);
        }

        if (!allowNonFinite)
        {
            // Parameters: NaN or infinite. Buffers: NaN only, since some (attention masks) hold -inf by design. The
            // checks' temporaries are freed here, not left to the finalizer.
            using var checks = torch.NewDisposeScope();
            List<string> Refused(bool parameters, Func<Tensor, bool> bad) => target
                .Where(p => (p.Value is TorchSharp.Modules.Parameter) == parameters)
                .Where(p => state.TryGetValue(p.Key, out var source) && source.is_floating_point() && bad(source))
                .Select(p => p.Key)
                .ToList();
            var nonFinite = Refused(parameters: true, source => !torch.isfinite(source).all().item<bool>());
            var nan = Refused(parameters: false, source => torch.isnan(source).any().item<bool>());
            if (nonFinite.Count > 0 || nan.Count > 0)
            {
                throw new NonFiniteStateException(nonFinite, nan);
            }
        }

        using var noGrad = torch.no_grad();
        foreach (var (name, destination) in target)
        {
            if (state.TryGetValue(name, out var source))
            {
                destination.copy_(source);
            }
        }
    }

    /// <summary>Every tensor and storage tensor reachable from a raw value (each once), without recursion.</summary>
    internal static List<IDisposable> CollectDisposables(object? root)
    {
        var result = new List<IDisposable>();
        var seen = new HashSet<object>(ReferenceEqualityComparer.Instance);
        var pending = new Stack<object?>();
        pending.Push(root);
        while (pending.Count > 0)
        {
            var item = pending.Pop();
            if (item is null or string or long or double or bool or byte[] || !seen.Add(item))
            {
                continue;
            }

            switch (item)
            {
                case Tensor tensor:
                    result.Add(tensor);
                    break;
                case TorchStorage storage when storage.Data is not null:
                    pending.Push(storage.Data);
                    break;
                case CheckpointDict dict:
                    foreach (var (key, value) in dict)
                    {
                        pending.Push(key);
                        pending.Push(value);
                    }

                    foreach (var value in dict.Attributes.Values)
                    {
                        pending.Push(value);
                    }

                    break;
                case List<object?> list:
                    list.ForEach(pending.Push);
                    break;
                case object?[] tuple:
                    Array.ForEach(tuple, pending.Push);
                    break;
                case HashSet<object?> set:
                    foreach (var value in set)
                    {
                        pending.Push(value);
                    }

                    break;
                case UnknownObject unknown:
                    foreach (var value in unknown.Arguments)
                    {
                        pending.Push(value);
                    }

                    pending.Push(unknown.KeywordArguments);
                    pending.Push(unknown.State);
                    foreach (var value in unknown.ListItems)
                    {
                        pending.Push(value);
                    }

                    foreach (var (key, value) in unknown.DictItems)
                    {
                        pending.Push(key);
                        pending.Push(value);
                    }

                    break;
            }
        }

        return result;
    }

    private static (object Root, CheckpointFormat Format) LoadCore(Stream stream, LoadContext context)
    {
        var length = stream.Length;
        if (length == 0)
        {
            throw context.Fail("not a PyTorch checkpoint: the file is empty");
        }

        var header = new byte[Math.Min(HeaderBytes, length)];
        stream.Position = 0;
        var n = StorageIO.ReadFully(stream, header);
        stream.Position = 0;
        var format = SafeTensors.LooksLike(header.AsSpan(0, n), length) ? CheckpointFormat.SafeTensors : Detect(header.AsSpan(0, n));
        switch (format)
        {
            case CheckpointFormat.SafeTensors:
                var state = new CheckpointDict("collections.OrderedDict");
                foreach (var (name, tensor) in SafeTensors.Read(stream, context, ownedByCaller: false).Tensors)
                {
                    state.Add(name, tensor);
                }

                return (state, format);
            case CheckpointFormat.Zip:
                return (ZipCheckpointReader.Read(stream, context)!, format);
            case CheckpointFormat.Legacy:
                return (LegacyCheckpointReader.Read(stream, context)!, format);
            case CheckpointFormat.Tar:
                throw context.Fail(
                    "the tar serialization of PyTorch before 0.4 is not supported: load the file in PyTorch and save it again with torch.save");
            default:
                var shown = string.Join(" ", header.Take(8).Select(b => b.ToString("X2", CultureInfo.InvariantCulture)));
                var hint = LooksLikeModuleSave(header.AsSpan(0, n))
                    ? "; it looks like TorchSharp's Module.save format, which is not torch.save's: load it with Module.load, or write checkpoints with TorchCheckpoint.Save(model.state_dict(), path)"
                    : "";
                throw context.Fail($"not a PyTorch checkpoint: unknown magic (the data starts with {shown}){hint}");
        }
    }

    /// <summary>
    /// Whether the data starts as TorchSharp's <c>Module.save</c> writes: the number of entries (LEB128, at least 1),
    /// then the first entry's name as a length-prefixed string of printable ASCII (e.g. <c>fc1.weight</c>).
    /// </summary>
    private static bool LooksLikeModuleSave(ReadOnlySpan<byte> header)
    {
        var at = 0;
        if (ReadLeb128(header, ref at) is not ( > 0 and < 1_000_000) || ReadLeb128(header, ref at) is not ({ } length and > 0 and < 1024))
        {
            return false;
        }

        var name = header.Slice(at, (int)Math.Min(length, header.Length - at));
        return name.Length > 0 && !name.ContainsAnyExceptInRange((byte)0x21, (byte)0x7E);
    }

    private static long? ReadLeb128(ReadOnlySpan<byte> data, ref int at)
    {
        long value = 0;
        for (var shift = 0; shift < 63 && at < data.Length; shift += 7)
        {
            var b = data[at++];
            value |= (long)(b & 0x7F) << shift;
            if ((b & 0x80) == 0)
            {
                return value;
            }
        }

        return null;
    }

    private static CheckpointFormat Detect(ReadOnlySpan<byte> header)
    {
        if (header.Length >= 4 && header[0] == (byte)'P' && header[1] == (byte)'K'
            && ((header[2] == 3 && header[3] == 4) || (header[2] == 5 && header[3] == 6)))
        {
            return CheckpointFormat.Zip;
        }

        if (header.Length >= 1 && header[0] == 0x80)
        {
            return CheckpointFormat.Legacy; // a pickle: the magic number decides
        }

        if (header.Length >= 262 && header.Slice(257, 5).SequenceEqual("ustar"u8))
        {
            return CheckpointFormat.Tar;
        }

        return CheckpointFormat.Unknown;
    }

    /// <summary>The value (wrapped when raw), or its entry <paramref name="key"/>.</summary>
    private static CheckpointValue Unwrap(object? value, string? key)
    {
        var wrapped = value as CheckpointValue ?? new CheckpointValue(value, "$", "the given value", CheckpointFormat.Unknown);
        if (key is null)
        {
            return wrapped;
        }

        if (wrapped.Raw is not CheckpointDict)
        {
            throw new ArgumentException(
                $"{wrapped.Path} in {wrapped.Source} is {CheckpointValue.Describe(wrapped.Raw)}, not a dict with an entry '{key}'.", nameof(value));
        }

        return wrapped.Get(key);
    }

    /// <summary>
    /// The failures that reading corrupt data can raise below the readers' own checks (zip, stream, libtorch): they
    /// become a <see cref="CheckpointFormatException"/> naming the source.
    /// </summary>
    private static bool IsDataError(Exception ex) => ex switch
    {
        CheckpointFormatException => false,
        FileNotFoundException or DirectoryNotFoundException or UnauthorizedAccessException => false,
        EndOfStreamException or InvalidDataException or IOException => true,
        OverflowException or InvalidCastException or FormatException or IndexOutOfRangeException => true,
        ArgumentException or KeyNotFoundException or NotSupportedException or InvalidOperationException => true,
        ExternalException => true,
        _ => false,
    };

    private static string FirstLine(string message)
    {
        var newline = message.IndexOf('\n', StringComparison.Ordinal);
        return newline < 0 ? message : message[..newline].TrimEnd();
    }
}
