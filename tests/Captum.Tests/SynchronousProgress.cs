using Captum;

namespace Captum.Tests;

/// <summary>An IProgress that reports on the calling thread, at once (Progress&lt;T&gt; posts asynchronously).</summary>
internal sealed class SynchronousProgress<T>(Action<T> report) : IProgress<T>
{
    public void Report(T value) => report(value);
}

/// <summary>The same, for attribution progress.</summary>
internal sealed class SynchronousProgress(Action<AttributionProgress> report) : IProgress<AttributionProgress>
{
    public void Report(AttributionProgress value) => report(value);
}
