using System.Text.RegularExpressions;

namespace Captum.Tests.Docs;

/// <summary>
/// A ```csharp block of a markdown file, with the annotations of the HTML comments right above its fence (blank lines
/// between them allowed): <c>&lt;!-- not compiled: REASON --&gt;</c>, <c>&lt;!-- continues the block above --&gt;</c>
/// and <c>&lt;!-- given: DECLARATIONS --&gt;</c> (<see cref="DocSnippetCompiler"/> says what they mean).
/// </summary>
/// <param name="Doc">The markdown file, as reported (relative to the repository).</param>
/// <param name="Line">The 1-based line of the block's first code line in <paramref name="Doc"/>.</param>
/// <param name="Code">The block's code, without the fence's indentation (a block of a list item).</param>
/// <param name="NotCompiledReason">Why the block is not compiled, or null when it is.</param>
/// <param name="Continues">Whether the block is compiled after the block above it (its variables and types in scope).</param>
/// <param name="Given">The declarations of a <c>given:</c> comment, or null.</param>
/// <param name="GivenLine">The 1-based line where <paramref name="Given"/>'s text starts.</param>
internal sealed record DocSnippet(string Doc, int Line, string Code, string? NotCompiledReason, bool Continues, string? Given, int GivenLine);

/// <summary>Reads the ```csharp blocks of a markdown file and their annotations.</summary>
internal static partial class DocSnippets
{
    public const string NotCompiled = "not compiled:";
    public const string ContinuesTheBlockAbove = "continues the block above";
    public const string GivenPrefix = "given:";

    /// <summary>
    /// The markdown files whose C# blocks a reader copies: every .md under docs/, README.md and src/package-readme.md,
    /// relative to <paramref name="root"/> with '/' separators, in ordinal order.
    /// </summary>
    public static IReadOnlyList<string> DocFiles(string root) =>
        Directory.EnumerateFiles(Path.Combine(root, "docs"), "*.md", SearchOption.AllDirectories)
            .Append(Path.Combine(root, "README.md"))
            .Append(Path.Combine(root, "src", "package-readme.md"))
            .Select(f => Path.GetRelativePath(root, f).Replace('\\', '/'))
            .Order(StringComparer.Ordinal)
            .ToList();

    /// <summary>The C# blocks (info string csharp, cs or c#) of <paramref name="markdown"/>, in order.</summary>
    /// <exception cref="FormatException">An annotation is malformed: a <c>not compiled:</c> without a reason, an empty <c>given:</c>, or a fence never closed.</exception>
    public static IReadOnlyList<DocSnippet> Parse(string doc, string markdown)
    {
        var lines = markdown.ReplaceLineEndings("\n").Split('\n');
        var snippets = new List<DocSnippet>();
        for (var i = 0; i < lines.Length; i++)
        {
            var open = FenceOpen().Match(lines[i]);
            if (!open.Success)
            {
                continue;
            }

            var indent = open.Groups["indent"].Length;
            var fence = open.Groups["fence"].Value;
            var language = open.Groups["info"].Value.Trim().Split(' ', 2)[0];
            var close = i + 1;
            while (close < lines.Length && !IsFenceClose(lines[close], fence))
            {
                close++;
            }

            if (close == lines.Length)
            {
                throw new FormatException($"{doc}:{i + 1}: a code fence that is never closed");
            }

            if (language is "csharp" or "cs" or "c#")
            {
                var code = string.Join("\n", lines[(i + 1)..close].Select(l => Unindent(l, indent))) + "\n";
                snippets.Add(Annotate(doc, lines, i, code));
            }

            i = close;
        }

        return snippets;
    }

    private static DocSnippet Annotate(string doc, string[] lines, int fenceIndex, string code)
    {
        string? reason = null;
        string? given = null;
        var givenLine = 0;
        var continues = false;
        foreach (var (text, line) in CommentsAbove(lines, fenceIndex))
        {
            if (text.StartsWith(NotCompiled, StringComparison.Ordinal))
            {
                reason = text[NotCompiled.Length..].Trim();
                if (reason.Length == 0)
                {
                    throw new FormatException($"{doc}:{line}: '<!-- {NotCompiled} -->' without a reason");
                }
            }
            else if (text.StartsWith(ContinuesTheBlockAbove, StringComparison.Ordinal))
            {
                continues = true;
            }
            else if (text.StartsWith(GivenPrefix, StringComparison.Ordinal))
            {
                given = text[GivenPrefix.Length..];
                givenLine = line;
                if (given.Trim().Length == 0)
                {
                    throw new FormatException($"{doc}:{line}: '<!-- {GivenPrefix} -->' without declarations");
                }
            }
        }

        return new DocSnippet(doc, fenceIndex + 2, code, reason, continues, given, givenLine);
    }

    /// <summary>The HTML comments that stand alone on the lines above <paramref name="fenceIndex"/> (nearest last is fine: order does not matter), with the 1-based line where each one's text starts.</summary>
    private static IEnumerable<(string Text, int Line)> CommentsAbove(string[] lines, int fenceIndex)
    {
        var i = fenceIndex - 1;
        while (i >= 0)
        {
            if (lines[i].Trim().Length == 0)
            {
                i--;
                continue;
            }

            if (!lines[i].TrimEnd().EndsWith("-->", StringComparison.Ordinal))
            {
                yield break;
            }

            var start = i;
            while (start >= 0 && !lines[start].Contains("<!--", StringComparison.Ordinal))
            {
                start--;
            }

            if (start < 0 || !lines[start].TrimStart().StartsWith("<!--", StringComparison.Ordinal))
            {
                yield break;
            }

            var text = string.Join("\n", lines[start..(i + 1)]).Trim();
            yield return (text["<!--".Length..^"-->".Length].Trim(), start + 1);
            i = start - 1;
        }
    }

    private static bool IsFenceClose(string line, string fence)
    {
        var trimmed = line.Trim();
        return trimmed.Length >= fence.Length && trimmed.All(c => c == fence[0]);
    }

    private static string Unindent(string line, int indent)
    {
        var spaces = 0;
        while (spaces < indent && spaces < line.Length && line[spaces] == ' ')
        {
            spaces++;
        }

        return line[spaces..];
    }

    [GeneratedRegex(@"^(?<indent>[ ]*)(?<fence>`{3,}|~{3,})(?<info>[^`]*)$")]
    private static partial Regex FenceOpen();
}
