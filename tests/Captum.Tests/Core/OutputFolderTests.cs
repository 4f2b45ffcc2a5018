using Captum.Plugins;
using Xunit;

namespace Captum.Tests.Core;

public sealed class OutputFolderTests
{
    [Fact]
    public void Check_FolderThatIsAFile_ThrowsNamingTheOption()
    {
        using var temp = new TempFolder();
        var file = Path.Combine(temp.Path, "taken");
        File.WriteAllText(file, "mine");

        var ex = Assert.Throws<ArgumentException>(() => OutputFolder.Check("out", file, "report.html"));

        Assert.Equal("out", ex.ParamName);
        Assert.StartsWith("--out: ", ex.Message, StringComparison.Ordinal);
        Assert.Equal("mine", File.ReadAllText(file));
    }

    [Fact]
    public void Check_OutputFileThatIsAFolder_ThrowsNamingTheFile()
    {
        using var temp = new TempFolder();
        Directory.CreateDirectory(Path.Combine(temp.Path, "report.html"));

        var ex = Assert.Throws<ArgumentException>(() => OutputFolder.Check("out", temp.Path, "report.html"));

        Assert.Contains("report.html cannot be written", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Check_FolderUnderAFile_ThrowsBeforeMakingAnything()
    {
        using var temp = new TempFolder();
        File.WriteAllText(Path.Combine(temp.Path, "plain"), string.Empty);

        var ex = Assert.Throws<ArgumentException>(() => OutputFolder.Check("out", Path.Combine(temp.Path, "plain", "deeper", "out"), "report.html"));

        Assert.Contains("is a file, so the folder", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Check_NewFolderInAWritablePlace_PassesAndMakesNothing()
    {
        using var temp = new TempFolder();
        var folder = Path.Combine(temp.Path, "new", "out");

        OutputFolder.Check("out", folder, "report.html", "result.json");

        Assert.Empty(Directory.EnumerateFileSystemEntries(temp.Path));
    }

    [Fact]
    public void Check_FolderWhereNothingCanBeWritten_ThrowsNamingTheOption()
    {
        // /proc refuses new files even to root, so this holds whoever runs the tests.
        var ex = Assert.Throws<ArgumentException>(() => OutputFolder.Check("out", "/proc/captum-output-test", "report.html"));

        Assert.Equal("out", ex.ParamName);
        Assert.StartsWith("--out: cannot write in /proc", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void CheckFile_PathThatIsAFolder_ThrowsNamingTheOption()
    {
        using var temp = new TempFolder();

        var ex = Assert.Throws<ArgumentException>(() => OutputFolder.CheckFile("json", temp.Path));

        Assert.Equal("json", ex.ParamName);
        Assert.StartsWith($"--json: {temp.Path} is a folder, not a file.", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void CheckFile_FileUnderAFile_ThrowsBeforeMakingAnything()
    {
        using var temp = new TempFolder();
        File.WriteAllText(Path.Combine(temp.Path, "plain"), "mine");

        var ex = Assert.Throws<ArgumentException>(() => OutputFolder.CheckFile("json", Path.Combine(temp.Path, "plain", "deeper", "out.json")));

        Assert.StartsWith("--json: ", ex.Message, StringComparison.Ordinal);
        Assert.Contains("is a file, so the folder", ex.Message, StringComparison.Ordinal);
        Assert.Equal("mine", File.ReadAllText(Path.Combine(temp.Path, "plain")));
    }

    [Fact]
    public void CheckFile_FileWhereNothingCanBeWritten_ThrowsNamingTheOption()
    {
        // /proc refuses new files even to root, so this holds whoever runs the tests.
        var ex = Assert.Throws<ArgumentException>(() => OutputFolder.CheckFile("json", "/proc/self/captum-output-test.json"));

        Assert.Equal("json", ex.ParamName);
        Assert.StartsWith("--json: cannot write in /proc", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void CheckFile_NewFileInNewFoldersOfAWritablePlace_PassesAndMakesNothing()
    {
        using var temp = new TempFolder();

        OutputFolder.CheckFile("json", Path.Combine(temp.Path, "new", "deeper", "out.json"));

        Assert.Empty(Directory.EnumerateFileSystemEntries(temp.Path));
    }

    [Fact]
    public void CheckFile_ExistingFile_PassesAndLeavesItAsItWas()
    {
        using var temp = new TempFolder();
        var file = Path.Combine(temp.Path, "out.json");
        File.WriteAllText(file, "mine");

        OutputFolder.CheckFile("json", file);

        Assert.Equal("mine", File.ReadAllText(file));
        Assert.Single(Directory.EnumerateFileSystemEntries(temp.Path));
    }

    [Fact]
    public void WriteFile_FileInNewFolders_MakesThemAndWritesIt()
    {
        using var temp = new TempFolder();
        var file = Path.Combine(temp.Path, "new", "deeper", "out.json");

        OutputFolder.WriteFile(file, "{}\n");

        Assert.Equal("{}\n", File.ReadAllText(file));
    }
}
