using System.Collections;

namespace Captum.Attr;

/// <summary>
/// Text baselines drawn from the Cartesian product of choices, for a <see cref="TextTemplateInput"/>
/// (<see cref="TextTemplateOptions.BaselineProduct"/>): every perturbation draws, uniformly and independently per
/// list, one of the choices listed, so a removed value becomes one of several plausible replacements rather than
/// always the same one.
/// </summary>
/// <remarks>
/// <para>Python: <c>captum.attr.ProductBaselines(baseline_values)</c> given to <c>TextTemplateInput(baselines=...)</c>,
/// in either of its forms:</para>
/// <list type="bullet">
/// <item>Positional, a list of lists (the values are a list): <c>new TextProductBaselines([["It", "She"], ["neutral",
/// "calm"]], seed: 1)</c>, one list of choices per value, in order; <see cref="Sample"/> gives one string per value.</item>
/// <item>Named, a dict (the values are named): a collection initializer of names and their choices, where a group of
/// names is drawn together (Python: a tuple key whose choices are tuples), so that values that must agree stay
/// consistent: <c>new TextProductBaselines(seed: 1) { { ["name", "pronoun"], [["Sarah", "her"], ["John", "his"]] },
/// { "city", ["Seattle", "Boston"] } }</c>; <see cref="SampleNamed"/> gives one string per name.</item>
/// </list>
/// <para>Every argument is checked when it is given: an empty list, a choice of a group with another number of
/// strings than the group has names, and a name given twice (alone or in two groups) are refused with an
/// <see cref="ArgumentException"/> naming the argument. A <see cref="TextTemplateInput"/> checks the product against its
/// values when it is made (see <see cref="TextTemplateOptions.BaselineProduct"/>); from then on, and from the first
/// draw, the product is fixed and <see cref="Add(string, IEnumerable{string})"/> throws.</para>
/// <para>The draws come from <see cref="System.Random"/> (seeded by <c>seed</c>, else <see cref="Random.Shared"/>, as
/// Captum draws from Python's global <c>random</c>), one per list in order, as <see cref="ProductBaselines"/> draws, so
/// samples are reproducible here but are not the ones Python would draw. Thread-safe.</para>
/// </remarks>
public sealed class TextProductBaselines : IEnumerable
{
    private readonly List<string[]> names = [];
    private readonly List<string[][]> choices = [];
    private readonly bool positional;
    private readonly Random random;
    private readonly object gate = new();
    private bool fixedLists;

    /// <summary>An empty product of named choices; fill it with <see cref="Add(string, IEnumerable{string})"/> (a collection initializer).</summary>
    /// <param name="seed">Seeds the draws (the same seed gives the same sequence of samples); <see cref="Random.Shared"/> when null.</param>
    public TextProductBaselines(int? seed = null)
    {
        random = seed is { } s ? new Random(s) : Random.Shared;
    }

    /// <summary>The product of per-value choices, for positional values.</summary>
    /// <param name="baselineValues">Per value, in order, the strings its baseline may be; each list non-empty. Python: <c>baseline_values</c> as a list of lists.</param>
    /// <param name="seed">Seeds the draws (the same seed gives the same sequence of samples); <see cref="Random.Shared"/> when null.</param>
    /// <exception cref="ArgumentException"><paramref name="baselineValues"/> is empty, or one of its lists is null, empty or holds a null (the message names its index).</exception>
    public TextProductBaselines(IEnumerable<IEnumerable<string>> baselineValues, int? seed = null)
        : this(seed)
    {
        ArgumentNullException.ThrowIfNull(baselineValues);
        positional = true;
        var lists = baselineValues.ToArray();
        if (lists.Length == 0)
        {
            throw new ArgumentException("baselineValues (baseline_values) must list the choices of at least one value.", nameof(baselineValues));
        }

        for (var i = 0; i < lists.Length; i++)
        {
            var list = lists[i]?.ToArray() ?? throw new ArgumentException($"baselineValues[{i}] is null; give the baselines value {i} may take.", nameof(baselineValues));
            choices.Add(Choices(list.Select(s => s is null ? null : new[] { s }), $"baselineValues[{i}]", 1, nameof(baselineValues)));
        }
    }

    /// <summary>True when the choices are by name (filled by <see cref="Add(string, IEnumerable{string})"/>), false when by position.</summary>
    public bool IsNamed => !positional;

    /// <summary>Every name the product gives a baseline to, in the order added (a group's names in its order); empty when positional.</summary>
    public IReadOnlyList<string> Names
    {
        get
        {
            lock (gate)
            {
                return names.SelectMany(n => n).ToArray();
            }
        }
    }

    /// <summary>The number of elements of the product: the product of the lists' lengths (1 for an empty product).</summary>
    public long Count
    {
        get
        {
            lock (gate)
            {
                return choices.Aggregate(1L, (product, list) => checked(product * list.Length));
            }
        }
    }

    /// <summary>The number of lists drawn from: one per value when positional, one per name or group when named.</summary>
    internal int ListCount
    {
        get
        {
            lock (gate)
            {
                return choices.Count;
            }
        }
    }

    /// <summary>Adds the choices of one name. Python: a dict entry <c>"city": ["Seattle", "Boston"]</c>.</summary>
    /// <param name="name">A name of the template's values.</param>
    /// <param name="values">The strings its baseline may be; non-empty, no null (the empty string removes the value).</param>
    /// <exception cref="ArgumentException"><paramref name="name"/> is empty or already has choices, or <paramref name="values"/> is empty or holds a null.</exception>
    /// <exception cref="InvalidOperationException">The product is positional, or fixed (drawn from, or given to a <see cref="TextTemplateInput"/>).</exception>
    public void Add(string name, IEnumerable<string> values)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(values);
        AddList([name], nameof(name), values.Select(v => v is null ? null : new[] { v }), nameof(values));
    }

    /// <summary>
    /// Adds the choices of names drawn together: each choice gives one string per name, in the order of
    /// <paramref name="names"/>. Python: a dict entry with a tuple key, <c>("name", "pronoun"): [("Sarah", "her"),
    /// ("John", "his")]</c>.
    /// </summary>
    /// <param name="names">Names of the template's values, at least one, none twice.</param>
    /// <param name="values">The choices, each as many strings as <paramref name="names"/>; non-empty, no null.</param>
    /// <exception cref="ArgumentException"><paramref name="names"/> is empty, holds an empty name, a name twice or a name that already has choices; or <paramref name="values"/> is empty, or a choice is null, holds a null or has another number of strings than <paramref name="names"/> (the message names its index).</exception>
    /// <exception cref="InvalidOperationException">The product is positional, or fixed (drawn from, or given to a <see cref="TextTemplateInput"/>).</exception>
    public void Add(IEnumerable<string> names, IEnumerable<IEnumerable<string>> values)
    {
        ArgumentNullException.ThrowIfNull(names);
        ArgumentNullException.ThrowIfNull(values);
        AddList(names.ToArray(), nameof(names), values.Select(v => v?.ToArray()), nameof(values));
    }

    /// <summary>
    /// One element of the positional product, uniformly at random: for each value, one of its choices.
    /// Python: <c>sample()</c> and <c>__call__()</c> of a list-of-lists <c>ProductBaselines</c>.
    /// </summary>
    /// <exception cref="InvalidOperationException">The product is named (use <see cref="SampleNamed"/>).</exception>
    public IReadOnlyList<string> Sample()
    {
        if (!positional)
        {
            throw new InvalidOperationException("This product gives baselines by name: draw with SampleNamed.");
        }

        return Draw().Select(choice => choice[0]).ToArray();
    }

    /// <summary>
    /// One element of the named product, uniformly at random: for each name or group, one of its choices, as a
    /// baseline per name. Python: <c>sample()</c> and <c>__call__()</c> of a dict <c>ProductBaselines</c>.
    /// </summary>
    /// <exception cref="InvalidOperationException">The product is positional (use <see cref="Sample"/>).</exception>
    public IReadOnlyDictionary<string, string> SampleNamed()
    {
        if (positional)
        {
            throw new InvalidOperationException("This product gives baselines by position: draw with Sample.");
        }

        var drawn = Draw();
        var sample = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < drawn.Length; i++)
        {
            for (var j = 0; j < drawn[i].Length; j++)
            {
                sample[names[i][j]] = drawn[i][j];
            }
        }

        return sample;
    }

    /// <summary>The lists, each as its names (none when positional) and its choices (one string per name, or one string); only so that a collection initializer can fill the product.</summary>
    IEnumerator IEnumerable.GetEnumerator()
    {
        lock (gate)
        {
            return choices.Select((list, i) => (Names: positional ? [] : names[i], Choices: list)).ToList().GetEnumerator();
        }
    }

    /// <summary>Fixes the lists: <see cref="Add(string, IEnumerable{string})"/> throws from now on.</summary>
    internal void Fix()
    {
        lock (gate)
        {
            fixedLists = true;
        }
    }

    private string[][] Draw()
    {
        lock (gate)
        {
            fixedLists = true;
            return choices.Select(list => list[random.Next(list.Length)]).ToArray();
        }
    }

    private void AddList(string[] group, string namesArgument, IEnumerable<string[]?> values, string valuesArgument)
    {
        if (positional)
        {
            throw new InvalidOperationException("This product gives baselines by position, from the lists given to its constructor; add names only to a product made with TextProductBaselines(seed).");
        }

        if (group.Length == 0)
        {
            throw new ArgumentException($"{namesArgument}: give at least one name.", namesArgument);
        }

        if (group.Any(string.IsNullOrEmpty))
        {
            throw new ArgumentException($"{namesArgument}: a name is null or empty; give the name of a template value.", namesArgument);
        }

        if (group.GroupBy(n => n, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1) is { } twice)
        {
            throw new ArgumentException($"{namesArgument}: \"{twice.Key}\" is given twice in the group.", namesArgument);
        }

        var list = Choices(values, valuesArgument, group.Length, valuesArgument, group);
        lock (gate)
        {
            if (fixedLists)
            {
                throw new InvalidOperationException("The product is fixed once drawn from or given to a TextTemplateInput: add every name before.");
            }

            foreach (var name in group)
            {
                if (names.FirstOrDefault(earlier => earlier.Contains(name, StringComparer.Ordinal)) is { } earlier)
                {
                    var where = earlier.Length == 1 ? "alone" : $"in the group ({string.Join(", ", earlier)})";
                    throw new ArgumentException($"{namesArgument}: \"{name}\" already has baselines ({where}); a name is drawn from one list only.", namesArgument);
                }
            }

            names.Add(group);
            choices.Add(list);
        }
    }

    /// <summary>A list of choices, checked: non-empty, no null choice or string, every choice <paramref name="arity"/> strings.</summary>
    private static string[][] Choices(IEnumerable<string[]?> values, string label, int arity, string argument, string[]? group = null)
    {
        var list = values.ToArray();
        if (list.Length == 0)
        {
            throw new ArgumentException($"{label} is empty; give at least one choice.", argument);
        }

        for (var i = 0; i < list.Length; i++)
        {
            if (list[i] is not { } choice || choice.Contains(null))
            {
                throw new ArgumentException($"{label}[{i}] is null or holds a null; give \"\" to remove the value.", argument);
            }

            if (choice.Length != arity)
            {
                throw new ArgumentException($"{label}[{i}] has {choice.Length} string(s), but the group ({string.Join(", ", group!)}) has {arity} name(s): each choice gives one string per name.", argument);
            }
        }

        return list!;
    }
}
