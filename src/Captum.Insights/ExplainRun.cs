using Captum.Attr;
using Captum.Explain;
using Captum.Explain.Reports;
using Captum.Explain.Results;
using Captum.Plugins;
using Captum.Visualization;

namespace Captum.Insights;

/// <summary>What an explain request asks, checked: the raw inputs, the methods and their arguments.</summary>
/// <param name="Model">The served model.</param>
/// <param name="Inputs">The raw inputs, named as the model's raw inputs.</param>
/// <param name="Source">What gave the inputs, for the document's <c>image</c> field: an upload's file name or an example's id.</param>
/// <param name="Expected">The expected label (a dataset example's), or null.</param>
/// <param name="Methods">The methods, in order, at least one, no repeats.</param>
/// <param name="Steps">Integration steps.</param>
/// <param name="Target">The class to explain; null for the predicted one.</param>
/// <param name="InternalBatchSize">Steps (or perturbed examples) per pass.</param>
/// <param name="Baseline">The baselines the methods start from.</param>
internal sealed record ExplainRequest(
    InsightsModel Model,
    IReadOnlyDictionary<string, RawInputValue> Inputs,
    string Source,
    string? Expected,
    IReadOnlyList<IExplanationStrategy> Methods,
    int Steps,
    long? Target,
    int InternalBatchSize,
    BaselineChoice Baseline);

/// <summary>Progress of an explain run: the method running (index in the request) and its steps.</summary>
/// <param name="Method">The method's name.</param>
/// <param name="MethodIndex">Its place in the request, from 0.</param>
/// <param name="MethodCount">The number of methods.</param>
/// <param name="Completed">Steps done.</param>
/// <param name="Total">Steps in all.</param>
internal readonly record struct RunProgress(string Method, int MethodIndex, int MethodCount, int Completed, int Total);

/// <summary>A finished run, kept for its heat maps and downloads: only managed copies, no tensors.</summary>
/// <param name="Id">The run's id (random, unguessable).</param>
/// <param name="Document">The result document (<c>captum vqa --json</c>'s fields).</param>
/// <param name="ReportHtml">The static HTML report of the run.</param>
/// <param name="Images">Each image input's displayable image, H x W x C in [0, 1], by input name.</param>
/// <param name="ImageAttributions">Each image input's attribution per method, H x W x C, by (input, method).</param>
/// <param name="Features">Each general input's per-feature attributions per method, by (input, method), with the features' names.</param>
internal sealed record InsightsRun(
    string Id,
    ExplanationResultDocument Document,
    string ReportHtml,
    IReadOnlyDictionary<string, float[,,]> Images,
    IReadOnlyDictionary<(string Input, string Method), float[,,]> ImageAttributions,
    IReadOnlyDictionary<(string Input, string Method), FeatureValues> Features);

/// <summary>The attributions of a general (tabular) input, one per named feature.</summary>
/// <param name="Names">The features' names.</param>
/// <param name="Values">Their attributions.</param>
internal sealed record FeatureValues(IReadOnlyList<string> Names, IReadOnlyList<float> Values);

/// <summary>The work of one explain request, run on the model's worker thread.</summary>
internal static class ExplainRun
{
    /// <summary>Prepares the inputs, explains them with every method, and keeps managed copies of what the page shows.</summary>
    /// <exception cref="ArgumentException">An input does not fit the model; the message names it.</exception>
    /// <exception cref="InvalidOperationException">The model's output or attributions are not finite.</exception>
    public static InsightsRun Execute(ExplainRequest request, string id, Action<RunProgress>? progress, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        using var scope = torch.NewDisposeScope();
        var model = request.Model.Model;
        PreparedInput prepared;
        try
        {
            prepared = request.Baseline.Apply(model.Prepare(request.Inputs));
        }
        catch (Exception ex) when (IsBadInput(ex))
        {
            throw new InputRefusedException(ex);
        }

        var explanations = new List<(string Method, Explanation Explanation)>();
        try
        {
            for (var m = 0; m < request.Methods.Count; m++)
            {
                var strategy = request.Methods[m];
                var index = m;
                var options = new ExplanationOptions
                {
                    Steps = request.Steps,
                    Target = request.Target,
                    InternalBatchSize = request.InternalBatchSize,
                    Progress = progress is null ? null : new CallbackProgress(p => progress(new RunProgress(strategy.Name, index, request.Methods.Count, p.CompletedSteps, p.TotalSteps))),
                };
                explanations.Add((strategy.Name, strategy.Explain(model, prepared, options, cancellationToken)));
                explanations[^1].Explanation.RequireFinite(strategy.Name);
            }

            var text = prepared.Displays.OfType<TextDisplay>().FirstOrDefault()?.Text ?? string.Empty;
            var result = ExplanationQuestionResult.Of(request.Source, text, request.Expected, explanations);
            var names = request.Methods.Select(s => s.Name).ToList();
            var document = new ExplanationResultDocument(model.Name, request.Source, request.Steps, names[0], names, [result], []) { Baseline = request.Baseline.Name };
            var report = new ExplanationReport($"Captum Insights: {model.Name}");
            report.Add(text.Length > 0 ? text : request.Source, explanations, request.Expected, model.Labels);

            var images = new Dictionary<string, float[,,]>(StringComparer.Ordinal);
            var imageAttributions = new Dictionary<(string, string), float[,,]>();
            var features = new Dictionary<(string, string), FeatureValues>();
            for (var i = 0; i < prepared.Displays.Count; i++)
            {
                switch (prepared.Displays[i])
                {
                    case ImageDisplay image:
                        images[image.Name] = TensorImages.ToHwcArray(image.Image.detach().cpu(), TensorImageLayout.Chw);
                        foreach (var (method, e) in explanations)
                        {
                            imageAttributions[(image.Name, method)] = TensorImages.ToHwcArray(e.Inputs[i].Attribution.detach().cpu().to_type(ScalarType.Float32), TensorImageLayout.Chw);
                        }

                        break;
                    case GeneralFeatureDisplay general:
                        foreach (var (method, e) in explanations)
                        {
                            var values = e.Inputs[i].Attribution.detach().cpu().to_type(ScalarType.Float32).flatten().data<float>().ToArray();
                            features[(general.Name, method)] = new FeatureValues(general.FeatureNames, values);
                        }

                        break;
                }
            }

            return new InsightsRun(id, document, report.ToHtml(), images, imageAttributions, features);
        }
        finally
        {
            foreach (var (_, e) in explanations)
            {
                e.Dispose();
            }
        }
    }

    /// <summary>
    /// Whether a run's failure is the model's own check refusing the user's input (an image that does not decode, a
    /// question with no known word), answered 400 and counted as refused, not as the model or server failing.
    /// </summary>
    public static bool IsBadInput(Exception ex) => ex is ArgumentException or NotSupportedException;

    /// <summary>
    /// Whether a run's failure is the model refusing the user's input while it prepared it (<see cref="InputRefusedException"/>):
    /// what /healthz counts as refused. An argument error later, in a method's work, is answered 400 too but counted as
    /// failed, since no input of the user's causes it.
    /// </summary>
    public static bool IsRefusedInput(Exception ex) => ex is InputRefusedException;

    private const string NotFinite = "the model's output is not finite (NaN or infinite): an input or a weight is out of float32's range.";

    /// <summary>The predicted label of a prepared example: its highest score (one forward pass, no gradients).</summary>
    /// <exception cref="InvalidOperationException">The model's outputs or scores are not finite, so no score is highest.</exception>
    public static long Predict(IInterpretableModel model, IReadOnlyDictionary<string, RawInputValue> inputs)
    {
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var prepared = model.Prepare(inputs);
        var logits = model.Forward.Invoke([.. prepared.Inputs, .. prepared.AdditionalForwardArgs]).reshape(1, -1);
        var scores = model.Scores(logits).reshape(-1);
        if (!torch.isfinite(logits).all().item<bool>() || !torch.isfinite(scores).all().item<bool>())
        {
            throw new InvalidOperationException(NotFinite);
        }

        return scores.argmax().item<long>();
    }

    private sealed class CallbackProgress(Action<AttributionProgress> report) : IProgress<AttributionProgress>
    {
        public void Report(AttributionProgress value) => report(value);
    }
}

/// <summary>The model's refusal of the user's input, raised while it prepared it; the message is the model's.</summary>
internal sealed class InputRefusedException(Exception inner) : ArgumentException(ErrorMessages.OneLine(inner), (inner as ArgumentException)?.ParamName, inner);
