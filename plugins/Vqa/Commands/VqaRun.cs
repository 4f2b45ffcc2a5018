using Captum.Explain;

namespace Captum.Plugins.Vqa.Commands;

/// <summary>The work of <c>captum vqa</c>: loads the model, then prepares and explains every question with every method.</summary>
internal static class VqaRun
{
    /// <summary>Runs a checked request, handing every answer to <paramref name="output"/> as it comes.</summary>
    /// <param name="request">The request.</param>
    /// <param name="output">Where the answers go.</param>
    /// <param name="error">Where progress goes.</param>
    /// <param name="cancellationToken">Cancels the attributions.</param>
    public static void Execute(VqaRequest request, VqaOutput output, TextWriter error, CancellationToken cancellationToken)
    {
        using var scope = torch.NewDisposeScope();
        using var model = VqaModelProvider.LoadModel(request.Checkpoint, request.Resnet, request.ModelOptions);
        output.ModelLoaded(model.Name);
        var total = request.Images.Sum(i => i.Questions.Count);
        var done = 0;
        foreach (var (imagePath, questions) in request.Images)
        {
            output.ImageStarted(imagePath);
            foreach (var (question, expected) in questions)
            {
                using var questionScope = torch.NewDisposeScope();
                var prepared = model.Prepare(new Dictionary<string, string> { [VqaModel.ImageInput] = imagePath, [VqaModel.QuestionInput] = question });
                var index = ++done;
                var explanations = new List<(string Method, Explanation Explanation)>();
                try
                {
                    foreach (var strategy in request.Methods)
                    {
                        var progress = new StepProgress(error, $"[{index}/{total}] {strategy.Name}: {question}");
                        var options = new ExplanationOptions { Steps = request.Steps, InternalBatchSize = request.InternalBatchSize, Progress = progress };
                        explanations.Add((strategy.Name, strategy.Explain(model, prepared, options, cancellationToken)));
                        progress.Done();
                    }

                    output.Explained(imagePath, question, expected, explanations);
                }
                finally
                {
                    foreach (var (_, e) in explanations)
                    {
                        e.Dispose();
                    }
                }
            }
        }

        output.Finish(model.Name);
    }
}
