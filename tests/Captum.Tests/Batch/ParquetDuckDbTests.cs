using System.Globalization;
using Captum.Batch;
using DuckDB.NET.Data;
using Xunit;
using static Captum.Tests.Batch.BatchTestSupport;

namespace Captum.Tests.Batch;

/// <summary>docs/scale.md's promise that DuckDB reads the output as it is: the shards' parts while a run goes on, and the merged file.</summary>
public sealed class ParquetDuckDbTests(ScenesModelFixture scenes) : IClassFixture<ScenesModelFixture>
{
    [Fact]
    public async Task DuckDb_MergedFileAndShardParts_ReadTheRowsParquetNetWrote()
    {
        using var temp = new TempFolder();
        var out_ = Path.Combine(temp.Path, "out");
        var spec = Spec(3, shards: 2);
        await Run(out_, spec, new ShardAssignment(0, 2), scenes.Model, new() { RowGroupSize = 1 });
        await Run(out_, spec, new ShardAssignment(1, 2), scenes.Model, new() { RowGroupSize = 1 });
        var merged = Path.Combine(temp.Path, "merged.parquet");
        Assert.True((await ResultMerger.MergeAsync(out_, merged)).Complete);
        var rows = await DatasetAttribution.ReadPartAsync(merged);

        using var connection = new DuckDBConnection("DataSource=:memory:");
        connection.Open();
        var fromMerged = Query(connection, $"SELECT index, exampleId, prediction, probability, delta, error, len(inputs), inputs[1].input, len(inputs[1].scores), inputs[1].contribution FROM '{merged}' ORDER BY index");
        var fromParts = Query(connection, $"SELECT index, exampleId, prediction, probability, delta, error, len(inputs), inputs[1].input, len(inputs[1].scores), inputs[1].contribution FROM '{out_}/shard-*/part-*.parquet' ORDER BY index");

        var expected = rows.Select(r => Line(r.Index, r.ExampleId, r.Prediction, r.Probability, r.Delta, r.Error, r.Inputs.Count, r.Inputs[0].Input, r.Inputs[0].Scores.Count, r.Inputs[0].Contribution)).ToList();
        Assert.Equal(3, expected.Count);
        Assert.Equal(expected, fromMerged);
        Assert.Equal(expected, fromParts);
    }

    private static List<string> Query(DuckDBConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        using var reader = command.ExecuteReader();
        var lines = new List<string>();
        while (reader.Read())
        {
            lines.Add(Line([.. Enumerable.Range(0, reader.FieldCount).Select(i => reader.IsDBNull(i) ? null : reader.GetValue(i))]));
        }

        return lines;
    }

    /// <summary>A row's values as one line: numbers invariant (doubles round-trip), null as "null".</summary>
    private static string Line(params object?[] values) =>
        string.Join(" | ", values.Select(v => v switch
        {
            null => "null",
            double d => d.ToString("R", CultureInfo.InvariantCulture),
            IConvertible c => Convert.ToString(c, CultureInfo.InvariantCulture),
            _ => v.ToString(),
        }));
}
