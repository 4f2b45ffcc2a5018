using System.Reflection;
using Captum.Attr;
using Captum.Metrics;
using Captum.Tests.Attr.Gradient;
using Captum.Tests.Docs;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Captum.Tests.Attr;

/// <summary>
/// The type contract every method follows (docs/architecture.md, "Adding a method"): one of the three method
/// interfaces, an options record beside the method on the base that says what it carries, the capability interfaces
/// that let wrappers expand it, and engines, not public types, in Common/.
/// </summary>
public sealed class ContractTests
{
    private static readonly Assembly Attr = typeof(IntegratedGradients).Assembly;

    /// <summary>Every exported attribution class: a public instance Attribute method, or one of the interfaces.</summary>
    private static IEnumerable<Type> MethodTypes() => Attr.GetExportedTypes()
        .Where(t => t.IsClass && !t.IsAbstract)
        .Where(t => typeof(IAttribution).IsAssignableFrom(t)
            || t.GetMethods(BindingFlags.Public | BindingFlags.Instance).Any(m => m.Name == "Attribute"));

    private static Type? Contract(Type type, Type generic) => type.GetInterfaces()
        .FirstOrDefault(i => i.IsGenericType && i.GetGenericTypeDefinition() == generic);

    private static string Name(Type t) => t.Name.Split('`')[0];

    /// <summary>The options record a method's Attribute takes: its interface's type argument, or (DataLoaderAttribution) the options parameter's type.</summary>
    private static Type OptionsOf(Type type) =>
        (Contract(type, typeof(IAttributionMethod<>)) ?? Contract(type, typeof(ILayerAttributionMethod<>)))?.GetGenericArguments()[0]
        ?? type.GetMethod("Attribute", BindingFlags.Public | BindingFlags.Instance)!.GetParameters().Single(p => p.Name == "options").ParameterType;

    [Fact]
    public void EveryMethod_ImplementsTheContractOfItsKind()
    {
        var types = MethodTypes().ToList();
        Assert.True(types.Count >= 39, string.Join(", ", types.Select(Name)));
        foreach (var type in types)
        {
            var name = Name(type);
            Assert.True(typeof(IAttribution).IsAssignableFrom(type), $"{name} does not implement IAttribution");
            // Wrappers: the noise tunnels take the wrapped method's options; DataLoaderAttribution takes a data loader,
            // not one batch of inputs; the LLM classes take prompts and answers (IInterpretableInput) and give an
            // LLMAttributionResult, as Captum's do. They implement IAttribution only.
            if (name is "NoiseTunnel" or "LayerNoiseTunnel" or "DataLoaderAttribution" or "LLMAttribution" or "LLMGradientAttribution")
            {
                continue;
            }

            var expected = name.StartsWith("Neuron", StringComparison.Ordinal) ? typeof(INeuronAttributionMethod<>)
                : name.StartsWith("Layer", StringComparison.Ordinal) || name == "InternalInfluence" ? typeof(ILayerAttributionMethod<>)
                : typeof(IAttributionMethod<>);
            Assert.True(Contract(type, expected) is not null, $"{name} does not implement {Name(expected)}");
        }
    }

    [Fact]
    public void EveryMethod_HasOneSealedOptionsRecordNamedAfterItDeclaredInItsOwnFile()
    {
        var root = GettingStartedDocTests.RepositoryRoot();
        var sources = Directory.GetFiles(Path.Combine(root, "src", "Captum.Attr"), "*.cs", SearchOption.AllDirectories);
        foreach (var type in MethodTypes().Where(t => !t.IsGenericType))
        {
            var options = OptionsOf(type);
            Assert.Equal(type.Name + "Options", options.Name);
            Assert.True(options.IsSubclassOf(typeof(AttributionOptions)), options.Name);

            // Sealed, so no other method's options can be passed for them (LimeOptions alone is KernelShap's base, as in Captum).
            Assert.True(options.IsSealed || options == typeof(LimeOptions), $"{options.Name} is not sealed");
            var file = sources.Single(f => Path.GetFileNameWithoutExtension(f) == type.Name);
            Assert.Contains($"record {options.Name} ", File.ReadAllText(file), StringComparison.Ordinal);
        }
    }

    [Fact]
    public void LayerAndNeuronOptions_NeverDeriveFromAnotherMethodsOptions()
    {
        foreach (var type in MethodTypes().Where(t => !t.IsGenericType))
        {
            var options = OptionsOf(type);
            for (var b = options.BaseType; b is not null && b != typeof(object); b = b.BaseType)
            {
                Assert.True(b.IsAbstract || options == typeof(KernelShapOptions), $"{options.Name} derives from the concrete {b.Name}");
            }

            if (Contract(type, typeof(ILayerAttributionMethod<>)) is not null)
            {
                Assert.True(typeof(ILayerAttributionOptions).IsAssignableFrom(options), $"{options.Name} is not ILayerAttributionOptions");
            }

            if (Contract(type, typeof(INeuronAttributionMethod<>)) is not null)
            {
                Assert.True(options.IsSubclassOf(typeof(NeuronAttributionOptions)), $"{options.Name} is not a NeuronAttributionOptions");
            }
        }
    }

    /// <summary>A record that carries a target, baselines or a feature mask declares it, so that wrappers expand it.</summary>
    [Fact]
    public void OptionsCarryingPerExampleArguments_ImplementTheirCapabilityInterface()
    {
        var records = Attr.GetExportedTypes().Where(t => t.IsSubclassOf(typeof(AttributionOptions))).ToList();
        Assert.True(records.Count >= 40);
        foreach (var options in records)
        {
            (string Property, Type Capability)[] capabilities =
                [("Target", typeof(ITargetOptions)), ("Baselines", typeof(IBaselineOptions)), ("FeatureMask", typeof(IFeatureMaskOptions)), ("Seed", typeof(IRandomSourceOptions))];
            foreach (var (property, capability) in capabilities)
            {
                if (options.GetProperty(property) is not null)
                {
                    Assert.True(capability.IsAssignableFrom(options), $"{options.Name}.{property} without {capability.Name}");
                }
            }
        }
    }

    /// <summary>
    /// Every option a method's record declares says which keyword argument of Captum it is ("Python: ...") or that
    /// Captum has none ("Beyond Captum"), in its own documentation or the one it inherits (docs/architecture.md, step 2).
    /// </summary>
    [Fact]
    public void OptionsProperties_NameThePythonArgumentOrSayTheyAreBeyondCaptum()
    {
        var file = Path.ChangeExtension(Attr.Location, ".xml");
        Assert.True(File.Exists(file), $"{file}: the XML documentation is generated (Directory.Build.props)");
        var members = System.Xml.Linq.XDocument.Load(file).Descendants("member")
            .ToDictionary(m => (string)m.Attribute("name")!, m => m, StringComparer.Ordinal);
        string Text(string member)
        {
            if (!members.TryGetValue(member, out var element))
            {
                return "";
            }

            var inherited = element.Descendants("inheritdoc").Select(i => (string?)i.Attribute("cref")).OfType<string>();
            return element.Value + string.Concat(inherited.Select(Text));
        }

        // The methods' options records, and those of the noise tunnels, the metrics and the LLM classes and inputs.
        var records = Attr.GetExportedTypes()
            .Where(t => t.IsSubclassOf(typeof(AttributionOptions)))
            .Concat([typeof(NoiseTunnelOptions<>), typeof(InfidelityOptions), typeof(SensitivityMaxOptions), typeof(LLMAttributionOptions<>), typeof(TextTemplateOptions)])
            .ToList();
        Assert.True(records.Count >= 45, $"{records.Count} records");
        var silent = records
            .SelectMany(t => t.GetProperties(BindingFlags.Public | BindingFlags.Instance | BindingFlags.DeclaredOnly)
                .Select(p => $"{t.FullName}.{p.Name}"))
            .Where(p => Text("P:" + p) is var text
                && !text.Contains("Python", StringComparison.Ordinal)
                && !text.Contains("beyond Captum", StringComparison.OrdinalIgnoreCase))
            .ToList();
        Assert.True(silent.Count == 0, "say the Python argument, or that it is beyond Captum: " + string.Join(", ", silent));
    }

    /// <summary>
    /// Generic code reads options through the capability interfaces and the abstract bases, never by testing for one
    /// method's record: NoiseTunnel's closed switch over options types once left a new masked method's masks unexpanded.
    /// </summary>
    [Fact]
    public void Sources_NeverTestForAConcreteMethodsOptions()
    {
        // Known: LLMGradientAttribution gives LayerGradientShap default baselines (see docs/architecture.md).
        (string File, string Type)[] known = [("LLMGradientAttribution.cs", "LayerGradientShapOptions")];
        var root = GettingStartedDocTests.RepositoryRoot();
        var concrete = Attr.GetExportedTypes()
            .Where(t => t.IsSubclassOf(typeof(AttributionOptions)) && !t.IsAbstract)
            .Select(t => t.Name.Split('`')[0])
            .ToList();
        Assert.Contains("FeatureAblationOptions", concrete);
        var sources = new[] { "src", "plugins" }
            .SelectMany(folder => Directory.GetFiles(Path.Combine(root, folder), "*.cs", SearchOption.AllDirectories))
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                        && !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal));
        var names = string.Join("|", concrete);
        var test = new System.Text.RegularExpressions.Regex(
            $@"(\bis\s+(not\s+)?|\bcase\s+|\bas\s+|typeof\()(?<type>{names})\b|^\s*(?<type>{names})\s*(\{{|\w+\s*=>|=>)",
            System.Text.RegularExpressions.RegexOptions.Compiled);
        var offenders = new List<string>();
        foreach (var file in sources)
        {
            var lines = File.ReadAllLines(file);
            for (var i = 0; i < lines.Length; i++)
            {
                if (lines[i].TrimStart().StartsWith("//", StringComparison.Ordinal))
                {
                    continue;
                }

                offenders.AddRange(test.Matches(lines[i])
                    .Select(m => m.Groups["type"].Value)
                    .Where(type => !known.Contains((Path.GetFileName(file), type)))
                    .Select(type => $"{Path.GetRelativePath(root, file)}:{i + 1} tests for {type}"));
            }
        }

        Assert.True(offenders.Count == 0, "read the options through ITargetOptions, IBaselineOptions, IFeatureMaskOptions, IRandomSourceOptions or a base: " + string.Join("; ", offenders));
    }

    [Fact]
    public void Sources_NeverCallSumWithTheLiteralZero()
    {
        // C# converts the constant 0 to any enum, so TorchSharp's tensor.sum(0) binds to sum(ScalarType type) and sums
        // everything as bytes: sum(dim: 0) is meant. Two silent wrong answers came from it.
        var root = GettingStartedDocTests.RepositoryRoot();
        var offenders = new[] { "src", "plugins", "bench" }
            .SelectMany(folder => Directory.GetFiles(Path.Combine(root, folder), "*.cs", SearchOption.AllDirectories))
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            .SelectMany(f => File.ReadLines(f).Select((line, i) => (f, i, line)))
            .Where(x => x.line.Contains(".sum(0)", StringComparison.Ordinal))
            .Select(x => $"{Path.GetRelativePath(root, x.f)}:{x.i + 1}")
            .ToList();

        Assert.True(offenders.Count == 0, "sum(0) sums as bytes; write sum(dim: 0): " + string.Join(", ", offenders));
    }

    [Fact]
    public void Common_HoldsOnlyEngines()
    {
        var root = GettingStartedDocTests.RepositoryRoot();
        foreach (var file in Directory.GetFiles(Path.Combine(root, "src", "Captum.Attr", "Common"), "*.cs"))
        {
            var publicTypes = File.ReadLines(file).Where(l => l.StartsWith("public ", StringComparison.Ordinal)).ToList();
            Assert.True(publicTypes.Count == 0, $"{Path.GetFileName(file)} declares public types: {string.Join("; ", publicTypes)}");
        }
    }

    [Fact]
    public void MethodClasses_NeverReachIntoAnotherMethodsInternals()
    {
        // Shared logic lives in Common/ engines: a method that calls another method's internal static member (as
        // LayerGradientShap once called GradientShap.ScaledPoints) hides an engine inside a concrete class.
        var root = GettingStartedDocTests.RepositoryRoot();
        var sources = Directory.GetFiles(Path.Combine(root, "src", "Captum.Attr"), "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            .ToDictionary(f => f, File.ReadAllText);
        var offenders = new List<string>();
        foreach (var type in MethodTypes())
        {
            var name = Name(type);
            var internals = type.GetMembers(BindingFlags.Static | BindingFlags.NonPublic | BindingFlags.DeclaredOnly)
                .Where(m => m is MethodInfo { IsAssembly: true } or PropertyInfo { GetMethod.IsAssembly: true } or FieldInfo { IsAssembly: true })
                .Select(m => m.Name)
                .Distinct()
                .ToList();
            foreach (var (file, text) in sources.Where(x => Path.GetFileNameWithoutExtension(x.Key) != name))
            {
                offenders.AddRange(internals
                    .Where(member => System.Text.RegularExpressions.Regex.IsMatch(text, $@"\b{name}\.{member}\b"))
                    .Select(member => $"{Path.GetRelativePath(root, file)} calls {name}.{member}"));
            }
        }

        Assert.True(offenders.Count == 0, "move the shared member into a Common/ engine: " + string.Join("; ", offenders));
    }

    [Fact]
    public void InternalTypes_OutsideCommon_AreUsedOnlyInTheirOwnFolder()
    {
        // A family may keep a helper of its own beside its methods (the metrics' MetricBatches, the LLM classes'
        // LLMAttributionCall); a helper two families share is an engine and lives in Common/ (as ResolvedFeatureMask,
        // once in Perturbation/FeatureMask.cs and used by the layer and neuron ablations, now does). Common/ may use a
        // family's helper (LrpPropagation builds the LRP rules' ParameterChanges).
        var root = GettingStartedDocTests.RepositoryRoot();
        var attr = Path.Combine(root, "src", "Captum.Attr");
        var common = Path.Combine(attr, "Common");
        static bool Built(string f) =>
            !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
            && !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal);
        static string Code(string file) => string.Join("\n", File.ReadLines(file).Where(l => !l.TrimStart().StartsWith("//", StringComparison.Ordinal)));

        // Where Attr's internals can be seen: Attr itself and the assemblies it shows them to (InternalsVisibleTo).
        var sources = new[] { attr, Path.Combine(root, "src", "Captum.Robust"), Path.Combine(root, "src", "Captum.Concept"), Path.Combine(root, "bench") }
            .SelectMany(d => Directory.GetFiles(d, "*.cs", SearchOption.AllDirectories))
            .Where(Built)
            .ToDictionary(f => f, Code);
        var declared = sources
            .Where(x => x.Key.StartsWith(attr + Path.DirectorySeparatorChar, StringComparison.Ordinal) && Path.GetDirectoryName(x.Key) != common)
            .SelectMany(x => System.Text.RegularExpressions.Regex.Matches(
                    x.Value,
                    @"^internal (?:(?:(?:sealed|static|abstract|readonly|partial) )*(?:record struct|record|class|interface|enum|struct) (?<name>\w+)|delegate .*?(?<name>\w+)(?:<[^>]*>)?\()",
                    System.Text.RegularExpressions.RegexOptions.Multiline)
                .Select(m => (Type: m.Groups["name"].Value, Folder: Path.GetDirectoryName(x.Key)!)))
            .ToList();
        Assert.Contains(declared, d => d.Type == "MetricBatches");
        Assert.Contains(declared, d => d.Type == "PointGradient");

        var offenders = declared
            .SelectMany(d => sources
                .Where(x => Path.GetDirectoryName(x.Key) is { } folder && folder != d.Folder && folder != common)
                .Where(x => System.Text.RegularExpressions.Regex.IsMatch(x.Value, $@"\b{d.Type}\b"))
                .Select(x => $"{Path.GetRelativePath(root, x.Key)} uses {d.Type} of {Path.GetRelativePath(root, d.Folder)}/"))
            .ToList();
        Assert.True(offenders.Count == 0, "move the shared type into Common/: " + string.Join("; ", offenders));
    }

    [Fact]
    public void NoiseTunnel_OverANeuronMethodWithoutNoise_EqualsTheMethod()
    {
        using var scope = torch.NewDisposeScope();
        var model = GradientTestModels.Mlp(3);
        var x = torch.randn(3, 4, generator: new Generator(7));
        var baselines = torch.randn(3, 4, generator: new Generator(8));
        var method = new NeuronIntegratedGradients(model, "lin2", 1);
        var options = new NeuronIntegratedGradientsOptions { Baselines = baselines, Steps = 10 };

        using var direct = method.Attribute(x, options);
        using var tunnel = NoiseTunnel.Create(method).Attribute(x, new NoiseTunnelOptions<NeuronIntegratedGradientsOptions>
        {
            Samples = 3,
            Stdevs = 0.0,
            MethodOptions = options,
        });

        // Per-example baselines are repeated for every sample, as Captum's noise tunnel does.
        TensorAssert.AllClose(tunnel.Attribution, direct.Attribution, 1e-6, 1e-5);
    }

    [Fact]
    public void NoiseTunnel_OverOcclusionWithoutNoise_EqualsOcclusion()
    {
        using var scope = torch.NewDisposeScope();
        var model = GradientTestModels.Mlp(4);
        var x = torch.randn(2, 4, generator: new Generator(9));
        var method = new Occlusion(model);
        var options = new OcclusionOptions { SlidingWindowShapes = new long[] { 2 }, Target = new long[] { 0, 2 } };

        using var direct = method.Attribute(x, options);
        using var tunnel = NoiseTunnel.Create(method).Attribute(x, new NoiseTunnelOptions<OcclusionOptions>
        {
            Samples = 2,
            Stdevs = 0.0,
            MethodOptions = options,
        });

        TensorAssert.AllClose(tunnel.Attribution, direct.Attribution, 1e-6, 1e-5);
    }

    [Fact]
    public void Occlusion_WithoutOptions_ThrowsNamingSlidingWindowShapes()
    {
        using var scope = torch.NewDisposeScope();
        var ex = Assert.Throws<ArgumentException>(() => new Occlusion(GradientTestModels.Mlp(1)).Attribute(torch.randn(2, 4)));
        Assert.Equal("SlidingWindowShapes", ex.ParamName);
    }

    /// <summary>A third party's method with its own masked options: the tunnel expands the mask without knowing the type.</summary>
    [Fact]
    public void NoiseTunnel_OverAThirdPartyMaskedMethod_RepeatsPerExampleMasksForEverySample()
    {
        using var scope = torch.NewDisposeScope();
        var x = torch.randn(2, 3, generator: new Generator(11));
        var mask = torch.tensor(new long[,] { { 0, 0, 1 }, { 0, 1, 1 } });
        var method = new MaskEcho();

        using var result = NoiseTunnel.Create(method).Attribute(x, new NoiseTunnelOptions<MaskEchoOptions>
        {
            Samples = 3,
            Stdevs = 0.0,
            MethodOptions = new MaskEchoOptions { FeatureMask = mask, Target = new long[] { 4, 5 } },
        });

        Assert.Equal([6L, 3L], method.SeenMaskShape!);
        Assert.Equal(((Target)new long[] { 4, 4, 4, 5, 5, 5 }).ToString(), method.SeenTarget.ToString());
        TensorAssert.AllClose(result.Attribution, mask.to_type(ScalarType.Float32), 0, 0);
    }

    [Fact]
    public void ExplanationsOf_NeuronMethodGivenATargetByTheMetric_ThrowsNamingTarget()
    {
        using var scope = torch.NewDisposeScope();
        var explain = Explanations.Of(new NeuronGradient(GradientTestModels.Mlp(2), "lin1", 0));
        var ex = Assert.Throws<ArgumentException>(() => explain(torch.randn(2, 4), new ExplanationArguments(default, 1, null), CancellationToken.None));
        Assert.Equal("target", ex.ParamName);
    }

    private sealed record MaskEchoOptions : TargetedAttributionOptions, IFeatureMaskOptions
    {
        public FeatureMask FeatureMask { get; init; }

        AttributionOptions IFeatureMaskOptions.WithFeatureMask(FeatureMask featureMask) => this with { FeatureMask = featureMask };
    }

    /// <summary>Returns its feature mask as the attribution, and remembers what it was given.</summary>
    private sealed class MaskEcho : IAttributionMethod<MaskEchoOptions>
    {
        public long[]? SeenMaskShape { get; private set; }

        public Target SeenTarget { get; private set; }

        public bool HasConvergenceDelta => false;

        public AttributionResult Attribute(Inputs inputs, MaskEchoOptions? options = null, CancellationToken cancellationToken = default)
        {
            var mask = options!.FeatureMask.Masks![0];
            SeenMaskShape = mask.shape;
            SeenTarget = options.Target;
            return new AttributionResult([mask.to_type(ScalarType.Float32)], null);
        }
    }
}
