using System.Collections.Concurrent;
using System.Diagnostics;

namespace Captum.Insights;

/// <summary>
/// Runs the work on one model, one item at a time, on a thread of its own: TorchSharp modules with hooks must
/// never run two attributions at once. Requests wait in a bounded queue; a full queue refuses at once (the caller
/// answers 503 with <see cref="RetryAfterSeconds"/>). A request cancelled while it waits is dropped unstarted; one
/// cancelled while it runs stops at the method's next cancellation check, and the queue moves on. Work that throws is
/// counted as refused when the exception is the work's refusal of its input (<c>isRefusal</c>), else as failed.
/// </summary>
internal sealed class ModelWorker : IDisposable
{
    private readonly BlockingCollection<IWorkItem> queue;
    private readonly Thread thread;
    private readonly CancellationTokenSource shutdown = new();
    private readonly Lock gate = new();
    private readonly Func<Exception, bool> isRefusal;
    private bool stopping;
    private bool disposed;
    private long completed;
    private long cancelled;
    private long failed;
    private long refused;
    private double averageSeconds = 1;
    private int running;

    /// <summary>Starts the worker's thread.</summary>
    /// <param name="name">The model's name, for the thread's.</param>
    /// <param name="capacity">The requests that may wait.</param>
    /// <param name="isRefusal">Whether an exception of the work is its refusal of bad input (counted as refused, not failed); default none is.</param>
    public ModelWorker(string name, int capacity, Func<Exception, bool>? isRefusal = null)
    {
        this.isRefusal = isRefusal ?? (_ => false);
        queue = new BlockingCollection<IWorkItem>(capacity);
        thread = new Thread(Loop) { IsBackground = true, Name = $"insights: {name}" };
        thread.Start();
    }

    /// <summary>How long <see cref="Stop"/> waits for the running item to notice its cancellation.</summary>
    public static TimeSpan JoinTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Requests waiting (not counting the running one); 0 once stopped.</summary>
    public int Queued
    {
        get
        {
            lock (gate)
            {
                return disposed ? 0 : queue.Count;
            }
        }
    }

    /// <summary>Whether the worker has been told to stop (it takes no more work).</summary>
    public bool Stopping => Volatile.Read(ref stopping);

    /// <summary>Whether an item is running.</summary>
    public bool Busy => Volatile.Read(ref running) == 1;

    /// <summary>Items finished, cancelled, failed and refused (bad input) so far.</summary>
    public (long Completed, long Cancelled, long Failed, long Refused) Counts =>
        (Interlocked.Read(ref completed), Interlocked.Read(ref cancelled), Interlocked.Read(ref failed), Interlocked.Read(ref refused));

    /// <summary>A guess of the seconds until the queue has room again: the average run time times the queue's length, at least 1.</summary>
    public int RetryAfterSeconds => (int)Math.Clamp(Math.Ceiling(Volatile.Read(ref averageSeconds) * (Queued + 1)), 1, 600);

    /// <summary>
    /// Queues <paramref name="work"/>; null when the queue is full or the worker is stopping. The task ends as the
    /// work does (cancelled when the token fires first).
    /// </summary>
    public Task<T>? TryRun<T>(Func<CancellationToken, T> work, CancellationToken cancellationToken)
    {
        lock (gate)
        {
            if (stopping)
            {
                return null;
            }

            var cancellation = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, shutdown.Token);
            var item = new WorkItem<T>(work, cancellation);
            if (queue.TryAdd(item))
            {
                return item.Task;
            }

            cancellation.Dispose();
            return null;
        }
    }

    /// <summary>Cancels the running and waiting work and refuses new work; the thread ends soon after. Safe to call more than once.</summary>
    public void Cancel()
    {
        lock (gate)
        {
            if (stopping)
            {
                return;
            }

            stopping = true;
            queue.CompleteAdding();
            shutdown.Cancel();
        }
    }

    /// <summary>
    /// Cancels the running and waiting work and waits (at most <see cref="JoinTimeout"/>) for the thread to end, so
    /// the model can be disposed after. Returns whether the thread ended; when it did not (a method that does not
    /// check its token), the queue and the model must be left alone.
    /// </summary>
    public bool Stop()
    {
        Cancel();
        if (!thread.Join(JoinTimeout))
        {
            return false;
        }

        lock (gate)
        {
            if (!disposed)
            {
                disposed = true;
                queue.Dispose();
                shutdown.Dispose();
            }
        }

        return true;
    }

    /// <inheritdoc cref="Stop"/>
    public void Dispose() => Stop();

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
            item.Run(isRefusal, outcome =>
            {
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
                    case WorkOutcome.Refused:
                        Interlocked.Increment(ref refused);
                        break;
                    default:
                        Interlocked.Increment(ref failed);
                        break;
                }
            });
        }
    }

    private enum WorkOutcome
    {
        Completed,
        Cancelled,
        Failed,
        Refused,
    }

    private interface IWorkItem
    {
        bool IsCancelled { get; }

        void Cancel();

        /// <summary>Runs the work, hands its outcome to <paramref name="record"/>, then completes the request: the counts agree with every answer given.</summary>
        void Run(Func<Exception, bool> isRefusal, Action<WorkOutcome> record);
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

        public void Run(Func<Exception, bool> isRefusal, Action<WorkOutcome> record)
        {
            T result = default!;
            Exception? error = null;
            WorkOutcome outcome;
            try
            {
                result = work(cancellationToken);
                outcome = WorkOutcome.Completed;
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                outcome = WorkOutcome.Cancelled;
            }
            catch (Exception ex)
            {
                error = ex;
                outcome = isRefusal(ex) ? WorkOutcome.Refused : WorkOutcome.Failed;
            }

            try
            {
                record(outcome);
            }
            finally
            {
                switch (outcome)
                {
                    case WorkOutcome.Completed:
                        completion.TrySetResult(result);
                        break;
                    case WorkOutcome.Cancelled:
                        completion.TrySetCanceled(cancellationToken);
                        break;
                    default:
                        completion.TrySetException(error!);
                        break;
                }

                cancellation.Dispose();
            }
        }
    }
}
