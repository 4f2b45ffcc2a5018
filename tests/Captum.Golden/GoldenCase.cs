using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using TorchSharp;
using static TorchSharp.torch;

using Captum.TestData;

namespace Captum.Golden;

/// <summary>
/// One golden case: a small model with fixed weights, the arguments of one Captum attribution call,
/// and what Captum 0.8.0 returned for it (schema: shared/golden/README.md).
/// </summary>
/// <remarks>
/// Every tensor is created when the case is loaded, so load a case inside the test's dispose scope.
/// Tensors are CPU tensors of dtype float32 or int64 (float64, int32 and bool are read too).
/// </remarks>
internal sealed class GoldenCase
{
    /// <summary>Environment variable naming the folder of case files; overrides the default location.</summary>
    public const string DirectoryVariable = "CAPTUM_GOLDEN_DIR";

    /// <summary>Environment variable naming the folder of the other modules' cases; overrides <see cref="ModulesDirectory"/>'s default.</summary>
    public const string ModulesDirectoryVariable = "CAPTUM_GOLDEN_MODULES_DIR";

    private static readonly JsonSerializerOptions NumberOptions = new()
    {
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals | JsonNumberHandling.AllowReadingFromString,
    };

    private readonly Tensor? forward;

    private GoldenCase(string filePath, JsonObject root)
    {
        FilePath = filePath;
        Name = OptionalString(root, "name") ?? Path.GetFileNameWithoutExtension(filePath);
        Note = OptionalString(root, "note") ?? string.Empty;
        CaptumVersion = OptionalString(root, "captum_version");
        TorchVersion = OptionalString(root, "torch_version");

        var model = RequiredObject(root, "model");
        ModelKind = OptionalString(model, "kind") ?? throw Invalid("model.kind is missing");
        ModelConfig = model["config"] as JsonObject ?? new JsonObject();
        var parameters = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var (name, node) in RequiredObject(model, "parameters"))
        {
            parameters[name] = ReadTensor(node ?? throw Invalid($"model.parameters.{name} is null"), $"model.parameters.{name}");
        }

        Parameters = parameters;
        WrapInputs = model["wrap_inputs"] is JsonValue wrap && wrap.GetValue<bool>();

        Method = OptionalString(root, "method") ?? throw Invalid("method is missing");
        Constructor = root["constructor"] as JsonObject ?? new JsonObject();
        Layers = root["layers"] is JsonArray layers
            ? layers.Select((l, i) => l?.GetValue<string>() ?? throw Invalid($"layers[{i}] is null")).ToArray()
            : null;
        InterpretableEmbedding = OptionalString(root, "interpretable_embedding");

        Inputs = ReadTensorList(root["inputs"], "inputs") ?? throw Invalid("inputs is missing");
        Attribute = root["attribute"] as JsonObject ?? root["call"] as JsonObject ?? new JsonObject();
        AdditionalForwardArgs = ReadTensorList(Attribute["additional_forward_args"], "attribute.additional_forward_args");
        forward = root["forward"] is { } recorded ? ReadTensor(recorded, "forward") : null;

        Expected = RequiredObject(root, "expected");
        ExpectedAttributions = ReadTensorList(Expected["attributions"], "expected.attributions");
        if (Expected["layers"] is JsonArray perLayer)
        {
            ExpectedLayers = perLayer
                .Select((l, i) => ReadTensorList(l, $"expected.layers[{i}]") ?? throw Invalid($"expected.layers[{i}] is null"))
                .ToArray();
        }

        ExpectedDelta = Expected["delta"] is { } delta ? ReadTensor(delta, "expected.delta") : null;
    }

    /// <summary>The case name (the file name without extension when the file has none).</summary>
    public string Name { get; }

    /// <summary>Free-text note of the case; empty when there is none.</summary>
    public string Note { get; }

    /// <summary>The file the case was read from.</summary>
    public string FilePath { get; }

    /// <summary>The Captum version that produced the case, e.g. "0.8.0".</summary>
    public string? CaptumVersion { get; }

    /// <summary>The PyTorch version that produced the case.</summary>
    public string? TorchVersion { get; }

    /// <summary>"mlp", "two_input", "text" or "vqa".</summary>
    public string ModelKind { get; }

    /// <summary>The model's constructor arguments (model.config).</summary>
    public JsonObject ModelConfig { get; }

    /// <summary>The model's parameters by PyTorch state-dict name, in file order.</summary>
    public IReadOnlyDictionary<string, Tensor> Parameters { get; }

    /// <summary>True when the model is to be wrapped with ModelInputWrapper before attribution.</summary>
    public bool WrapInputs { get; }

    /// <summary>The Captum class name of the attribution method, e.g. "IntegratedGradients".</summary>
    public string Method { get; }

    /// <summary>Keyword arguments of the method's constructor (may be empty).</summary>
    public JsonObject Constructor { get; }

    /// <summary>Dotted module paths of the layer(s) for layer methods; null otherwise.</summary>
    public string[]? Layers { get; }

    /// <summary>Module path of the interpretable embedding layer, when the case uses one.</summary>
    public string? InterpretableEmbedding { get; }

    /// <summary>The inputs tuple, in forward-argument order.</summary>
    public Tensor[] Inputs { get; }

    /// <summary>
    /// The raw keyword arguments of the call: "attribute" (baselines, target, n_steps, ...), or "call" for the cases
    /// of other modules (the robustness cases' epsilon, radius, step_size, ...).
    /// </summary>
    public JsonObject Attribute { get; }

    /// <summary>attribute.additional_forward_args read as tensors; null when the case has none.</summary>
    public Tensor[]? AdditionalForwardArgs { get; }

    /// <summary>The model's recorded output on <see cref="Inputs"/> (with the additional forward args).</summary>
    /// <exception cref="InvalidDataException">The case recorded none (the robustness cases do not).</exception>
    public Tensor Forward => forward ?? throw Invalid("forward is missing");

    /// <summary>The raw expected results.</summary>
    public JsonObject Expected { get; }

    /// <summary>expected.attributions, one per input; null when the case records layer results instead.</summary>
    public Tensor[]? ExpectedAttributions { get; }

    /// <summary>expected.layers: one list of tensors per layer (LayerIntegratedGradients with several layers).</summary>
    public Tensor[][]? ExpectedLayers { get; }

    /// <summary>expected.delta, when return_convergence_delta was asked.</summary>
    public Tensor? ExpectedDelta { get; }

    /// <summary>The positional arguments of the model: the inputs followed by the additional forward args.</summary>
    public Tensor[] ForwardArguments() => [.. Inputs, .. AdditionalForwardArgs ?? []];

    /// <inheritdoc />
    public override string ToString() => Name;

    /// <summary>Reads one case file. A relative name is resolved against <see cref="GoldenDirectory"/>.</summary>
    public static GoldenCase Load(string pathOrFileName)
    {
        var (path, root) = Parse(pathOrFileName);
        try
        {
            return new GoldenCase(path, root);
        }
        catch (Exception ex) when (ex is InvalidDataException or JsonException or InvalidOperationException or FormatException)
        {
            throw new InvalidDataException($"Golden case {path}: {ex.Message}", ex);
        }
    }

    /// <summary>
    /// The case's name and method, read without building anything else: enough to skip a case of a method the runner
    /// does not replay, whatever the rest of its schema (the LLM and influence cases have schemas of their own).
    /// </summary>
    public static (string Name, string Method) Peek(string pathOrFileName)
    {
        var (path, root) = Parse(pathOrFileName);
        var method = OptionalString(root, "method") ?? throw new InvalidDataException($"Golden case {path}: method is missing");
        return (OptionalString(root, "name") ?? Path.GetFileNameWithoutExtension(path), method);
    }

    /// <summary>The whole case file as JSON, for the cases whose schema is their own (the LLM and influence cases).</summary>
    public static JsonObject ReadRoot(string pathOrFileName) => Parse(pathOrFileName).Root;

    private static (string Path, JsonObject Root) Parse(string pathOrFileName)
    {
        ArgumentException.ThrowIfNullOrEmpty(pathOrFileName);
        var path = Path.IsPathRooted(pathOrFileName) ? pathOrFileName : Path.Combine(GoldenDirectory(), pathOrFileName);
        try
        {
            var root = JsonNode.Parse(File.ReadAllText(path)) as JsonObject
                ?? throw new InvalidDataException("the top-level JSON value is not an object");
            return (path, root);
        }
        catch (Exception ex) when (ex is JsonException or InvalidDataException)
        {
            throw new InvalidDataException($"Golden case {path} is not valid: {ex.Message}", ex);
        }
    }

    /// <summary>Converts a serialized tensor <c>{"shape", "dtype", "data"}</c> (row-major data) into a CPU tensor.</summary>
    public static Tensor ReadTensor(JsonNode t) => ReadTensor(t, "tensor");

    /// <summary>
    /// The folder holding the case files: <c>$CAPTUM_GOLDEN_DIR</c> when set, else
    /// <c>shared/golden/captum-0.8.0</c> beside the repository (see <see cref="SharedData.Locate"/>).
    /// </summary>
    /// <exception cref="DirectoryNotFoundException">The folder (or the repository root) cannot be found.</exception>
    public static string GoldenDirectory() => SharedData.Locate(Path.Combine("golden", "captum-0.8.0"), DirectoryVariable);

    /// <summary>
    /// The folder of the other modules' cases (robustness, LLM attribution, influence): <c>$CAPTUM_GOLDEN_MODULES_DIR</c>
    /// when set, else <c>shared/golden/captum-0.8.0-modules</c> beside the repository.
    /// </summary>
    /// <exception cref="DirectoryNotFoundException">The folder (or the repository root) cannot be found.</exception>
    public static string ModulesDirectory() => SharedData.Locate(Path.Combine("golden", "captum-0.8.0-modules"), ModulesDirectoryVariable);

    /// <summary>The full paths of every *.json case in <paramref name="directory"/> (default <see cref="GoldenDirectory"/>), sorted ordinally.</summary>
    /// <exception cref="DirectoryNotFoundException">The folder does not exist.</exception>
    public static IReadOnlyList<string> DiscoverFiles(string? directory = null)
    {
        var files = Directory.GetFiles(Path.GetFullPath(directory ?? GoldenDirectory()), "*.json", SearchOption.TopDirectoryOnly);
        Array.Sort(files, StringComparer.Ordinal);
        return files;
    }

    private static Tensor ReadTensor(JsonNode node, string what)
    {
        if (node is not JsonObject obj)
        {
            throw Invalid($"{what} is not a tensor object {{shape, dtype, data}}");
        }

        var shape = obj["shape"] is JsonArray s
            ? s.Deserialize<long[]>() ?? throw Invalid($"{what}.shape is null")
            : throw Invalid($"{what}.shape is missing");
        var dtype = OptionalString(obj, "dtype") ?? throw Invalid($"{what}.dtype is missing");
        if (obj["data"] is not JsonArray data)
        {
            throw Invalid($"{what}.data is missing");
        }

        var count = shape.Aggregate(1L, (a, b) => b >= 0 ? a * b : throw Invalid($"{what}.shape has a negative size"));
        if (data.Count != count)
        {
            throw Invalid($"{what}: shape [{string.Join(", ", shape)}] needs {count} values but data has {data.Count}");
        }

        switch (dtype)
        {
            case "float32":
                {
                    var values = data.Deserialize<double[]>(NumberOptions)!;
                    return torch.tensor(Array.ConvertAll(values, v => (float)v), shape, ScalarType.Float32);
                }

            case "float64":
                return torch.tensor(data.Deserialize<double[]>(NumberOptions)!, shape, ScalarType.Float64);
            case "int64":
                return torch.tensor(data.Deserialize<long[]>(NumberOptions)!, shape, ScalarType.Int64);
            case "int32":
                return torch.tensor(data.Deserialize<int[]>(NumberOptions)!, shape, ScalarType.Int32);
            case "bool":
                return torch.tensor(data.Deserialize<bool[]>()!, shape, ScalarType.Bool);
            default:
                throw Invalid($"{what}.dtype '{dtype}' is not supported (float32, float64, int64, int32, bool)");
        }
    }

    private static Tensor[]? ReadTensorList(JsonNode? node, string what) => node switch
    {
        null => null,
        JsonArray list => list.Select((t, i) => ReadTensor(t ?? throw Invalid($"{what}[{i}] is null"), $"{what}[{i}]")).ToArray(),
        _ => throw Invalid($"{what} is not a list of tensors"),
    };

    private static JsonObject RequiredObject(JsonObject parent, string key) =>
        parent[key] as JsonObject ?? throw Invalid($"'{key}' is missing or not an object");

    private static string? OptionalString(JsonObject parent, string key) =>
        parent[key] is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;

    private static InvalidDataException Invalid(string message) => new(message);
}
