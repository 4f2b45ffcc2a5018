using System.Text;
using TorchSharp;
using static TorchSharp.torch;

namespace Captum.Attr;

/// <summary>
/// A prompt made from a template and values that fill its slots: each value (or each group of values, by
/// <see cref="TextTemplateOptions.Mask"/>) is an interpretable feature, kept or replaced by its baseline (by default
/// the empty string, which removes it from the prompt).
/// </summary>
/// <remarks>
/// <para>Python: <c>captum.attr.TextTemplateInput(template, values, baselines=None, mask=None)</c>. The template is
/// Python's <c>str.format</c> syntax: <c>{}</c> slots filled in order, <c>{0}</c> by position, <c>{name}</c> by key
/// when the values are named, <c>{{</c> and <c>}}</c> for braces; format specifications are not supported.</para>
/// <para>Beyond Captum, which fills extra values nowhere and fails on missing ones only when formatting, the template's
/// slots are checked against the values when the input is made: every slot has a value and every value a slot.</para>
/// <para>Baselines (<see cref="TextTemplateOptions"/>) are fixed, drawn by a function, or drawn from a
/// <see cref="TextProductBaselines"/> (Captum's <c>ProductBaselines</c>); drawn ones are drawn anew for every
/// perturbed row the method evaluates (one that keeps every value too), as Captum calls its callable.</para>
/// </remarks>
public sealed class TextTemplateInput : IInterpretableInput
{
    private readonly Func<IReadOnlyList<string>, string> format;
    private readonly Func<IReadOnlyList<string>> baselines;
    private readonly int[]? mask;

    /// <summary>A template with positional slots and a list of values.</summary>
    /// <param name="template">The template: <c>"{} went to the {}"</c>.</param>
    /// <param name="values">The values, one per slot.</param>
    /// <param name="options">Baselines and mask; empty-string baselines and one feature per value when null.</param>
    /// <exception cref="ArgumentException">The slots and the values do not match, or an option has the wrong length; the message names it.</exception>
    public TextTemplateInput(string template, IReadOnlyList<string> values, TextTemplateOptions? options = null)
        : this(Template.Positional(template, values?.Count ?? 0), values!, null, options)
    {
    }

    /// <summary>A template with named slots and named values.</summary>
    /// <param name="template">The template: <c>"{name} went to the {place}"</c>.</param>
    /// <param name="values">The values by slot name.</param>
    /// <param name="options">Baselines and mask, given by name (<see cref="TextTemplateOptions.NamedBaselines"/>, <see cref="TextTemplateOptions.NamedMask"/>).</param>
    /// <exception cref="ArgumentException">The slots and the values do not match; the message names it.</exception>
    public TextTemplateInput(string template, IReadOnlyDictionary<string, string> values, TextTemplateOptions? options = null)
        : this(Template.Named(template, values?.Keys.ToList() ?? throw new ArgumentNullException(nameof(values))), values.Values.ToList(), values.Keys.ToList(), options)
    {
    }

    /// <summary>A prompt built by a function of the values (Python: a callable template).</summary>
    /// <param name="template">Builds the prompt from the values (baselines in place of removed ones).</param>
    /// <param name="values">The values.</param>
    /// <param name="options">Baselines and mask.</param>
    public TextTemplateInput(Func<IReadOnlyList<string>, string> template, IReadOnlyList<string> values, TextTemplateOptions? options = null)
        : this(template ?? throw new ArgumentNullException(nameof(template)), values, null, options)
    {
    }

    private TextTemplateInput(Func<IReadOnlyList<string>, string> format, IReadOnlyList<string> values, IReadOnlyList<string>? keys, TextTemplateOptions? options)
    {
        ArgumentNullException.ThrowIfNull(values);
        if (values.Count == 0 || values.Any(v => v is null))
        {
            throw new ArgumentException("values: give at least one value, and no null.", nameof(values));
        }

        options ??= new TextTemplateOptions();
        this.format = format;
        Values = values.ToList();
        var count = values.Count;
        baselines = BaselinesOf(options, keys, count);
        mask = MaskOf(options, keys, count);
        FeatureCount = mask is null ? count : mask.Distinct().Count();
    }

    /// <inheritdoc />
    public int FeatureCount { get; }

    /// <inheritdoc />
    public IReadOnlyList<string> Values { get; }

    /// <summary>The prompt with every value in place.</summary>
    public string Prompt => format(Values);

    /// <inheritdoc />
    public Tensor ToTensor() => torch.ones(1, FeatureCount, ScalarType.Float32);

    /// <summary>The prompt with the values whose feature is 0 in <paramref name="perturbed"/> ([1, FeatureCount]) replaced by their baselines (Captum's <c>if not itp_val</c>: any other value keeps it).</summary>
    public string ToText(Tensor? perturbed)
    {
        if (perturbed is null)
        {
            return Prompt;
        }

        if (perturbed.dim() != 2 || perturbed.shape[0] != 1 || perturbed.shape[1] != FeatureCount)
        {
            throw new ArgumentException($"perturbed must be [1, {FeatureCount}], not [{string.Join(", ", perturbed.shape)}].", nameof(perturbed));
        }

        var present = perturbed[0].cpu().to_type(ScalarType.Float64).data<double>().ToArray();
        var replacement = baselines();
        var filled = Values.Select((v, i) => present[mask?[i] ?? i] != 0 ? v : replacement[i]).ToList();
        return format(filled);
    }

    /// <inheritdoc />
    public Tensor ToModelInput(Tensor? perturbed, ITextTokenizer tokenizer)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        return torch.tensor(tokenizer.Encode(ToText(perturbed)).ToArray(), ScalarType.Int64).unsqueeze(0);
    }

    /// <inheritdoc />
    public Tensor FormatAttribution(Tensor attribution)
    {
        ArgumentNullException.ThrowIfNull(attribution);
        if (mask is null)
        {
            return attribution.alias();
        }

        using var scope = torch.NewDisposeScope();
        var index = torch.tensor(mask.Select(m => (long)m).ToArray(), ScalarType.Int64, attribution.device);
        return attribution.index_select(-1, index).MoveToOuterDisposeScope();
    }

    private static Func<IReadOnlyList<string>> BaselinesOf(TextTemplateOptions options, IReadOnlyList<string>? keys, int count)
    {
        // Which baseline option is given, and whether it is by name; at most one, of the values' form (as Captum asserts).
        var given = new (string Option, bool Given, bool ByName)[]
        {
            (nameof(options.Baselines), options.Baselines is not null, false),
            (nameof(options.NamedBaselines), options.NamedBaselines is not null, true),
            (nameof(options.BaselineFunction), options.BaselineFunction is not null, false),
            (nameof(options.NamedBaselineFunction), options.NamedBaselineFunction is not null, true),
            (nameof(options.BaselineProduct), options.BaselineProduct is not null, options.BaselineProduct?.IsNamed == true),
        }.Where(g => g.Given).ToList();
        if (given.Count > 1)
        {
            throw new ArgumentException($"{given[0].Option} and {given[1].Option} are both given; give the baselines one way.", given[1].Option);
        }

        if (given is [var (option, _, byName)] && byName != (keys is not null))
        {
            throw new ArgumentException(
                byName
                    ? $"{option} gives baselines by name, but the values are positional; give them by position (Baselines, BaselineFunction, or a TextProductBaselines of lists)."
                    : $"{option} gives baselines by position, but the values are named; give them by name (NamedBaselines, NamedBaselineFunction, or a TextProductBaselines of names).",
                option);
        }

        if (options.BaselineFunction is { } function)
        {
            return () => function() is { Count: var c } b && c == count ? b : throw new ArgumentException($"BaselineFunction must return {count} baselines, one per value.", nameof(options.BaselineFunction));
        }

        if (options.NamedBaselineFunction is { } namedFunction)
        {
            return () => InOrder(namedFunction() ?? throw new ArgumentException("NamedBaselineFunction returned null.", nameof(options.NamedBaselineFunction)), keys!, nameof(options.NamedBaselineFunction));
        }

        if (options.BaselineProduct is { } product)
        {
            // Checked, then fixed, so that a refused product can still be completed; a name added in between (by
            // another thread) is caught at the draw.
            if (product.IsNamed)
            {
                CheckNames(product.Names, keys!, nameof(options.BaselineProduct));
                product.Fix();
                return () => InOrder(product.SampleNamed(), keys!, nameof(options.BaselineProduct));
            }

            if (product.ListCount != count)
            {
                throw new ArgumentException($"BaselineProduct has {product.ListCount} list(s) of choices, but there are {count} values: give one list per value.", nameof(options.BaselineProduct));
            }

            return product.Sample;
        }

        var fixedBaselines = options.NamedBaselines is { } named
            ? InOrder(named, keys!, nameof(options.NamedBaselines))
            : options.Baselines ?? Enumerable.Repeat(string.Empty, count).ToList();
        if (fixedBaselines.Count != count)
        {
            throw new ArgumentException($"Baselines has {fixedBaselines.Count} entries, but there are {count} values.", nameof(options.Baselines));
        }

        return () => fixedBaselines;
    }

    /// <summary>The named baselines in the values' order, once <see cref="CheckNames"/> has found one per value and none other.</summary>
    private static List<string> InOrder(IReadOnlyDictionary<string, string> baselines, IReadOnlyList<string> keys, string option)
    {
        CheckNames(baselines.Keys, keys, option);
        return keys.Select(k => baselines[k]).ToList();
    }

    /// <summary>
    /// Every value has a baseline (Captum's <c>baselines[k]</c> fails otherwise: there is no fallback to the empty
    /// string) and every baseline a value (Captum ignores the others; here they are refused, as a value without a slot is).
    /// </summary>
    private static void CheckNames(IEnumerable<string> names, IReadOnlyList<string> keys, string option)
    {
        var given = names.ToHashSet(StringComparer.Ordinal);
        if (keys.Where(k => !given.Contains(k)).ToList() is [_, ..] missing)
        {
            throw new ArgumentException($"{option} has no baseline for {Quoted(missing)}; give one for every value (\"\" removes a value).", option);
        }

        if (given.Except(keys, StringComparer.Ordinal).ToList() is [_, ..] extra)
        {
            throw new ArgumentException($"{option} has baselines for {Quoted(extra)}, which the template has no value of.", option);
        }
    }

    private static string Quoted(IEnumerable<string> names) => string.Join(", ", names.Select(n => $"\"{n}\""));

    private static int[]? MaskOf(TextTemplateOptions options, IReadOnlyList<string>? keys, int count)
    {
        if (keys is null && options.NamedMask is not null)
        {
            throw new ArgumentException("NamedMask groups named values, but these values are positional; give Mask, one group per value in order.", "NamedMask");
        }

        if (keys is not null && options.Mask is not null)
        {
            throw new ArgumentException("Mask groups positional values, but these values are named; give NamedMask, a group per value name (as Captum asks for a dict mask with dict values).", "Mask");
        }

        IReadOnlyList<int>? given = keys is not null && options.NamedMask is { } named
            ? keys.Select(k => named.TryGetValue(k, out var m) ? m : throw new ArgumentException($"NamedMask has no group for \"{k}\".", "NamedMask")).ToList()
            : options.Mask;
        if (given is null)
        {
            return null;
        }

        if (given.Count != count)
        {
            throw new ArgumentException($"Mask has {given.Count} entries, but there are {count} values.", "Mask");
        }

        // As Captum: groups numbered in order of their sorted ids.
        var ids = given.Distinct().Order().Select((id, i) => (id, i)).ToDictionary(p => p.id, p => p.i);
        return given.Select(g => ids[g]).ToArray();
    }

    /// <summary>Python's str.format for plain fields: literal text, and slots by order, position or name.</summary>
    private static class Template
    {
        public static Func<IReadOnlyList<string>, string> Positional(string template, int count)
        {
            var parts = Parse(template);
            var fields = parts.Where(p => p.Field is not null).Select(p => p.Field!).ToList();
            var automatic = fields.Count(f => f.Length == 0);
            if (automatic > 0 && automatic != fields.Count)
            {
                var other = fields.First(f => f.Length > 0);
                throw new ArgumentException(
                    int.TryParse(other, out _)
                        ? $"template mixes {{}} and numbered slots such as {{{other}}}; use one kind."
                        : $"template mixes {{}} and named slots such as {{{other}}}; use one kind ({{}} slots take values in order, named slots take them by name).",
                    nameof(template));
            }

            var indices = automatic > 0
                ? Enumerable.Range(0, automatic).ToList()
                : fields.Select(f => int.TryParse(f, out var i) && i >= 0 ? i : throw new ArgumentException($"template: slot {{{f}}} is not a position; give the values by name for named slots.", nameof(template))).ToList();
            var used = indices.Distinct().Count();
            if (indices.Any(i => i >= count) || used != count)
            {
                throw new ArgumentException($"template has {(automatic > 0 ? automatic : used)} slot(s) but {count} value(s) are given: every slot needs a value and every value a slot.", "values");
            }

            return values => Render(parts, indices, values);
        }

        public static Func<IReadOnlyList<string>, string> Named(string template, IReadOnlyList<string> keys)
        {
            var parts = Parse(template);
            var fields = parts.Where(p => p.Field is not null).Select(p => p.Field!).ToList();
            var position = keys.Select((k, i) => (k, i)).ToDictionary(p => p.k, p => p.i, StringComparer.Ordinal);
            var indices = fields.Select(f => position.TryGetValue(f, out var i) ? i : throw new ArgumentException($"template: slot {{{f}}} has no value.", "values")).ToList();
            var unused = keys.Where(k => !fields.Contains(k)).ToList();
            if (unused.Count > 0)
            {
                throw new ArgumentException($"values: {string.Join(", ", unused)} fill(s) no slot of the template.", "values");
            }

            return values => Render(parts, indices, values);
        }

        private static string Render(List<(string? Literal, string? Field)> parts, List<int> indices, IReadOnlyList<string> values)
        {
            var text = new StringBuilder();
            var slot = 0;
            foreach (var (literal, field) in parts)
            {
                text.Append(field is null ? literal : values[indices[slot++]]);
            }

            return text.ToString();
        }

        private static List<(string? Literal, string? Field)> Parse(string template)
        {
            ArgumentNullException.ThrowIfNull(template);
            var parts = new List<(string?, string?)>();
            var literal = new StringBuilder();
            for (var i = 0; i < template.Length; i++)
            {
                var c = template[i];
                if ((c == '{' || c == '}') && i + 1 < template.Length && template[i + 1] == c)
                {
                    literal.Append(c);
                    i++;
                }
                else if (c == '{')
                {
                    var end = template.IndexOf('}', i + 1);
                    if (end < 0)
                    {
                        throw new ArgumentException($"template: the slot opened at character {i} is never closed.", nameof(template));
                    }

                    var field = template[(i + 1)..end];
                    if (field.IndexOfAny([':', '!', '{', '[', '.']) >= 0)
                    {
                        throw new ArgumentException($"template: slot {{{field}}} uses a format specification, which is not supported; format the value before giving it.", nameof(template));
                    }

                    parts.Add((literal.ToString(), null));
                    literal.Clear();
                    parts.Add((null, field));
                    i = end;
                }
                else if (c == '}')
                {
                    throw new ArgumentException($"template: a single '}}' at character {i}; write '}}}}' for a brace.", nameof(template));
                }
                else
                {
                    literal.Append(c);
                }
            }

            parts.Add((literal.ToString(), null));
            return parts;
        }
    }
}

/// <summary>The baselines and mask of a <see cref="TextTemplateInput"/>.</summary>
/// <remarks>
/// Python: the <c>baselines</c> and <c>mask</c> arguments of <c>TextTemplateInput</c>. Give the baselines one way (at
/// most one of <see cref="Baselines"/>, <see cref="NamedBaselines"/>, <see cref="BaselineFunction"/>,
/// <see cref="NamedBaselineFunction"/>, <see cref="BaselineProduct"/>), in the values' form: by position for a list of
/// values, by name for named values (Captum asserts the same); otherwise the input refuses them, naming the option.
/// With none, a removed value becomes the empty string. Given baselines must cover every value: as Captum's, which
/// fails on a missing key, they do not fall back to the empty string for the values they leave out.
/// </remarks>
public sealed record TextTemplateOptions
{
    /// <summary>The value that replaces each value when it is removed, one per value, for positional values; empty strings (removal) when no baseline option is given. Python: a list <c>baselines</c>.</summary>
    public IReadOnlyList<string>? Baselines { get; init; }

    /// <summary>The baselines by value name, for named values: one per value and no other name. Python: a dict <c>baselines</c>.</summary>
    public IReadOnlyDictionary<string, string>? NamedBaselines { get; init; }

    /// <summary>Draws the baselines anew for every perturbation (Python: a callable <c>baselines</c>), one per value.</summary>
    public Func<IReadOnlyList<string>>? BaselineFunction { get; init; }

    /// <summary>
    /// Draws the baselines by value name anew for every perturbation, for named values (Python: a callable
    /// <c>baselines</c> that returns a dict): one per value and no other name, checked at every draw.
    /// </summary>
    public Func<IReadOnlyDictionary<string, string>>? NamedBaselineFunction { get; init; }

    /// <summary>
    /// Baselines drawn anew for every perturbation from a product of choices (Python:
    /// <c>baselines=ProductBaselines(...)</c>): a positional product, one list per value, for positional values; a named
    /// one, whose names (alone or in groups drawn together) are exactly the values' names, for named values. Checked when
    /// the input is made, which fixes the product.
    /// </summary>
    public TextProductBaselines? BaselineProduct { get; init; }

    /// <summary>The feature group of each value: values with the same id are kept or removed together; one feature per value when null. Python: a list <c>mask</c>.</summary>
    public IReadOnlyList<int>? Mask { get; init; }

    /// <summary>The feature group of each value by name, for named values. Python: a dict <c>mask</c>.</summary>
    public IReadOnlyDictionary<string, int>? NamedMask { get; init; }
}
