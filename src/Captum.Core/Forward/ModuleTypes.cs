using System.Reflection;
using TorchSharp;

namespace Captum.Forward;

/// <summary>Reflection over TorchSharp's typed module hierarchy.</summary>
internal static class ModuleTypes
{
    /// <summary>The closed <c>Module&lt;T1, ..., TResult&gt;</c> base of <paramref name="type"/>, or null.</summary>
    public static Type? FindTypedBase(Type type)
    {
        for (var t = type; t is not null && t != typeof(object); t = t.BaseType)
        {
            if (t.IsGenericType && t.DeclaringType == typeof(torch.nn) && t.Name.StartsWith("Module`", StringComparison.Ordinal))
            {
                return t;
            }
        }

        return null;
    }

    /// <summary>
    /// The parameter names of the most derived <c>forward</c> with <paramref name="arity"/> parameters,
    /// or <c>input1..inputN</c> when none is found.
    /// </summary>
    public static IReadOnlyList<string> ForwardParameterNames(Type moduleType, int arity)
    {
        for (var t = moduleType; t is not null && t != typeof(object); t = t.BaseType)
        {
            var forward = t.GetMethods(BindingFlags.Public | BindingFlags.Instance | BindingFlags.DeclaredOnly)
                .FirstOrDefault(m => m.Name == "forward" && m.GetParameters().Length == arity);
            if (forward is not null)
            {
                return forward.GetParameters().Select((p, i) => string.IsNullOrEmpty(p.Name) ? $"input{i + 1}" : p.Name!).ToArray();
            }
        }

        return Enumerable.Range(1, arity).Select(i => $"input{i}").ToArray();
    }
}
