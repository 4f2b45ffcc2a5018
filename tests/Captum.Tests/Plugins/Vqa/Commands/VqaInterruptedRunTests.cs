using System.Text;
using System.Text.Json;
using Captum.Explain;
using Captum.Plugins;
using Captum.Plugins.Vqa.Commands;
using Captum.Tests.Plugins.Vqa.Scenes;
using Xunit;

namespace Captum.Tests.Plugins.Vqa.Commands;

/// <summary>A <c>captum vqa --batch</c> run stopped midway writes what it answered and lists the rest as not run.</summary>
public sealed class VqaInterruptedRunTests
{
    [Fact]
    public void Run_BatchCancelledAtTheSecondQuestion_WritesTheFirstAnswerAndListsTheRestAsNotRun()
    {
        using var folder = new TempFolder();
        using var cancellation = new CancellationTokenSource();
        // The first answer's line cancels, as Ctrl+C would while the first question is shown.
        using var output = new WatchingWriter(text => text.StartsWith("Question: ", StringComparison.Ordinal), cancellation.Cancel);
        using var error = new StringWriter();
        var command = new VqaCommand(ExplanationStrategies.BuiltIn.Strategies);

        Assert.ThrowsAny<OperationCanceledException>(() => command.Run(Context(command, folder.Path, output, error, cancellation.Token)));

        AssertFirstAnsweredRestNotRun(folder.Path, "not run: cancelled");
        Assert.Contains("captum: cancelled after 1 of ", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Run_BatchWhoseMethodFailsUnexpectedlyAtTheSecondQuestion_WritesTheFirstAnswerAndRethrows()
    {
        using var folder = new TempFolder();
        var failing = new FailingOnSecondCall(ExplanationStrategies.BuiltIn.Get("layer-ig", "--method"));
        var command = new VqaCommand([.. ExplanationStrategies.BuiltIn.Strategies, failing]);

        var thrown = Assert.Throws<NullReferenceException>(() => command.Run(Context(command, folder.Path, TextWriter.Null, TextWriter.Null, default, failing.Name)));

        AssertFirstAnsweredRestNotRun(folder.Path, $"not run: stopped by an error (NullReferenceException: {thrown.Message})");
    }

    private static PluginCommandContext Context(VqaCommand command, string outDir, TextWriter output, TextWriter error, CancellationToken token, string method = "layer-ig")
    {
        var values = command.Options.Where(o => o.DefaultValue is not null).ToDictionary(o => o.Name, o => o.DefaultValue!);
        values["batch"] = SampleScenes.Manifest;
        values["out"] = outDir;
        values["json"] = "true";
        values["steps"] = "4";
        values["method"] = method;
        return new PluginCommandContext(values, output, error, token);
    }

    private static void AssertFirstAnsweredRestNotRun(string outDir, string reason)
    {
        var questions = SampleScenes.All.SelectMany(s => s.Questions.Select(q => (s.Image, q.Question))).ToList();
        using var result = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "result.json")));
        var answered = Assert.Single(result.RootElement.GetProperty("results").EnumerateArray());
        Assert.Equal(questions[0], (answered.GetProperty("image").GetString()!, answered.GetProperty("question").GetString()!));
        var failures = result.RootElement.GetProperty("failures").EnumerateArray().ToList();
        Assert.Equal(questions.Skip(1), failures.Select(f => (f.GetProperty("image").GetString()!, f.GetProperty("question").GetString()!)));
        Assert.All(failures, f => Assert.Equal(reason, f.GetProperty("reason").GetString()));
        Assert.Contains(questions[0].Question, File.ReadAllText(Path.Combine(outDir, "report.html")), StringComparison.Ordinal);
    }

    private sealed class WatchingWriter(Func<string, bool> trigger, Action action) : StringWriter
    {
        public override Encoding Encoding => Encoding.UTF8;

        public override void WriteLine(string? value)
        {
            base.WriteLine(value);
            if (value is not null && trigger(value))
            {
                action();
            }
        }
    }

    private sealed class FailingOnSecondCall(IExplanationStrategy inner) : IExplanationStrategy
    {
        private int calls;

        public string Name => "fails-second";

        public string Description => "layer-ig, then a bug.";

        public Explanation Explain(IInterpretableModel model, PreparedInput input, ExplanationOptions options, CancellationToken cancellationToken = default) =>
            ++calls == 2 ? throw new NullReferenceException("a bug in a plugin's method") : inner.Explain(model, input, options, cancellationToken);
    }
}
