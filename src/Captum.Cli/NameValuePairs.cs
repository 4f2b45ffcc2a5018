namespace Captum.Cli;

/// <summary>Options given as NAME=VALUE (<c>--input</c>, <c>--setting</c>, <c>--model-file</c>, ...).</summary>
internal static class NameValuePairs
{
    /// <summary>The pairs of <paramref name="values"/>, by name.</summary>
    /// <exception cref="ArgumentException">A value without a name and '=', or a name given twice; the message names <c>--<paramref name="option"/></c>.</exception>
    public static Dictionary<string, string> Parse(string[]? values, string option)
    {
        var pairs = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var value in values ?? [])
        {
            var equals = value.IndexOf('=', StringComparison.Ordinal);
            if (equals <= 0)
            {
                throw new ArgumentException($"--{option} takes NAME=VALUE, not '{value}'.");
            }

            if (!pairs.TryAdd(value[..equals], value[(equals + 1)..]))
            {
                throw new ArgumentException($"--{option} gives '{value[..equals]}' twice.");
            }
        }

        return pairs;
    }
}
