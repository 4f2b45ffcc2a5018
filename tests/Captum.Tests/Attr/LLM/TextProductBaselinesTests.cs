using Captum.Attr;
using Captum.Golden;
using Captum.Plugins.TextGeneration.Model;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Captum.Tests.Attr.LLM;

/// <summary>
/// <see cref="TextProductBaselines"/>: its draws, its argument checks, and its use as a <see cref="TextTemplateInput"/>'s
/// baselines, alone and through LLMAttribution on the small GPT-2 of <see cref="LLMAttributionTests"/>.
/// </summary>
public sealed class TextProductBaselinesTests
{
    private const string Template = "{name} went to the {place} . where is {who} ?";

    private static Dictionary<string, string> Values() => new() { ["name"] = "mary", ["place"] = "garden", ["who"] = "mary" };

    private static TextProductBaselines Named(int seed) => new(seed)
    {
        { ["name", "who"], [["john", "john"], ["mary", "john"]] },
        { "place", ["kitchen", "garden", ""] },
    };

    // ---------------------------------------------------------------- draws

    [Fact]
    public void Sample_ManyDraws_CoverThePositionalProductNearlyUniformly()
    {
        var product = new TextProductBaselines([["a", "b"], ["x", "y", "z"]], seed: 3);
        var counts = new Dictionary<string, int>();
        for (var i = 0; i < 6000; i++)
        {
            var key = string.Join(" ", product.Sample());
            counts[key] = counts.GetValueOrDefault(key) + 1;
        }

        Assert.Equal(6L, product.Count);
        Assert.Equal(["a x", "a y", "a z", "b x", "b y", "b z"], counts.Keys.Order(StringComparer.Ordinal));
        // Binomial(6000, 1/6): standard deviation about 29; 150 is more than 5 of them.
        Assert.All(counts.Values, c => Assert.InRange(c, 1000 - 150, 1000 + 150));
    }

    [Fact]
    public void SampleNamed_ManyDraws_CoverTheNamedProductNearlyUniformlyAndKeepGroupsTogether()
    {
        var product = new TextProductBaselines(seed: 4)
        {
            { ["name", "pronoun"], [["Sarah", "her"], ["John", "his"]] },
            { "city", ["Seattle", "Boston"] },
        };
        var counts = new Dictionary<string, int>();
        for (var i = 0; i < 4000; i++)
        {
            var sample = product.SampleNamed();
            Assert.Equal(["city", "name", "pronoun"], sample.Keys.Order(StringComparer.Ordinal));
            Assert.Equal(sample["name"] == "Sarah" ? "her" : "his", sample["pronoun"]);
            var key = sample["name"] + " " + sample["city"];
            counts[key] = counts.GetValueOrDefault(key) + 1;
        }

        Assert.Equal(4L, product.Count);
        Assert.Equal(["name", "pronoun", "city"], product.Names);
        Assert.Equal(4, counts.Count);
        // Binomial(4000, 1/4): standard deviation about 27; 150 is more than 5 of them.
        Assert.All(counts.Values, c => Assert.InRange(c, 1000 - 150, 1000 + 150));
    }

    [Fact]
    public void Sample_SameSeed_SameSequenceAndAnotherSeedAnother()
    {
        static List<string> Draws(TextProductBaselines p) => Enumerable.Range(0, 40).Select(_ => string.Join(" ", p.IsNamed ? p.SampleNamed().Values : p.Sample())).ToList();

        Assert.Equal(Draws(new TextProductBaselines([["a", "b", "c"], ["x", "y"]], seed: 11)), Draws(new TextProductBaselines([["a", "b", "c"], ["x", "y"]], seed: 11)));
        Assert.NotEqual(Draws(new TextProductBaselines([["a", "b", "c"], ["x", "y"]], seed: 11)), Draws(new TextProductBaselines([["a", "b", "c"], ["x", "y"]], seed: 12)));
        Assert.Equal(Draws(Named(5)), Draws(Named(5)));
        Assert.NotEqual(Draws(Named(5)), Draws(Named(6)));
    }

    [Fact]
    public void SampleNamed_DrawnFromManyThreads_GivesTheDrawsOfOneThreadInSomeOrder()
    {
        var sequential = Named(8);
        var expected = Enumerable.Range(0, 2000).Select(_ => string.Join(" ", sequential.SampleNamed().Values)).Order(StringComparer.Ordinal);
        var shared = Named(8);
        var drawn = new System.Collections.Concurrent.ConcurrentBag<string>();

        Parallel.For(0, 2000, new ParallelOptions { MaxDegreeOfParallelism = 4 }, _ => drawn.Add(string.Join(" ", shared.SampleNamed().Values)));

        Assert.Equal(expected, drawn.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void SampleAndSampleNamed_TheOtherForm_ThrowInvalidOperation()
    {
        Assert.Throws<InvalidOperationException>(() => Named(1).Sample());
        Assert.Throws<InvalidOperationException>(() => new TextProductBaselines([["a"]]).SampleNamed());
    }

    [Fact]
    public void Add_ToAPositionalOrADrawnProduct_ThrowsInvalidOperation()
    {
        var positional = new TextProductBaselines([["a"]]);
        var drawn = Named(1);
        drawn.SampleNamed();

        Assert.Throws<InvalidOperationException>(() => positional.Add("city", ["Paris"]));
        Assert.Throws<InvalidOperationException>(() => drawn.Add("city", ["Paris"]));
    }

    // ---------------------------------------------------------------- argument checks

    [Fact]
    public void Constructor_EmptyListsOrANull_ThrowsNamingBaselineValues()
    {
        var none = Assert.Throws<ArgumentException>(() => new TextProductBaselines(Array.Empty<string[]>()));
        var empty = Assert.Throws<ArgumentException>(() => new TextProductBaselines([["a"], []]));
        var withNull = Assert.Throws<ArgumentException>(() => new TextProductBaselines([["a", null!]]));

        Assert.All([none, empty, withNull], e => Assert.Equal("baselineValues", e.ParamName));
        Assert.Contains("baselineValues[1] is empty", empty.Message, StringComparison.Ordinal);
        Assert.Contains("baselineValues[0][1]", withNull.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Add_EmptyChoicesOrNames_ThrowsNamingTheArgument()
    {
        var product = new TextProductBaselines();

        Assert.Equal("values", Assert.Throws<ArgumentException>(() => product.Add("city", [])).ParamName);
        Assert.Equal("values", Assert.Throws<ArgumentException>(() => product.Add(["name", "pronoun"], [])).ParamName);
        Assert.Equal("names", Assert.Throws<ArgumentException>(() => product.Add([], [["a"]])).ParamName);
        Assert.Equal("name", Assert.Throws<ArgumentException>(() => product.Add("", ["a"])).ParamName);
        Assert.Empty(product.Names);
    }

    [Fact]
    public void Add_AGroupChoiceOfTheWrongArity_ThrowsNamingValuesAndTheChoice()
    {
        var product = new TextProductBaselines();

        var error = Assert.Throws<ArgumentException>(() => product.Add(["name", "pronoun"], [["Sarah", "her"], ["John"]]));

        Assert.Equal("values", error.ParamName);
        Assert.Contains("values[1] has 1 string(s), but the group (name, pronoun) has 2", error.Message, StringComparison.Ordinal);
        Assert.Empty(product.Names);
    }

    [Fact]
    public void Add_ANameGivenTwice_ThrowsNamingTheArgumentAndTheName()
    {
        var product = new TextProductBaselines { { ["name", "pronoun"], [["Sarah", "her"]] }, { "city", ["Boston"] } };

        var alone = Assert.Throws<ArgumentException>(() => product.Add("city", ["Seattle"]));
        var inGroup = Assert.Throws<ArgumentException>(() => product.Add(["age", "pronoun"], [["40", "his"]]));
        var aloneAfterGroup = Assert.Throws<ArgumentException>(() => product.Add("name", ["John"]));
        var withinGroup = Assert.Throws<ArgumentException>(() => product.Add(["age", "age"], [["40", "41"]]));

        Assert.Equal("name", alone.ParamName);
        Assert.Contains("\"city\" already has baselines (alone)", alone.Message, StringComparison.Ordinal);
        Assert.Equal("names", inGroup.ParamName);
        Assert.Contains("\"pronoun\" already has baselines (in the group (name, pronoun))", inGroup.Message, StringComparison.Ordinal);
        Assert.Equal("name", aloneAfterGroup.ParamName);
        Assert.Equal("names", withinGroup.ParamName);
        Assert.Contains("\"age\" is given twice", withinGroup.Message, StringComparison.Ordinal);
        Assert.Equal(["name", "pronoun", "city"], product.Names);
    }

    // ---------------------------------------------------------------- TextTemplateInput

    [Fact]
    public void ToText_NamedProduct_RemovedValuesTakeOneDrawnElementWithGroupsTogether()
    {
        var input = new TextTemplateInput(Template, Values(), new TextTemplateOptions { BaselineProduct = Named(2) });
        var replay = Named(2);
        using var allRemoved = torch.zeros(1, 3);
        using var nameRemoved = torch.tensor(new float[,] { { 0, 1, 1 } });

        for (var i = 0; i < 20; i++)
        {
            var drawn = replay.SampleNamed();
            Assert.Equal($"{drawn["name"]} went to the {drawn["place"]} . where is {drawn["who"]} ?", input.ToText(allRemoved));
            Assert.Equal($"{replay.SampleNamed()["name"]} went to the garden . where is mary ?", input.ToText(nameRemoved));
        }

        Assert.Equal("mary went to the garden . where is mary ?", input.Prompt);
    }

    [Fact]
    public void ToText_PositionalProduct_RemovedValuesTakeTheDrawnStrings()
    {
        var input = new TextTemplateInput("{} went to the {}", ["mary", "garden"], new TextTemplateOptions { BaselineProduct = new TextProductBaselines([["john", "sam"], ["kitchen", "office"]], seed: 9) });
        var replay = new TextProductBaselines([["john", "sam"], ["kitchen", "office"]], seed: 9);
        using var placeRemoved = torch.tensor(new float[,] { { 1, 0 } });

        for (var i = 0; i < 10; i++)
        {
            Assert.Equal($"mary went to the {replay.Sample()[1]}", input.ToText(placeRemoved));
        }
    }

    [Fact]
    public void TextTemplateInput_NamedProductWithANameTheTemplateLacks_ThrowsNamingBaselineProductAndLeavesItOpen()
    {
        var product = Named(1);
        product.Add("city", ["Boston"]);

        var error = Assert.Throws<ArgumentException>(() => new TextTemplateInput(Template, Values(), new TextTemplateOptions { BaselineProduct = product }));

        Assert.Equal("BaselineProduct", error.ParamName);
        Assert.Contains("\"city\", which the template has no value of", error.Message, StringComparison.Ordinal);
        product.Add("age", ["40"]);   // a refused product is not fixed
    }

    [Fact]
    public void TextTemplateInput_NamedProductWithoutAValue_ThrowsNamingBaselineProductAndTheValue()
    {
        // As Captum, whose baselines[k] fails on a missing key: no fall-back to the empty string.
        var product = new TextProductBaselines { { "place", ["kitchen"] } };

        var error = Assert.Throws<ArgumentException>(() => new TextTemplateInput(Template, Values(), new TextTemplateOptions { BaselineProduct = product }));

        Assert.Equal("BaselineProduct", error.ParamName);
        Assert.Contains("no baseline for \"name\", \"who\"", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TextTemplateInput_BaselinesOfTheOtherForm_ThrowNamingTheOption()
    {
        var named = Values();
        string[] positional = ["mary", "garden", "mary"];
        const string PositionalTemplate = "{} went to the {} . where is {} ?";
        var dictionary = new Dictionary<string, string> { ["name"] = "john", ["place"] = "kitchen", ["who"] = "john" };
        (string Option, Func<TextTemplateInput> Make)[] cases =
        [
            ("BaselineProduct", () => new TextTemplateInput(PositionalTemplate, positional, new TextTemplateOptions { BaselineProduct = Named(1) })),
            ("BaselineProduct", () => new TextTemplateInput(Template, named, new TextTemplateOptions { BaselineProduct = new TextProductBaselines([["a"], ["b"], ["c"]]) })),
            ("NamedBaselines", () => new TextTemplateInput(PositionalTemplate, positional, new TextTemplateOptions { NamedBaselines = dictionary })),
            ("NamedBaselineFunction", () => new TextTemplateInput(PositionalTemplate, positional, new TextTemplateOptions { NamedBaselineFunction = () => dictionary })),
            ("Baselines", () => new TextTemplateInput(Template, named, new TextTemplateOptions { Baselines = ["a", "b", "c"] })),
            ("BaselineFunction", () => new TextTemplateInput(Template, named, new TextTemplateOptions { BaselineFunction = () => ["a", "b", "c"] })),
        ];

        foreach (var (option, make) in cases)
        {
            var error = Assert.Throws<ArgumentException>(() => make());
            Assert.Equal(option, error.ParamName);
            Assert.Contains(option + " gives baselines by", error.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void TextTemplateInput_PositionalProductOfAnotherLength_ThrowsNamingBaselineProduct()
    {
        var error = Assert.Throws<ArgumentException>(() => new TextTemplateInput("{} went to the {}", ["mary", "garden"], new TextTemplateOptions { BaselineProduct = new TextProductBaselines([["john"]]) }));

        Assert.Equal("BaselineProduct", error.ParamName);
        Assert.Contains("1 list(s) of choices, but there are 2 values", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TextTemplateInput_TwoBaselineOptions_ThrowsNamingTheSecond()
    {
        var error = Assert.Throws<ArgumentException>(() => new TextTemplateInput(
            Template,
            Values(),
            new TextTemplateOptions { NamedBaselines = new Dictionary<string, string> { ["name"] = "john", ["place"] = "kitchen", ["who"] = "john" }, BaselineProduct = Named(1) }));

        Assert.Equal("BaselineProduct", error.ParamName);
        Assert.Contains("NamedBaselines and BaselineProduct are both given", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ToText_NamedBaselineFunctionMissingOrAddingAName_ThrowsNamingIt()
    {
        var missing = new TextTemplateInput(Template, Values(), new TextTemplateOptions { NamedBaselineFunction = () => new Dictionary<string, string> { ["name"] = "john", ["who"] = "john" } });
        var extra = new TextTemplateInput(Template, Values(), new TextTemplateOptions { NamedBaselineFunction = () => new Dictionary<string, string> { ["name"] = "john", ["place"] = "kitchen", ["who"] = "john", ["city"] = "Boston" } });
        using var removed = torch.zeros(1, 3);

        var noPlace = Assert.Throws<ArgumentException>(() => missing.ToText(removed));
        var city = Assert.Throws<ArgumentException>(() => extra.ToText(removed));

        Assert.Equal("NamedBaselineFunction", noPlace.ParamName);
        Assert.Contains("no baseline for \"place\"", noPlace.Message, StringComparison.Ordinal);
        Assert.Equal("NamedBaselineFunction", city.ParamName);
        Assert.Contains("\"city\"", city.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ToText_NamedBaselineFunction_FillsRemovedValuesByName()
    {
        var input = new TextTemplateInput(Template, Values(), new TextTemplateOptions { NamedBaselineFunction = () => new Dictionary<string, string> { ["who"] = "sam", ["place"] = "kitchen", ["name"] = "john" } });
        using var whoRemoved = torch.tensor(new float[,] { { 1, 1, 0 } });

        Assert.Equal("mary went to the garden . where is sam ?", input.ToText(whoRemoved));
    }

    [Fact]
    public void TextTemplateInput_NamedBaselinesWithAnExtraName_ThrowsNamingNamedBaselines()
    {
        var error = Assert.Throws<ArgumentException>(() => new TextTemplateInput(
            Template,
            Values(),
            new TextTemplateOptions { NamedBaselines = new Dictionary<string, string> { ["name"] = "john", ["place"] = "kitchen", ["who"] = "john", ["city"] = "Boston" } }));

        Assert.Equal("NamedBaselines", error.ParamName);
        Assert.Contains("\"city\"", error.Message, StringComparison.Ordinal);
    }

    // ---------------------------------------------------------------- through LLMAttribution

    /// <summary>The small GPT-2 and its tokenizer, LLMAttribution with FeatureAblation over them, and options that skip the tokenizer's "&lt;s&gt;".</summary>
    private static (Gpt2LMHeadModel Model, WordTokenizer Tokenizer, LLMAttribution<FeatureAblationOptions> Method, LLMAttributionOptions<FeatureAblationOptions> Options) Ablation()
    {
        var (model, tokenizer) = LLMAttributionTests.Setup();
        return (model, tokenizer, LLMAttribution.FeatureAblation(model, tokenizer), new LLMAttributionOptions<FeatureAblationOptions> { SkipTokens = ["<s>"] });
    }

    [Fact]
    public void Attribute_FeatureAblationWithAOneElementProduct_EqualsTheSameFixedNamedBaselines()
    {
        using var scope = torch.NewDisposeScope();
        var (_, _, method, options) = Ablation();
        // The group's two names take different strings, so a group filled in the wrong order would show.
        var product = new TextProductBaselines(seed: 3) { { ["name", "who"], [["john", "mary"]] }, { "place", ["kitchen"] } };
        var fixedBaselines = new Dictionary<string, string> { ["name"] = "john", ["who"] = "mary", ["place"] = "kitchen" };

        using var drawn = method.Attribute(new TextTemplateInput(Template, Values(), new TextTemplateOptions { BaselineProduct = product }), "garden", options);
        using var fixedResult = method.Attribute(new TextTemplateInput(Template, Values(), new TextTemplateOptions { NamedBaselines = fixedBaselines }), "garden", options);

        TensorAssert.AllClose(drawn.SequenceAttribution, fixedResult.SequenceAttribution, 0, 0);
        TensorAssert.AllClose(drawn.TokenAttribution!, fixedResult.TokenAttribution!, 0, 0);
        Assert.Equal(1L, product.Count);
    }

    [Fact]
    public void Attribute_FeatureAblationWithANamedProduct_EachFeatureIsTheDropToItsOwnDrawAndDrawsDiffer()
    {
        using var scope = torch.NewDisposeScope();
        var (model, tokenizer, method, options) = Ablation();
        var input = new TextTemplateInput(Template, Values(), new TextTemplateOptions { BaselineProduct = Named(7) });

        using var first = method.Attribute(input, "garden", options);
        using var second = method.Attribute(input, "garden", options);
        using var again = method.Attribute(new TextTemplateInput(Template, Values(), new TextTemplateOptions { BaselineProduct = Named(7) }), "garden", options);

        // Replayed: each call draws once for the unperturbed row, then once per removed value, in order.
        using var noGrad = torch.no_grad();
        double LogProbability(string text) =>
            LLMGeneration.AnswerLogProbabilities(model, torch.tensor(tokenizer.Encode(text).ToArray()).unsqueeze(0), [9])[0, 0].item<float>();
        static string Fill(Dictionary<string, string> v) => $"{v["name"]} went to the {v["place"]} . where is {v["who"]} ?";
        var full = LogProbability(Fill(Values()));
        var replay = Named(7);
        string[] features = ["name", "place", "who"];
        foreach (var result in new[] { first, second })
        {
            replay.SampleNamed();
            var attribution = result.SequenceAttribution.data<float>().ToArray();
            for (var i = 0; i < features.Length; i++)
            {
                var removed = new Dictionary<string, string>(Values()) { [features[i]] = replay.SampleNamed()[features[i]] };
                Assert.Equal(full - LogProbability(Fill(removed)), attribution[i], 4);
            }
        }

        Assert.NotEqual(first.SequenceAttribution.data<float>().ToArray(), second.SequenceAttribution.data<float>().ToArray());
        TensorAssert.AllClose(again.SequenceAttribution, first.SequenceAttribution, 0, 0);
    }
}
