namespace Captum.Explain;

/// <summary>
/// The explanation strategies a host offers, by name: the built-in ones (<see cref="ExplanationStrategies"/>) and
/// those plugins register. The first strategy of a name wins, so a plugin cannot replace a built-in one or one of
/// an earlier plugin; the later ones are listed in <see cref="Ignored"/>.
/// </summary>
public sealed class ExplanationStrategyRegistry
{
    private readonly Dictionary<string, IExplanationStrategy> byName = new(StringComparer.Ordinal);

    /// <summary>Creates the registry of <paramref name="strategies"/>, in their order.</summary>
    /// <exception cref="ArgumentException">A strategy has an empty name.</exception>
    public ExplanationStrategyRegistry(IEnumerable<IExplanationStrategy> strategies)
    {
        ArgumentNullException.ThrowIfNull(strategies);
        var kept = new List<IExplanationStrategy>();
        var ignored = new List<IExplanationStrategy>();
        foreach (var strategy in strategies)
        {
            ArgumentNullException.ThrowIfNull(strategy, nameof(strategies));
            if (string.IsNullOrWhiteSpace(strategy.Name))
            {
                throw new ArgumentException($"{strategy.GetType().FullName} has no name.", nameof(strategies));
            }

            if (byName.TryAdd(strategy.Name, strategy))
            {
                kept.Add(strategy);
            }
            else
            {
                ignored.Add(strategy);
            }
        }

        Strategies = kept;
        Ignored = ignored;
    }

    /// <summary>The strategies, one per name, in registration order.</summary>
    public IReadOnlyList<IExplanationStrategy> Strategies { get; }

    /// <summary>The strategies whose name an earlier one has, and which are therefore never used.</summary>
    public IReadOnlyList<IExplanationStrategy> Ignored { get; }

    /// <summary>The names, in registration order.</summary>
    public IEnumerable<string> Names => Strategies.Select(s => s.Name);

    /// <summary>The strategy named <paramref name="name"/> (case-sensitive), or null.</summary>
    public IExplanationStrategy? Find(string name) => byName.GetValueOrDefault(name);

    /// <summary>The strategy named <paramref name="name"/> (case-sensitive).</summary>
    /// <param name="name">The name.</param>
    /// <param name="argumentName">What the name was given as, for the error (e.g. "--method").</param>
    /// <exception cref="ArgumentException">There is none; the message names <paramref name="argumentName"/> and lists the known names.</exception>
    public IExplanationStrategy Get(string name, string argumentName = "name") =>
        Find(name) ?? throw new ArgumentException($"{argumentName}: unknown method '{name}'; choose from {string.Join(", ", Names)}.", argumentName);
}
