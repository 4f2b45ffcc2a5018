using System.Runtime.InteropServices;
using Captum.Explain;
using Captum.Plugins.Vqa.Tutorial;

namespace Captum.Plugins.Vqa.Commands;

/// <summary>
/// The work of <c>captum vqa</c>: loads the model, checks what needed it (the images' resize, the questions' words),
/// then prepares and explains every question with every method. A question that fails (an image that does not
/// decode, an output that is not finite) is recorded and the others go on; when the run is cancelled or stops on an
/// unexpected error, the questions answered so far are written before the error goes on.
/// </summary>
internal static class VqaRun
{
    /// <summary>Runs a checked request, handing every answer and every failure to <paramref name="output"/> as it comes.</summary>
    /// <param name="request">The request.</param>
    /// <param name="output">Where the answers go.</param>
    /// <param name="error">Where progress and warnings go.</param>
    /// <param name="cancellationToken">Cancels the attributions.</param>
    /// <exception cref="ArgumentException">An image cannot be resized for the model, or the model cannot read a question (<see cref="CheckWords"/>); the message names it.</exception>
    public static void Execute(VqaRequest request, VqaOutput output, TextWriter error, CancellationToken cancellationToken)
    {
        using var scope = torch.NewDisposeScope();
        using var model = VqaModelProvider.LoadModel(request.Checkpoint, request.Resnet, request.ModelOptions);
        foreach (var image in request.Images)
        {
            VqaRequest.Labelled(image.Label, () => model.Transform.Check(image.Path));
        }

        CheckWords(model.Encoder, request.Images.SelectMany(i => i.Questions), error);
        output.ModelLoaded(model.Name);
        try
        {
            var total = request.Images.Sum(i => i.Questions.Count);
            var done = 0;
            foreach (var image in request.Images)
            {
                output.ImageStarted(image);
                foreach (var question in image.Questions)
                {
                    Explain(model, request, output, error, (image, question), $"[{++done}/{total}]", cancellationToken);
                }
            }
        }
        catch (Exception ex)
        {
            // What was answered before a cancellation or an unexpected error is written, then the error goes on; a
            // failure to write it is told, and does not replace the error.
            try
            {
                output.Interrupted(ex is OperationCanceledException ? "cancelled" : $"stopped by an error ({ex.GetType().Name}: {ex.Message})");
                output.Finish(model.Name);
            }
            catch (Exception writing) when (writing is IOException or UnauthorizedAccessException)
            {
                error.WriteLine($"captum: could not write the answers so far to {request.OutDir}: {writing.Message}");
            }

            throw;
        }

        output.Finish(model.Name);
    }

    private static void Explain(VqaModel model, VqaRequest request, VqaOutput output, TextWriter error, (VqaImage Image, VqaQuestion Question) asked, string counter, CancellationToken cancellationToken)
    {
        var (image, question) = asked;
        using var questionScope = torch.NewDisposeScope();
        var explanations = new List<(string Method, Explanation Explanation)>();
        try
        {
            var prepared = model.Prepare(new Dictionary<string, string> { [VqaModel.ImageInput] = image.Path, [VqaModel.QuestionInput] = question.Text });
            foreach (var strategy in request.Methods)
            {
                var progress = new StepProgress(error, $"{counter} {strategy.Name}: {question.Text}");
                var options = new ExplanationOptions { Steps = request.Steps, InternalBatchSize = request.InternalBatchSize, Progress = progress };
                explanations.Add((strategy.Name, strategy.Explain(model, prepared, options, cancellationToken)));
                progress.Done();
                explanations[^1].Explanation.RequireFinite(strategy.Name);
                if (explanations[^1].Explanation.MemoryBudgetOverrun is { } overrun)
                {
                    error.WriteLine($"captum: warning: {strategy.Name}: {overrun.Message}; a smaller --{VqaOptionNames.ImageSize} needs less.");
                }
            }

            output.Explained(image, question, explanations);
        }
        catch (Exception ex) when (ex is ArgumentException or IOException or InvalidOperationException or ExternalException)
        {
            output.Failed(image, question, ErrorMessages.OneLine(ex));
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
    /// Refuses, before any question is explained, a question the model would refuse when it reads it
    /// (<see cref="VqaModel.Unreadable"/>: no word, more than <see cref="VqaModel.MaxQuestionWords"/>, or none it
    /// knows: the encoder reads unknown words as padding, the text baseline, so its attributions would all be zero and
    /// the answer would rest on the image alone). Warns about the unknown words of the others.
    /// </summary>
    /// <exception cref="ArgumentException">The model cannot read a question; the message names it and says why.</exception>
    internal static void CheckWords(QuestionEncoder encoder, IEnumerable<VqaQuestion> questions, TextWriter error)
    {
        foreach (var question in questions)
        {
            var words = QuestionEncoder.Tokenize(question.Text);
            if (VqaModel.Unreadable(encoder, words) is { } reason)
            {
                throw new ArgumentException($"{question.Named}: {reason}", nameof(questions));
            }

            var unknown = words.Where(w => !encoder.Knows(w)).Distinct().ToList();
            if (unknown.Count > 0)
            {
                error.WriteLine($"captum: warning: {question.Named}: the model does not know {string.Join(", ", unknown.Select(w => $"'{w}'"))}; read as padding.");
            }
        }
    }
}
