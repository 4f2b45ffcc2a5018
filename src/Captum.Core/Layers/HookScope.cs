using System.Collections.Immutable;
using System.Reflection;
using TorchSharp;
using static TorchSharp.torch;

namespace Captum.Layers;

/// <summary>
/// Forward hooks that act only for the code that installed them, added and removed without disturbing another
/// thread's call of the same module. Every hook CaptumSharp puts on a user's module goes through one.
/// </summary>
/// <remarks>
/// Two properties make attributions safe to run from several threads on one model, beside plain predictions:
/// <list type="bullet">
/// <item>A scope is active only in the execution flow that created it (an <see cref="AsyncLocal{T}"/>, so work the
/// flow starts, such as tasks a forward function runs, belongs to it too) and until it is disposed. Its hooks check
/// <see cref="IsActive"/> and let every other call of the module through unchanged: another thread's prediction or
/// attribution never sees them.</item>
/// <item>TorchSharp keeps a module's hooks in plain dictionaries that <c>call</c> enumerates. Changing one while
/// another thread enumerates it throws ("Collection was modified") or worse. A scope never changes a dictionary
/// in place: it replaces the module's dictionary by a copy with the hook added (or removed), so a call that is
/// enumerating the old one finishes undisturbed. Replacements are serialised by one lock.</item>
/// </list>
/// Hooks registered directly with TorchSharp's <c>register_forward_hook</c> keep working (the copies keep them),
/// but registering one while an attribution installs or removes its own may lose it: register your own hooks
/// before sharing the model between threads.
/// </remarks>
internal sealed class HookScope : IDisposable
{
    private static readonly AsyncLocal<ImmutableHashSet<HookScope>?> Active = new();
    private static readonly Lock TableLock = new();
    private const string KeyPrefix = "captum:";

    private readonly Stack<Action> removers = new();
    private readonly List<nn.Module> hooked = [];
    private readonly bool everywhere;
    private bool disposed;

    /// <summary>Opens a scope, active from now on in the current execution flow.</summary>
    public HookScope()
        : this(everywhere: false)
    {
    }

    private HookScope(bool everywhere)
    {
        this.everywhere = everywhere;
        if (!everywhere)
        {
            Active.Value = (Active.Value ?? []).Add(this);
        }
    }

    /// <summary>
    /// A scope active in every flow until disposed: for hooks that change the model for everyone by design, such as
    /// the interpretable embedding layer (they still get the copy-on-write replacement of the hook dictionaries).
    /// </summary>
    public static HookScope Everywhere() => new(everywhere: true);

    /// <summary>
    /// True for the scopes of <see cref="IntermediateRelease"/>, whose hooks observe no tensor a caller keeps: they do
    /// not count in <see cref="ModulesHookedInThisFlow"/>.
    /// </summary>
    public bool ReleasesIntermediates { get; init; }

    /// <summary>
    /// The modules that hooks of scopes active in the current execution flow are on (those of
    /// <see cref="ReleasesIntermediates"/> scopes excepted): the layers an attribution running here observes or replaces.
    /// </summary>
    public static IEnumerable<nn.Module> ModulesHookedInThisFlow()
    {
        if (Active.Value is not { } set)
        {
            yield break;
        }

        foreach (var scope in set)
        {
            if (scope.ReleasesIntermediates)
            {
                continue;
            }

            List<nn.Module> modules;
            lock (scope.hooked)
            {
                modules = [.. scope.hooked];
            }

            foreach (var module in modules)
            {
                yield return module;
            }
        }
    }

    /// <summary>
    /// Whether <paramref name="module"/> carries forward hooks that no <see cref="HookScope"/> put there (registered
    /// directly with TorchSharp's <c>register_forward_hook</c> or <c>register_forward_pre_hook</c>).
    /// </summary>
    public static bool HasForeignHooks(nn.Module module)
    {
        ArgumentNullException.ThrowIfNull(module);
        foreach (var field in ForeignHookFields.For(module.GetType()))
        {
            if (field.GetValue(module) is System.Collections.IDictionary table)
            {
                foreach (var key in table.Keys)
                {
                    if (key is not string name || !name.StartsWith(KeyPrefix, StringComparison.Ordinal))
                    {
                        return true;
                    }
                }
            }
        }

        return false;
    }

    /// <summary>
    /// Deactivates every scope of the current execution flow until the result is disposed, so that a call made in
    /// between (a probe of the model) runs as another thread's would: no attribution's hooks act on it.
    /// </summary>
    public static IDisposable SuspendInThisFlow()
    {
        var saved = Active.Value;
        Active.Value = null;
        return new Suspension(saved);
    }

    private sealed class Suspension(ImmutableHashSet<HookScope>? saved) : IDisposable
    {
        private bool restored;

        public void Dispose()
        {
            if (!restored)
            {
                restored = true;
                Active.Value = saved;
            }
        }
    }

    /// <summary>True in the execution flow that created the scope (in every flow for <see cref="Everywhere"/>), until it is disposed.</summary>
    public bool IsActive => !Volatile.Read(ref disposed) && (everywhere || Active.Value?.Contains(this) == true);

    /// <summary>Adds a forward pre-hook to <paramref name="module"/>, removed when the scope is disposed.</summary>
    public void AddPreHook<TPre, TPost>(nn.HookableModule<TPre, TPost> module, TPre hook)
        where TPre : Delegate
        where TPost : Delegate
        => Add<TPre, TPost, TPre>(module, "pre_hooks", hook);

    /// <summary>Adds a forward hook to <paramref name="module"/>, removed when the scope is disposed.</summary>
    public void AddPostHook<TPre, TPost>(nn.HookableModule<TPre, TPost> module, TPost hook)
        where TPre : Delegate
        where TPost : Delegate
        => Add<TPre, TPost, TPost>(module, "post_hooks", hook);

    /// <summary>Removes every hook of the scope (latest first) and deactivates it. Idempotent.</summary>
    public void Dispose()
    {
        if (disposed)
        {
            return;
        }

        Volatile.Write(ref disposed, true);
        while (removers.TryPop(out var remove))
        {
            remove();
        }

        if (Active.Value is { } set && set.Contains(this))
        {
            var rest = set.Remove(this);
            Active.Value = rest.IsEmpty ? null : rest;
        }
    }

    private void Add<TPre, TPost, THook>(nn.HookableModule<TPre, TPost> module, string tableName, THook hook)
        where TPre : Delegate
        where TPost : Delegate
        where THook : Delegate
    {
        ArgumentNullException.ThrowIfNull(module);
        ObjectDisposedException.ThrowIf(disposed, this);
        var table = HookTable<TPre, TPost>.Field(tableName);
        var key = KeyPrefix + Guid.NewGuid().ToString("N");
        lock (hooked)
        {
            hooked.Add(module);
        }

        lock (TableLock)
        {
            var current = (Dictionary<string, THook>)table.GetValue(module)!;
            var copy = new Dictionary<string, THook>(current) { [key] = hook };
            table.SetValue(module, copy);
        }

        removers.Push(() =>
        {
            lock (TableLock)
            {
                var current = (Dictionary<string, THook>)table.GetValue(module)!;
                if (current.ContainsKey(key))
                {
                    var copy = new Dictionary<string, THook>(current);
                    copy.Remove(key);
                    table.SetValue(module, copy);
                }
            }
        });
    }

    /// <summary>The <c>pre_hooks</c> and <c>post_hooks</c> dictionaries of a module type, found once per type.</summary>
    private static class ForeignHookFields
    {
        private static readonly System.Collections.Concurrent.ConcurrentDictionary<Type, FieldInfo[]> Fields = new();

        public static FieldInfo[] For(Type type) => Fields.GetOrAdd(type, static t =>
        {
            var found = new List<FieldInfo>();
            for (var current = t; current is not null && current != typeof(object); current = current.BaseType)
            {
                if (current.IsGenericType && current.GetGenericTypeDefinition() == typeof(nn.HookableModule<,>))
                {
                    found.AddRange(new[] { "pre_hooks", "post_hooks" }
                        .Select(name => current.GetField(name, BindingFlags.NonPublic | BindingFlags.Instance))
                        .OfType<FieldInfo>());
                }
            }

            return [.. found];
        });
    }

    /// <summary>The hook dictionaries TorchSharp's <c>HookableModule</c> keeps (fields <c>pre_hooks</c> and <c>post_hooks</c>).</summary>
    private static class HookTable<TPre, TPost>
        where TPre : Delegate
        where TPost : Delegate
    {
        private static readonly FieldInfo? Pre = Find("pre_hooks", typeof(TPre));
        private static readonly FieldInfo? Post = Find("post_hooks", typeof(TPost));

        public static FieldInfo Field(string name) => (name == "pre_hooks" ? Pre : Post)
            ?? throw new NotSupportedException(
                $"This TorchSharp version keeps no '{name}' dictionary on HookableModule, which CaptumSharp's layer hooks replace; use the TorchSharp version CaptumSharp was built with.");

        private static FieldInfo? Find(string name, Type hookType)
        {
            var field = typeof(nn.HookableModule<TPre, TPost>).GetField(name, BindingFlags.NonPublic | BindingFlags.Instance);
            return field?.FieldType == typeof(Dictionary<,>).MakeGenericType(typeof(string), hookType) ? field : null;
        }
    }
}
