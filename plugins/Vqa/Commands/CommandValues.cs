using System.Globalization;

namespace Captum.Plugins.Vqa.Commands;

/// <summary>Option values shared by the plugin's commands.</summary>
internal static class CommandValues
{
    /// <summary>A whole number option that must be positive and fit an <see cref="int"/>.</summary>
    /// <exception cref="ArgumentException">It does not; the message names the option.</exception>
    public static int Positive(PluginCommandContext context, string name)
    {
        var value = context.GetInteger(name);
        return value is >= 1 and <= int.MaxValue ? (int)value : throw new ArgumentException($"--{name} must be a positive whole number, not {value}.", name);
    }

    /// <summary>A whole number option that must be 0 or more and fit an <see cref="int"/>.</summary>
    /// <exception cref="ArgumentException">It does not; the message names the option.</exception>
    public static int NonNegative(PluginCommandContext context, string name)
    {
        var value = context.GetInteger(name);
        return value is >= 0 and <= int.MaxValue ? (int)value : throw new ArgumentException($"--{name} must be a whole number of 0 or more, not {value}.", name);
    }

    /// <summary>A default value as the option's invariant text.</summary>
    public static string Invariant(IFormattable value) => value.ToString(null, CultureInfo.InvariantCulture);
}
