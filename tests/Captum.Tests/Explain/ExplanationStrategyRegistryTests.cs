using Captum.Explain;
using Captum.Plugins;
using Xunit;

namespace Captum.Tests.Explain;

public sealed class ExplanationStrategyRegistryTests
{
    [Fact]
    public void BuiltIn_Names_AreTheFourMethodsLayerIgFirst()
    {
        Assert.Equal(["layer-ig", "interpretable-embedding", "gradient-x-activation", "occlusion"], ExplanationStrategies.BuiltIn.Names);
        Assert.Same(ExplanationStrategies.Occlusion, ExplanationStrategies.BuiltIn.Get("occlusion"));
        Assert.All(ExplanationStrategies.BuiltIn.Strategies, s => Assert.False(string.IsNullOrWhiteSpace(s.Description)));
    }

    [Fact]
    public void Get_UnknownName_ThrowsNamingTheArgumentAndListingTheKnownNames()
    {
        var ex = Assert.Throws<ArgumentException>(() => ExplanationStrategies.BuiltIn.Get("magic", "--method"));

        Assert.Equal("--method", ex.ParamName);
        Assert.StartsWith("--method: unknown method 'magic'; choose from layer-ig, interpretable-embedding, gradient-x-activation, occlusion.", ex.Message, StringComparison.Ordinal);
        Assert.Null(ExplanationStrategies.BuiltIn.Find("Layer-IG"));
    }

    [Fact]
    public void Constructor_DuplicateName_KeepsTheFirstAndListsTheLaterAsIgnored()
    {
        var impostor = new NamedStrategy("occlusion");
        var extra = new NamedStrategy("extra");

        var registry = new ExplanationStrategyRegistry([.. ExplanationStrategies.BuiltIn.Strategies, impostor, extra]);

        Assert.Same(ExplanationStrategies.Occlusion, registry.Get("occlusion"));
        Assert.Same(extra, registry.Get("extra"));
        Assert.Same(impostor, Assert.Single(registry.Ignored));
        Assert.Equal(5, registry.Strategies.Count);
    }

    [Fact]
    public void Constructor_StrategyWithoutName_Throws()
    {
        var ex = Assert.Throws<ArgumentException>(() => new ExplanationStrategyRegistry([new NamedStrategy(" ")]));

        Assert.Equal("strategies", ex.ParamName);
    }

    private sealed class NamedStrategy(string name) : IExplanationStrategy
    {
        public string Name => name;

        public string Description => "a test strategy";

        public Explanation Explain(IInterpretableModel model, PreparedInput input, ExplanationOptions options, CancellationToken cancellationToken = default) =>
            throw new NotSupportedException();
    }
}
