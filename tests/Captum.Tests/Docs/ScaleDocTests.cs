using System.Text.Json;
using System.Text.RegularExpressions;
using Captum.Batch;
using Captum.Cli;
using Captum.Hosting;
using Captum.Plugins;
using Captum.Tests.Plugins.Vqa.Commands;
using Microsoft.Extensions.DependencyInjection;
using Xunit;
using YamlDotNet.Serialization;
using YamlDotNet.Serialization.NamingConventions;

namespace Captum.Tests.Docs;

/// <summary>docs/scale.md: its command lines parse with the real command line, and its Job and array give the shards they claim.</summary>
public sealed partial class ScaleDocTests
{
    private static string Doc => File.ReadAllText(Path.Combine(GettingStartedDocTests.RepositoryRoot(), "docs", "scale.md")).ReplaceLineEndings("\n");

    [Fact]
    public void ScaleDoc_EveryCaptumCommandLine_ParsesAndNamesADatasetAndMethodThatExist()
    {
        using var host = PluginHost.Load([BundledCli.Plugins]);
        var root = CaptumCli.Root(host, TextWriter.Null, TextWriter.Null);
        var commands = CommandLines(Doc).ToList();

        Assert.True(commands.Count >= 6, $"found {commands.Count} command lines");
        Assert.Contains(commands, c => c[0] == "merge-results");
        foreach (var args in commands)
        {
            var parsed = root.Parse(args);
            Assert.True(parsed.Errors.Count == 0, $"{string.Join(' ', args)}: {string.Join("; ", parsed.Errors.Select(e => e.Message))}");
            if (args[0] == "attribute-dataset")
            {
                Assert.Contains(Value(args, "--dataset"), host.Services.GetServices<IExampleDatasetProvider>().Select(d => d.Name));
                Assert.NotNull(host.ExplanationStrategies.Find(args.Contains("--method") ? Value(args, "--method") : "layer-ig"));
            }
        }
    }

    [Fact]
    public void ScaleDoc_KubernetesJob_IsAnIndexedJobWhoseWorkersTakeTheirShardFromTheCompletionIndex()
    {
        var job = new DeserializerBuilder().WithNamingConvention(CamelCaseNamingConvention.Instance).Build().Deserialize<KubernetesJob>(Block(Doc, "yaml"));
        using var host = PluginHost.Load([BundledCli.Plugins]);
        var root = CaptumCli.Root(host, TextWriter.Null, TextWriter.Null);

        Assert.Equal(("batch/v1", "Job", "Indexed"), (job.ApiVersion, job.Kind, job.Spec.CompletionMode));
        var completions = job.Spec.Completions;
        Assert.True(completions > 1, $"completions: {completions}");
        Assert.Equal(completions, job.Spec.Parallelism); // "Eight pods, one shard each", all at once
        Assert.Contains(job.Spec.Template.Spec.RestartPolicy, new[] { "OnFailure", "Never" });
        var container = Assert.Single(job.Spec.Template.Spec.Containers);
        Assert.Equal(["captum", "attribute-dataset"], container.Command.Take(2));
        var env = container.Env.ToDictionary(e => e.Name, e => e.Value);
        Assert.Equal($"{completions}", env.GetValueOrDefault(ShardAssignment.ShardCountVariable));

        // The command as the worker parses it gives no shard: each pod's comes from its JOB_COMPLETION_INDEX.
        var parsed = root.Parse(container.Command.Skip(1).ToArray());
        Assert.Empty(parsed.Errors);
        var (index, count) = (parsed.GetValue<int?>("--shard-index"), parsed.GetValue<int?>("--shard-count"));
        Assert.Equal((null, null), (index, count));
        for (var k = 0; k < completions; k++)
        {
            var pod = new Dictionary<string, string>(env) { [ShardAssignment.KubernetesIndexVariable] = $"{k}" };
            Assert.Equal(new ShardAssignment(k, completions), ShardAssignment.Resolve(index, count, pod.GetValueOrDefault));
        }

        // Every pod writes under the shared claim, with as many libtorch threads as the cores it is given.
        var out_ = parsed.GetValue<string>("--out")!;
        var mount = Assert.Single(container.VolumeMounts, m => out_.StartsWith(m.MountPath.TrimEnd('/') + "/", StringComparison.Ordinal));
        var volume = Assert.Single(job.Spec.Template.Spec.Volumes, v => v.Name == mount.Name);
        Assert.False(string.IsNullOrEmpty(volume.PersistentVolumeClaim?.GetValueOrDefault("claimName")), $"volume {volume.Name} is no persistent volume claim");
        var threads = $"{parsed.GetValue<int?>("--threads")}";
        Assert.Equal((threads, threads), (container.Resources.Requests["cpu"], container.Resources.Limits["cpu"]));
    }

    [Fact]
    public void ScaleDoc_DockerfileFinalImage_CarriesEveryFrameworkTheBuiltCaptumRequires()
    {
        var from = FromLine().Matches(Block(Doc, "dockerfile")).Last();
        var (repository, major, minor) = (from.Groups["repository"].Value, int.Parse(from.Groups["major"].Value), int.Parse(from.Groups["minor"].Value));
        using var config = JsonDocument.Parse(File.ReadAllText(Path.Combine(BuildOutputs.Of(Path.Combine("src", "Captum.Cli")), "captum.runtimeconfig.json")));
        var options = config.RootElement.GetProperty("runtimeOptions");
        var required = options.TryGetProperty("frameworks", out var list) ? list.EnumerateArray().ToList() : [options.GetProperty("framework")];

        Assert.True(ImageFrameworks.ContainsKey(repository), $"the final image {from.Value} is none of {string.Join(", ", ImageFrameworks.Keys)}");
        Assert.NotEmpty(required);
        foreach (var framework in required)
        {
            var (name, version) = (framework.GetProperty("name").GetString()!, Version.Parse(framework.GetProperty("version").GetString()!));
            Assert.True(ImageFrameworks[repository].Contains(name), $"the final image {from.Value} has no {name}, which the built captum.runtimeconfig.json requires");

            // A framework rolls forward to a later minor version, not to another major one.
            Assert.True(major == version.Major && minor >= version.Minor, $"the final image {from.Value} has .NET {major}.{minor}, captum requires {name} {version}");
        }
    }

    [Fact]
    public void ScaleDoc_DockerfilePublish_IsForLinuxX64OnlyAndItsContextLeavesBuildOutputOut()
    {
        var dockerfile = Block(Doc, "dockerfile");
        var publish = Assert.Single(dockerfile.Split('\n'), l => l.StartsWith("RUN dotnet publish ", StringComparison.Ordinal));
        var ignore = File.ReadAllLines(Path.Combine(GettingStartedDocTests.RepositoryRoot(), ".dockerignore"))
            .Select(l => l.Trim().TrimEnd('/')).Where(l => l.Length > 0 && !l.StartsWith('#')).ToList();

        // Without a runtime identifier the publish folder carries libtorch for every platform TorchSharp ships.
        Assert.Matches(@"(?:-r|--runtime) linux-x64(?:\s|$)", publish);
        Assert.Matches(@"--self-contained false(?:\s|$)", publish);
        Assert.Contains("COPY . .", dockerfile, StringComparison.Ordinal);
        Assert.Contains("**/bin", ignore);
        Assert.Contains("**/obj", ignore);
    }

    [Fact]
    public void ScaleDoc_SlurmLogFolder_IsMadeBeforeSbatch()
    {
        var folder = OutputFolder().Match(Block(Doc, "bash"));
        var submit = CodeBlock().Matches(Doc).Select(m => m.Groups["body"].Value.Split('\n').Select(l => l.Trim()).ToList())
            .SingleOrDefault(lines => lines.Any(l => l.StartsWith("sbatch ", StringComparison.Ordinal)));

        Assert.True(folder.Success, "the sbatch script's --output has no folder");
        Assert.NotNull(submit);
        var made = submit.IndexOf($"mkdir -p {folder.Groups["folder"].Value}");
        Assert.InRange(made, 0, submit.FindIndex(l => l.StartsWith("sbatch ", StringComparison.Ordinal)) - 1);
    }

    [Fact]
    public void ScaleDoc_SlurmArray_GivesEachTaskItsShardOfTheArray()
    {
        var script = ArrayLine().Match(Block(Doc, "bash"));
        var arrays = ArrayOption().Matches(Doc).ToList();

        Assert.True(script.Success, "the sbatch script has no #SBATCH --array line");
        Assert.True(script.Groups["limit"].Success, "the sbatch script's array has no % limit");
        Assert.Contains(arrays, a => a.Groups["step"].Success);
        foreach (var array in arrays.Append(script))
        {
            var (min, last) = (int.Parse(array.Groups["min"].Value), int.Parse(array.Groups["max"].Value));
            var step = array.Groups["step"].Success ? int.Parse(array.Groups["step"].Value) : 1;
            var ids = Enumerable.Range(0, ((last - min) / step) + 1).Select(k => min + (k * step)).ToList();
            if (array.Groups["limit"].Success)
            {
                Assert.InRange(int.Parse(array.Groups["limit"].Value), 1, ids.Count - 1);
            }

            // What Slurm gives each task: its id, and the array's lowest and highest id, step and task count (the % limit is none of them).
            var shards = ids.Select(id => new Dictionary<string, string>
            {
                ["SLURM_ARRAY_TASK_ID"] = $"{id}",
                ["SLURM_ARRAY_TASK_MIN"] = $"{min}",
                ["SLURM_ARRAY_TASK_MAX"] = $"{ids[^1]}",
                ["SLURM_ARRAY_TASK_STEP"] = $"{step}",
                ["SLURM_ARRAY_TASK_COUNT"] = $"{ids.Count}",
            }).Select(env => ShardAssignment.Resolve(null, null, env.GetValueOrDefault));

            Assert.Equal(Enumerable.Range(0, ids.Count).Select(i => new ShardAssignment(i, ids.Count)), shards);
        }
    }

    /// <summary>The arguments after "captum" of every command line: in code blocks (continuations joined), in the Job's command array, and in inline code.</summary>
    private static IEnumerable<string[]> CommandLines(string doc)
    {
        foreach (Match block in CodeBlock().Matches(doc))
        {
            var body = block.Groups["body"].Value.Replace("\\\n", " ", StringComparison.Ordinal);
            foreach (var line in body.Split('\n').Select(l => l.Trim()))
            {
                if (line.StartsWith("command: [", StringComparison.Ordinal))
                {
                    var array = JsonSerializer.Deserialize<string[]>(line["command: ".Length..])!;
                    Assert.Equal("captum", array[0]);
                    yield return array[1..];
                }
                else if (line.StartsWith("captum ", StringComparison.Ordinal) || line.StartsWith("scripts/captum.sh ", StringComparison.Ordinal))
                {
                    yield return Split(line)[1..];
                }
            }
        }

        foreach (Match inline in InlineCommand().Matches(doc))
        {
            yield return Split(inline.Groups["line"].Value)[1..];
        }
    }

    /// <summary>Splits a shell line on spaces, keeping double-quoted words whole; a variable stands for a small number, a trailing & (run in the background) is the shell's.</summary>
    private static string[] Split(string line) =>
        [.. ShellWord().Matches(line.TrimEnd().TrimEnd('&')).Select(m => m.Groups["quoted"].Success ? m.Groups["quoted"].Value : m.Value)
            .Select(w => w.StartsWith('$') ? "1" : w)];

    private static string Value(string[] args, string option) => args[Array.IndexOf(args, option) + 1];

    private static string Block(string doc, string language) =>
        CodeBlock().Matches(doc).Single(m => m.Groups["language"].Value == language).Groups["body"].Value;

    /// <summary>The shared frameworks each of Microsoft's .NET images on Linux holds (runtime-deps: none, for self-contained apps).</summary>
    private static readonly Dictionary<string, string[]> ImageFrameworks = new()
    {
        ["runtime-deps"] = [],
        ["runtime"] = ["Microsoft.NETCore.App"],
        ["aspnet"] = ["Microsoft.NETCore.App", "Microsoft.AspNetCore.App"],
        ["sdk"] = ["Microsoft.NETCore.App", "Microsoft.AspNetCore.App"],
    };

    [GeneratedRegex(@"```(?<language>\w*)\n(?<body>.*?)```", RegexOptions.Singleline)]
    private static partial Regex CodeBlock();

    [GeneratedRegex(@"(?:`|--wrap "")(?<line>captum (?:attribute-dataset|merge-results) [^`""]+)")]
    private static partial Regex InlineCommand();

    [GeneratedRegex(@"""(?<quoted>[^""]*)""|\S+")]
    private static partial Regex ShellWord();

    [GeneratedRegex(@"^FROM mcr\.microsoft\.com/dotnet/(?<repository>[a-z-]+):(?<major>\d+)\.(?<minor>\d+)\S*", RegexOptions.Multiline)]
    private static partial Regex FromLine();

    [GeneratedRegex(@"^#SBATCH --output=(?<folder>[^/\s]+)/", RegexOptions.Multiline)]
    private static partial Regex OutputFolder();

    [GeneratedRegex(@"#SBATCH --array=(?<min>\d+)-(?<max>\d+)(?::(?<step>\d+))?(?:%(?<limit>\d+))?")]
    private static partial Regex ArrayLine();

    [GeneratedRegex(@"`--array=(?<min>\d+)-(?<max>\d+)(?::(?<step>\d+))?(?:%(?<limit>\d+))?`")]
    private static partial Regex ArrayOption();
    /// <summary>The fields of a Kubernetes Job the doc's manifest may use (an unknown field fails the parse).</summary>
    public sealed class KubernetesJob
    {
        public string ApiVersion { get; set; } = "";

        public string Kind { get; set; } = "";

        public Dictionary<string, string> Metadata { get; set; } = [];

        public JobSpec Spec { get; set; } = new();
    }

    public sealed class JobSpec
    {
        public string CompletionMode { get; set; } = "";

        public int Completions { get; set; }

        public int Parallelism { get; set; }

        public int BackoffLimit { get; set; }

        public PodTemplate Template { get; set; } = new();
    }

    public sealed class PodTemplate
    {
        public PodSpec Spec { get; set; } = new();
    }

    public sealed class PodSpec
    {
        public string RestartPolicy { get; set; } = "";

        public List<ContainerSpec> Containers { get; set; } = [];

        public List<VolumeSpec> Volumes { get; set; } = [];
    }

    public sealed class ContainerSpec
    {
        public string Name { get; set; } = "";

        public string Image { get; set; } = "";

        public List<string> Command { get; set; } = [];

        public List<EnvVar> Env { get; set; } = [];

        public ResourceSpec Resources { get; set; } = new();

        public List<VolumeMount> VolumeMounts { get; set; } = [];
    }

    public sealed class EnvVar
    {
        public string Name { get; set; } = "";

        public string Value { get; set; } = "";
    }

    public sealed class ResourceSpec
    {
        public Dictionary<string, string> Requests { get; set; } = [];

        public Dictionary<string, string> Limits { get; set; } = [];
    }

    public sealed class VolumeMount
    {
        public string Name { get; set; } = "";

        public string MountPath { get; set; } = "";
    }

    public sealed class VolumeSpec
    {
        public string Name { get; set; } = "";

        public Dictionary<string, string>? PersistentVolumeClaim { get; set; }
    }
}
