using System.Diagnostics;
using System.Text.Json.Serialization;
using Captum.Batch;

namespace Captum.Plugins.Vqa.Scenes;

/// <summary>What <see cref="AttributionQualityShards.ReportAsync"/> found in a vqa-eval output folder.</summary>
/// <param name="Spec">The run's spec (its run.json).</param>
/// <param name="Status">Which scenes are present and which are missing, per shard.</param>
/// <param name="Report">The report of the whole run; null when scenes are missing.</param>
public sealed record AttributionQualityFolder(AttributionQualityRunSpec Spec, ShardedRunStatus Status, AttributionQualityReport? Report);
