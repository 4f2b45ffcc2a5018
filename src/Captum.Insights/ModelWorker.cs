using System.Collections.Concurrent;
using System.Diagnostics;

namespace Captum.Insights;

/// <summary>
/// Runs the work on one model, one item at a time, on a thread of its own: TorchSharp modules with hooks must
/// never run two attributions at once. Requests wait in a bounded queue; a full queue refuses at once (the caller
/// answers 503 with <see cref="RetryAfterSeconds"/>). A request cancelled while it waits is dropped unstarted; one
/// cancelled while it runs stops at the method's next cancellation check, and the queue moves on.
/// </summary>
internal sealed class ModelWorker : IDisposable
{
    private readonly BlockingCollection<IWorkItem> queue;
    private readonly Thread thread;
    private readonly CancellationTokenSource shutdown = new();
    private long completed;
    private long cancelled;
    private long failed;
    private double averageSeconds = 1;
    private int running;

    public ModelWorker(string name, int capacity)
    {
        queue = new BlockingCollection<IWorkItem>(capacity);
        thread = new Thread(Loop) { IsBackground = true, Name = $"insights: {name}" };
        thread.Start();
    }

    /// <summary>Requests waiting (not counting the running one).</summary>
    public int Queued => queue.Count;

    /// <summary>Whether an item is running.</summary>
    public bool Busy => Volatile.Read(ref running) == 1;

    /// <summary>Items finished, cancelled and failed so far.</summary>
    public (long Completed, long Cancelled, long Failed) Counts => (Interlocked.Read(ref completed), Interlocked.Read(ref cancelled), Interlocked.Read(ref failed));

    /// <summary>A guess of the seconds until the queue has room again: the average run time times the queue's length, at least 1.</summary>
    public int RetryAfterSeconds => (int)Math.Clamp(Math.Ceiling(Volatile.Read(ref averageSeconds) * (queue.Count + 1)), 1, 600);

    /// <summary>Queues <paramref name="work"/>; null when the queue is full. The task ends as the work does (cancelled when the token fires first).</summary>
    public Task<T>? TryRun<T>(Func<CancellationToken, T> work, CancellationToken cancellationToken)
    {
        var item = new WorkItem<T>(work, CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, shutdown.Token));
        return queue.TryAdd(item) ? item.Task : null;
    }

    /// <summary>Cancels the running and waiting work and waits for the thread to end, so the model can be disposed after.</summary>
    public void Dispose()
    {
        queue.CompleteAdding();
        shutdown.Cancel();
        thread.Join();
        queue.Dispose();
        shutdown.Dispose();
    }

    private void Loop()
    {
        foreach (var item in queue.GetConsumingEnumerable())
        {
            if (item.IsCancelled)
            {
                item.Cancel();
                Interlocked.Increment(ref cancelled);
                continue;
            }

            Volatile.Write(ref running, 1);
            var clock = Stopwatch.StartNew();
            var outcome = item.Run();
            Volatile.Write(ref running, 0);
            switch (outcome)
            {
                case WorkOutcome.Completed:
                    Interlocked.Increment(ref completed);
                    Volatile.Write(ref averageSeconds, (0.8 * Volatile.Read(ref averageSeconds)) + (0.2 * clock.Elapsed.TotalSeconds));
                    break;
                case WorkOutcome.Cancelled:
                    Interlocked.Increment(ref cancelled);
                    break;
                default:
                    Interlocked.Increment(ref failed);
                    break;
            }
        }
    }

    private enum WorkOutcome
    {
        Completed,
        Cancelled,
        Failed,
    }

    private interface IWorkItem
    {
        bool IsCancelled { get; }

        void Cancel();

        WorkOutcome Run();
    }

    private sealed class WorkItem<T>(Func<CancellationToken, T> work, CancellationTokenSource cancellation) : IWorkItem
    {
        private readonly TaskCompletionSource<T> completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly CancellationToken cancellationToken = cancellation.Token;

        public Task<T> Task => completion.Task;

        public bool IsCancelled => cancellationToken.IsCancellationRequested;

        public void Cancel()
        {
            completion.TrySetCanceled(cancellationToken);
            cancellation.Dispose();
        }

        public WorkOutcome Run()
        {
            try
            {
                completion.TrySetResult(work(cancellationToken));
                return WorkOutcome.Completed;
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                Cancel();
                return WorkOutcome.Cancelled;
            }
            catch (Exception ex)
            {
                completion.TrySetException(ex);
                return WorkOutcome.Failed;
            }
            finally
            {
                cancellation.Dispose();
            }
        }
    }
}
