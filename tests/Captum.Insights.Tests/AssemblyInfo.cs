using Xunit;

// The tests time runs, cancellations and full queues of servers that share two cores; one class at a time keeps
// those timings far from their limits.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
