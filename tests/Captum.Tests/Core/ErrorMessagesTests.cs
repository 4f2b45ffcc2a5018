using System.Runtime.InteropServices;
using Xunit;

namespace Captum.Tests.Core;

public sealed class ErrorMessagesTests
{
    [Fact]
    public void OneLine_ArgumentException_DropsDotNetsParameterSuffix()
    {
        var ex = new ArgumentException("steps must be at least 1, not 0.", "steps");

        Assert.Equal("steps must be at least 1, not 0.", ErrorMessages.OneLine(ex));
    }

    [Fact]
    public void OneLine_MessageBuiltFromAnInnerArgumentMessage_DropsEverySuffixAndKeepsTheRest()
    {
        var inner = new ArgumentException("[2, 3] on the inputs", "inputs");
        var ex = new ArgumentException($"baselines: {inner.Message} but [4, 3] here", "baselines");

        Assert.Equal("baselines: [2, 3] on the inputs but [4, 3] here", ErrorMessages.OneLine(ex));
    }

    [Fact]
    public void OneLine_LibtorchError_KeepsOnlyItsFirstLine()
    {
        var ex = new ExternalException("shape '[2]' is invalid for input of size 3\nException raised from view at aten/...\nframe #0: c10::Error");

        Assert.Equal("shape '[2]' is invalid for input of size 3", ErrorMessages.OneLine(ex));
    }

    [Fact]
    public void ForUser_LibtorchErrorAndOurs_OnlyLibtorchsSaySo()
    {
        var libtorch = new ExternalException("shape '[2]' is invalid for input of size 3\nframe #0: c10::Error");
        var ours = new ArgumentException("steps: must be at least 1.", "steps");

        Assert.Equal("libtorch: shape '[2]' is invalid for input of size 3", ErrorMessages.ForUser(libtorch));
        Assert.Equal("steps: must be at least 1.", ErrorMessages.ForUser(ours));
    }

    [Fact]
    public void OneLine_MultilineMessage_FoldsLinesIntoOne()
    {
        var ex = new InvalidOperationException("first\r\nsecond\n");

        Assert.Equal("first second", ErrorMessages.OneLine(ex));
    }

    [Fact]
    public void Renamed_MessageStartingWithItsOwnName_SaysTheNewNameOnceAndKeepsTheInner()
    {
        var inner = new ArgumentException("checkpoint: config.json has no n_embd.", "checkpoint");

        var renamed = ErrorMessages.Renamed(inner, "story-model", "story-model");

        Assert.Equal("story-model", renamed.ParamName);
        Assert.Equal("story-model: config.json has no n_embd.", ErrorMessages.OneLine(renamed));
        Assert.Same(inner, renamed.InnerException);
    }

    [Fact]
    public void Bare_MessageNotStartingWithItsName_IsKeptWhole()
    {
        var ex = new ArgumentException("the prompt is empty.", "prompt");

        Assert.Equal("the prompt is empty.", ErrorMessages.Bare(ex));
    }
}
