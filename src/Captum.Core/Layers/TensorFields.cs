using System.Collections;
using System.Collections.Concurrent;
using System.Reflection;
using System.Runtime.CompilerServices;
using TorchSharp;
using static TorchSharp.torch;

namespace Captum.Layers;

/// <summary>
/// The instance fields of a module type through which the module can keep tensors it made in a forward pass, and the
/// tensors they hold: what <see cref="IntermediateRelease"/> must not free when the module returns.
/// </summary>
/// <remarks>
/// A field counts when its declared type is a tensor (a <see cref="TorchSharp.Modules.Parameter"/> too), an array or a
/// materialised collection (list, set, dictionary: its values and keys) of tensors, a tuple of tensors, or any nesting of
/// these up to <see cref="MaxDepth"/> levels. Fields declared by TorchSharp's own types are left out: its module
/// machinery (hook dictionaries, the parameter, buffer and submodule registries, native handles) and its built-in
/// modules' fields hold only parameters and buffers made when the module was built, never a tensor of a forward pass.
/// Fields typed as modules or delegates, lazy sequences (an <c>IEnumerable</c> that is not a collection: enumerating it
/// would run the user's code) and objects of other types (a cache class of the user's) are not looked into.
/// </remarks>
internal static class TensorFields
{
    /// <summary>How deep nested collections and tuples are looked into.</summary>
    private const int MaxDepth = 4;

    private static readonly Assembly TorchSharpAssembly = typeof(nn.Module).Assembly;
    private static readonly ConcurrentDictionary<Type, FieldInfo[]> Fields = new();
    private static readonly ConcurrentDictionary<Type, bool> Collections = new();

    /// <summary>The fields of <paramref name="moduleType"/> (and its base types) that can hold tensors; found once per type.</summary>
    public static FieldInfo[] Of(Type moduleType) => Fields.GetOrAdd(moduleType, static type =>
    {
        var found = new List<FieldInfo>();
        for (var t = type; t is not null && t != typeof(object); t = t.BaseType)
        {
            if (t.Assembly == TorchSharpAssembly)
            {
                continue;
            }

            found.AddRange(t.GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly)
                .Where(f => MayHold(f.FieldType, 0)));
        }

        return [.. found];
    });

    /// <summary>Calls <paramref name="visit"/> for every tensor the <paramref name="fields"/> of <paramref name="owner"/> hold now.</summary>
    public static void Visit(object owner, FieldInfo[] fields, Action<Tensor> visit)
    {
        foreach (var field in fields)
        {
            Walk(field.GetValue(owner), visit, 0);
        }
    }

    private static bool MayHold(Type type, int depth)
    {
        if (typeof(Tensor).IsAssignableFrom(type))
        {
            return true;
        }

        if (depth >= MaxDepth || type == typeof(string) || typeof(nn.Module).IsAssignableFrom(type) || typeof(Delegate).IsAssignableFrom(type))
        {
            return false;
        }

        if (type.IsArray)
        {
            return MayHold(type.GetElementType()!, depth + 1);
        }

        if (Nullable.GetUnderlyingType(type) is { } underlying)
        {
            return MayHold(underlying, depth + 1);
        }

        if (type.IsGenericType && (typeof(ITuple).IsAssignableFrom(type) || type.GetGenericTypeDefinition() == typeof(KeyValuePair<,>)))
        {
            return type.GetGenericArguments().Any(a => MayHold(a, depth + 1));
        }

        if (typeof(IEnumerable).IsAssignableFrom(type))
        {
            var sequences = type.GetInterfaces().Append(type)
                .Where(i => i.IsInterface && i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IEnumerable<>));
            return sequences.Any(i => MayHold(i.GetGenericArguments()[0], depth + 1));
        }

        return false;
    }

    private static void Walk(object? value, Action<Tensor> visit, int depth)
    {
        switch (value)
        {
            case null:
                return;
            case Tensor tensor:
                visit(tensor);
                return;
        }

        if (depth >= MaxDepth || value is string)
        {
            return;
        }

        switch (value)
        {
            case ITuple tuple:
                for (var i = 0; i < tuple.Length; i++)
                {
                    Walk(tuple[i], visit, depth + 1);
                }

                break;
            case IDictionary dictionary:
                foreach (DictionaryEntry entry in dictionary)
                {
                    Walk(entry.Key, visit, depth + 1);
                    Walk(entry.Value, visit, depth + 1);
                }

                break;
            case IEnumerable items when IsCollection(items.GetType()):
                foreach (var item in items)
                {
                    Walk(item, visit, depth + 1);
                }

                break;
        }
    }

    /// <summary>A materialised collection, whose enumeration runs no code of the user's (unlike a lazy sequence).</summary>
    private static bool IsCollection(Type type) => Collections.GetOrAdd(type, static t =>
        typeof(ICollection).IsAssignableFrom(t)
        || t.GetInterfaces().Any(i => i.IsGenericType
            && (i.GetGenericTypeDefinition() == typeof(ICollection<>) || i.GetGenericTypeDefinition() == typeof(IReadOnlyCollection<>))));
}
