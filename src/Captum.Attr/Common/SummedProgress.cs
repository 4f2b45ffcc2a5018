namespace Captum.Attr;

/// <summary>
/// Joins the progress of consecutive calls of one method into one sequence that never decreases: the report
/// (c, t) of call k of <c>calls</c> (counting from 0) becomes (s + c, s + t (calls - k)), where s sums the last
/// totals the calls before reported. Hand it to every call as its progress and call <see cref="EndCall"/> after
/// each. Used by NoiseTunnel, which calls the wrapped method once per batch of samples.
/// </summary>
/// <param name="target">The caller's progress.</param>
/// <param name="calls">How many calls there will be.</param>
internal sealed class SummedProgress(IProgress<AttributionProgress> target, int calls) : IProgress<AttributionProgress>
{
    private int finished;
    private int offset;
    private int currentTotal;

    /// <summary>Passes on a report of the current call.</summary>
    public void Report(AttributionProgress value)
    {
        currentTotal = value.TotalSteps;
        var remaining = Math.Max(1, calls - finished);
        target.Report(new AttributionProgress(offset + value.CompletedSteps, offset + (value.TotalSteps * remaining)));
    }

    /// <summary>Marks the current call done: its last total joins the offset of the calls after it.</summary>
    public void EndCall()
    {
        offset += currentTotal;
        currentTotal = 0;
        finished++;
    }
}
