using Captum.Attr;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Captum.Tests.Attr.Models;

public sealed class TokenReferenceBaseTests
{
    [Theory]
    [InlineData(0, 5)]
    [InlineData(7, 3)]
    [InlineData(1, 0)]
    public void GenerateReference_Length_RepeatsTheReferenceToken(long token, long length)
    {
        using var scope = torch.NewDisposeScope();
        var reference = new TokenReferenceBase(token).GenerateReference(length, torch.CPU);

        Assert.Equal(ScalarType.Int64, reference.dtype);
        Assert.Equal([length], reference.shape);
        Assert.All(reference.data<long>().ToArray(), t => Assert.Equal(token, t));
    }

    [Fact]
    public void GenerateReference_NegativeLength_Throws()
    {
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => new TokenReferenceBase().GenerateReference(-1));
        Assert.Equal("sequenceLength", ex.ParamName);
    }
}
