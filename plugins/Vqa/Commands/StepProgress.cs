namespace Captum.Plugins.Vqa.Commands;

/// <summary>Shows the attribution's progress on standard error: one updating line on a terminal, nothing when redirected.</summary>
internal sealed class StepProgress(TextWriter error, string label) : IProgress<AttributionProgress>
{
    private readonly bool interactive = ReferenceEquals(error, Console.Error) && !Console.IsErrorRedirected;

    public void Report(AttributionProgress value)
    {
        if (interactive)
        {
            error.Write($"\r{label}: step {value.CompletedSteps}/{value.TotalSteps}   ");
        }
    }

    public void Done()
    {
        if (interactive)
        {
            error.WriteLine();
        }
    }
}
