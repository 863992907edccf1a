using System.Collections;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Reflection;
using Bridge.Core.Connectors;
using Microsoft.Extensions.Configuration;

namespace Bridge.Core.Configuration;

/// <summary>
/// The keys a configuration section may hold, checked before anything is bound, so that a misspelt key (a
/// <c>clearence:</c> that would leave a network uncleared) is an error naming its full path and the nearest valid key,
/// in the bridge's own words, instead of being silently ignored or reported in the binder's wording.
/// </summary>
/// <remarks>
/// Sections bound to option types are derived from those types by reflection (<see cref="FromType"/>), so a property
/// added to an options class is a known key at once; sections read by hand are described explicitly. The types read are
/// named where the schema is built (the options type and the options types nested in it), each annotated so that the
/// trimmer and the Native AOT compiler keep their public properties: nothing is found by following a property's type,
/// which those tools cannot see, and a nested options type that is not named is an error when the schema is built.
/// </remarks>
public abstract class ConfigSchema
{
    /// <summary>Free-form: any keys (e.g. <c>logging:</c>, which belongs to the logging framework).</summary>
    public static ConfigSchema Any { get; } = new AnySchema();

    /// <summary>Checked by another reader that reports its own errors (e.g. <c>policy:</c>).</summary>
    public static ConfigSchema CheckedElsewhere { get; } = new AnySchema();

    /// <summary>A single value that must convert to <paramref name="type"/>.</summary>
    public static ConfigSchema Value(Type type) => new ValueSchema(type);

    /// <summary>A section with exactly these keys (case is ignored, as configuration does).</summary>
    public static ConfigSchema Section(params (string Key, ConfigSchema Schema)[] keys) => new SectionSchema(keys);

    /// <summary>A section whose keys are free (ids), each holding <paramref name="item"/>.</summary>
    public static ConfigSchema MapOf(ConfigSchema item) => new MapSchema(item);

    /// <summary>A list (keys 0, 1, 2...), each item holding <paramref name="item"/>.</summary>
    public static ConfigSchema ListOf(ConfigSchema item) => new ListSchema(item);

    /// <summary>A section whose schema depends on its own values (e.g. a network's <c>kind</c>).</summary>
    public static ConfigSchema Dynamic(Func<IConfigurationSection, ConfigSchema> choose) => new DynamicSchema(choose);

    /// <summary>What the schema reads of an options type: its public properties (kept by trimming and Native AOT).</summary>
    public const DynamicallyAccessedMemberTypes OptionsMembers = DynamicallyAccessedMemberTypes.PublicProperties;

    /// <summary>
    /// The schema of an options type: its public properties, as the configuration binder would bind them. Every options
    /// class its properties hold (directly, or as the items of a list or dictionary) must be in <paramref name="nested"/>;
    /// one that is not is an <see cref="InvalidOperationException"/> here, never a section that allows anything.
    /// </summary>
    public static ConfigSchema FromType([DynamicallyAccessedMembers(OptionsMembers)] Type type, params OptionsType[] nested)
    {
        ArgumentNullException.ThrowIfNull(type);
        ArgumentNullException.ThrowIfNull(nested);
        var known = nested.ToDictionary(n => n.Type);
        known[type] = OptionsType.Of(type);
        return FromType(type, known, depth: 0);
    }

    /// <summary>An options type nested in another, for <see cref="FromType"/>.</summary>
    public static OptionsType Nested([DynamicallyAccessedMembers(OptionsMembers)] Type type) => OptionsType.Of(type);

    /// <summary>Checks <paramref name="section"/> and everything under it; every problem names its full key.</summary>
    public IReadOnlyList<ConfigError> Check(IConfigurationSection section)
    {
        ArgumentNullException.ThrowIfNull(section);
        var errors = new List<ConfigError>();
        if (section.Exists())
        {
            CheckCore(section, errors);
        }

        return errors;
    }

    /// <summary>
    /// Checks a whole configuration against this schema, which must be a <see cref="Section"/>. A top-level key for which
    /// <paramref name="isForeignTopLevelKey"/> is true is left alone (e.g. an environment variable meant for another tool).
    /// </summary>
    public IReadOnlyList<ConfigError> CheckRoot(IConfiguration root, Func<string, bool>? isForeignTopLevelKey = null)
    {
        ArgumentNullException.ThrowIfNull(root);
        if (this is not SectionSchema section)
        {
            throw new InvalidOperationException("the schema of a whole configuration must be a section");
        }

        var errors = new List<ConfigError>();
        section.CheckChildren(root.GetChildren().Where(c => isForeignTopLevelKey is null || !isForeignTopLevelKey(c.Key) || section.Knows(c.Key)), errors);
        return errors;
    }

    internal abstract void CheckCore(IConfigurationSection section, List<ConfigError> errors);

    /// <summary>The bridge's wording for a key no schema knows, with the nearest valid key when one is close.</summary>
    public static ConfigError UnknownKey(string path, string key, IReadOnlyCollection<string> valid)
    {
        ArgumentNullException.ThrowIfNull(valid);
        var nearest = NearestKey(key, valid);
        if (nearest is not null)
        {
            return new ConfigError(path, $"unknown key; did you mean '{nearest}'?");
        }

        return valid.Count == 0
            ? new ConfigError(path, "unknown key; nothing is allowed here")
            : new ConfigError(path, $"unknown key; expected one of: {string.Join(", ", valid)}");
    }

    /// <summary>The valid key closest to <paramref name="key"/> in edit distance, when it is close enough to be a slip.</summary>
    public static string? NearestKey(string key, IEnumerable<string> valid)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(valid);
        string? best = null;
        var bestDistance = int.MaxValue;
        foreach (var candidate in valid)
        {
            var d = EditDistance(key.ToLowerInvariant(), candidate.ToLowerInvariant());
            if (d < bestDistance)
            {
                best = candidate;
                bestDistance = d;
            }
        }

        // A slip is a couple of letters, or a third of a long word; anything further is a different word.
        return best is not null && bestDistance <= Math.Max(2, key.Length / 3) ? best : null;
    }

    /// <summary>Optimal string alignment distance: insertions, deletions, substitutions and adjacent transpositions.</summary>
    internal static int EditDistance(string a, string b)
    {
        var d = new int[a.Length + 1, b.Length + 1];
        for (var i = 0; i <= a.Length; i++)
        {
            d[i, 0] = i;
        }

        for (var j = 0; j <= b.Length; j++)
        {
            d[0, j] = j;
        }

        for (var i = 1; i <= a.Length; i++)
        {
            for (var j = 1; j <= b.Length; j++)
            {
                var cost = a[i - 1] == b[j - 1] ? 0 : 1;
                d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + cost);
                if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                {
                    d[i, j] = Math.Min(d[i, j], d[i - 2, j - 2] + 1);
                }
            }
        }

        return d[a.Length, b.Length];
    }

    private static ConfigSchema FromType(Type type, Dictionary<Type, OptionsType> known, int depth)
    {
        if (depth > 16)
        {
            throw new InvalidOperationException($"options type {type} nests too deeply (a cycle?)");
        }

        var t = Nullable.GetUnderlyingType(type) ?? type;
        if (IsScalar(t))
        {
            return Value(t);
        }

        if (DictionaryValueType(t) is { } valueType)
        {
            return MapOf(FromType(valueType, known, depth + 1));
        }

        if (ElementType(t) is { } element)
        {
            return ListOf(FromType(element, known, depth + 1));
        }

        if (!known.TryGetValue(t, out var options))
        {
            throw new InvalidOperationException(
                $"options type {t} is not named where the configuration schema is built: pass ConfigSchema.Nested(typeof({t.Name})) to ConfigSchema.FromType");
        }

        var keys = new List<(string, ConfigSchema)>();
        foreach (var p in options.Properties)
        {
            if (p.GetMethod is null || p.GetIndexParameters().Length > 0)
            {
                continue;
            }

            var propertyType = Nullable.GetUnderlyingType(p.PropertyType) ?? p.PropertyType;
            // The binder sets public setters, and binds into get-only objects and collections it finds there.
            if (p.SetMethod is not { IsPublic: true } && IsScalar(propertyType))
            {
                continue;
            }

            var name = p.GetCustomAttribute<ConfigurationKeyNameAttribute>()?.Name ?? CamelCase(p.Name);
            keys.Add((name, FromType(p.PropertyType, known, depth + 1)));
        }

        return new SectionSchema(keys);
    }

    private static bool IsScalar(Type t) =>
        t.IsPrimitive || t.IsEnum || t == typeof(string) || t == typeof(decimal) || t == typeof(TimeSpan) || t == typeof(DateTimeOffset) ||
        t == typeof(DateTime) || t == typeof(Guid) || t == typeof(Uri) || t == typeof(object);

    // Collections are recognised by their generic definition (no reflection over a type's interfaces, which trimming
    // may remove): the ones the configuration binder fills. Any other collection is refused when the schema is built.
    private static readonly Type[] Dictionaries = [typeof(Dictionary<,>), typeof(IDictionary<,>), typeof(IReadOnlyDictionary<,>), typeof(SortedDictionary<,>)];

    private static readonly Type[] Lists =
    [
        typeof(List<>), typeof(IList<>), typeof(IReadOnlyList<>), typeof(ICollection<>), typeof(IReadOnlyCollection<>), typeof(IEnumerable<>),
        typeof(HashSet<>), typeof(ISet<>), typeof(IReadOnlySet<>),
    ];

    private static Type? DictionaryValueType(Type t)
    {
        if (t.IsGenericType && Array.IndexOf(Dictionaries, t.GetGenericTypeDefinition()) >= 0)
        {
            var arguments = t.GetGenericArguments();
            return arguments[0] == typeof(string)
                ? arguments[1]
                : throw new InvalidOperationException($"options property of type {t}: a configuration dictionary's keys are strings");
        }

        return null;
    }

    private static Type? ElementType(Type t)
    {
        if (t.IsArray)
        {
            return t.GetElementType();
        }

        if (t.IsGenericType && Array.IndexOf(Lists, t.GetGenericTypeDefinition()) >= 0)
        {
            return t.GetGenericArguments()[0];
        }

        return typeof(IEnumerable).IsAssignableFrom(t)
            ? throw new InvalidOperationException($"options property of type {t}: not a collection the configuration schema knows")
            : null;
    }

    private static string CamelCase(string name) => name.Length == 0 ? name : char.ToLowerInvariant(name[0]) + name[1..];

    private static bool HasChildren(IConfigurationSection s) => s.GetChildren().Any();

    private sealed class AnySchema : ConfigSchema
    {
        internal override void CheckCore(IConfigurationSection section, List<ConfigError> errors)
        {
        }
    }

    private sealed class SectionSchema(IReadOnlyList<(string Key, ConfigSchema Schema)> keys) : ConfigSchema
    {
        private readonly Dictionary<string, ConfigSchema> _byKey = keys.ToDictionary(k => k.Key, k => k.Schema, StringComparer.OrdinalIgnoreCase);
        private readonly string[] _names = keys.Select(k => k.Key).ToArray();

        internal override void CheckCore(IConfigurationSection section, List<ConfigError> errors)
        {
            if (ExpectSection(section, errors))
            {
                CheckChildren(section.GetChildren(), errors);
            }
        }

        internal bool Knows(string key) => _byKey.ContainsKey(key);

        internal void CheckChildren(IEnumerable<IConfigurationSection> children, List<ConfigError> errors)
        {
            foreach (var child in children)
            {
                if (_byKey.TryGetValue(child.Key, out var schema))
                {
                    schema.CheckCore(child, errors);
                }
                else
                {
                    errors.Add(UnknownKey(child.Path, child.Key, _names));
                }
            }
        }
    }

    private sealed class MapSchema(ConfigSchema item) : ConfigSchema
    {
        internal override void CheckCore(IConfigurationSection section, List<ConfigError> errors)
        {
            if (!ExpectSection(section, errors))
            {
                return;
            }

            foreach (var child in section.GetChildren())
            {
                item.CheckCore(child, errors);
            }
        }
    }

    private sealed class ListSchema(ConfigSchema item) : ConfigSchema
    {
        internal override void CheckCore(IConfigurationSection section, List<ConfigError> errors)
        {
            if (!HasChildren(section))
            {
                if (!string.IsNullOrEmpty(section.Value))
                {
                    errors.Add(new ConfigError(section.Path, "expected a list, not a single value"));
                }

                return;
            }

            foreach (var child in section.GetChildren())
            {
                if (!int.TryParse(child.Key, NumberStyles.None, CultureInfo.InvariantCulture, out _))
                {
                    errors.Add(new ConfigError(child.Path, "expected a list item (this is a list)"));
                    continue;
                }

                item.CheckCore(child, errors);
            }
        }
    }

    private sealed class DynamicSchema(Func<IConfigurationSection, ConfigSchema> choose) : ConfigSchema
    {
        internal override void CheckCore(IConfigurationSection section, List<ConfigError> errors) => choose(section).CheckCore(section, errors);
    }

    private sealed class ValueSchema(Type type) : ConfigSchema
    {
        internal override void CheckCore(IConfigurationSection section, List<ConfigError> errors)
        {
            if (HasChildren(section))
            {
                if (type != typeof(object))
                {
                    errors.Add(new ConfigError(section.Path, "expected a single value, not a section"));
                }

                return;
            }

            var value = section.Value;
            if (string.IsNullOrEmpty(value) || type == typeof(string) || type == typeof(object))
            {
                return; // empty: the default stays
            }

            if (Problem(value) is { } problem)
            {
                errors.Add(new ConfigError(section.Path, problem));
            }
        }

        private string? Problem(string value)
        {
            var v = value.Trim();
            if (type == typeof(bool))
            {
                return bool.TryParse(v, out _) ? null : $"'{value}' is not true or false";
            }

            if (type == typeof(int) || type == typeof(long) || type == typeof(short) || type == typeof(uint) || type == typeof(ulong) || type == typeof(ushort) || type == typeof(byte))
            {
                return decimal.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) && Fits(n) ? null : $"'{value}' is not a whole number{Range()}";
            }

            if (type == typeof(double) || type == typeof(float) || type == typeof(decimal))
            {
                return double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out _) ? null : $"'{value}' is not a number";
            }

            if (type == typeof(TimeSpan))
            {
                return TimeSpan.TryParse(v, CultureInfo.InvariantCulture, out _) ? null : $"'{value}' is not a duration such as 00:00:30 (hh:mm:ss)";
            }

            if (type.IsEnum)
            {
                var names = Enum.GetNames(type);
                return names.Any(n => string.Equals(n, v, StringComparison.OrdinalIgnoreCase))
                    ? null
                    : $"'{value}' is not one of: {string.Join(", ", names.Select(CamelCase))}";
            }

            if (type == typeof(Uri))
            {
                return Uri.TryCreate(v, UriKind.RelativeOrAbsolute, out _) ? null : $"'{value}' is not a URL";
            }

            // The rest of IsScalar's types, parsed as their TypeConverter (what the binder uses) parses them.
            var valid = type switch
            {
                _ when type == typeof(sbyte) => sbyte.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out _),
                _ when type == typeof(nint) => nint.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out _),
                _ when type == typeof(nuint) => nuint.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out _),
                _ when type == typeof(char) => value.Length == 1 || v.Length <= 1,
                _ when type == typeof(DateTime) => DateTime.TryParse(v, CultureInfo.InvariantCulture, DateTimeStyles.None, out _),
                _ when type == typeof(DateTimeOffset) => DateTimeOffset.TryParse(v, CultureInfo.InvariantCulture, DateTimeStyles.None, out _),
                _ when type == typeof(Guid) => Guid.TryParse(v, out _),
                _ => throw new InvalidOperationException($"the configuration schema cannot check a value of type {type}"),
            };
            return valid ? null : $"'{value}' is not a valid {type.Name}";
        }

        private bool Fits(decimal n) => type switch
        {
            _ when type == typeof(int) => n is >= int.MinValue and <= int.MaxValue,
            _ when type == typeof(long) => n is >= long.MinValue and <= long.MaxValue,
            _ when type == typeof(short) => n is >= short.MinValue and <= short.MaxValue,
            _ when type == typeof(uint) => n is >= 0 and <= uint.MaxValue,
            _ when type == typeof(ulong) => n is >= 0 and <= ulong.MaxValue,
            _ when type == typeof(ushort) => n is >= 0 and <= ushort.MaxValue,
            _ => n is >= 0 and <= byte.MaxValue,
        };

        private string Range() => type == typeof(int) ? $" (up to {int.MaxValue})" : "";
    }

    /// <summary>A value where keys belong is an error (keys under an empty <c>key:</c> are fine).</summary>
    private static bool ExpectSection(IConfigurationSection section, List<ConfigError> errors)
    {
        if (!HasChildren(section) && !string.IsNullOrEmpty(section.Value))
        {
            errors.Add(new ConfigError(section.Path, $"expected a section with keys under it, not the value '{section.Value}'"));
            return false;
        }

        return true;
    }
}

/// <summary>An options type whose public properties <see cref="ConfigSchema.FromType"/> reads (see <see cref="ConfigSchema.Nested"/>).</summary>
public sealed class OptionsType
{
    private OptionsType(Type type, PropertyInfo[] properties)
    {
        Type = type;
        Properties = properties;
    }

    public Type Type { get; }

    internal IReadOnlyList<PropertyInfo> Properties { get; }

    internal static OptionsType Of([DynamicallyAccessedMembers(ConfigSchema.OptionsMembers)] Type type) =>
        new(type, type.GetProperties(BindingFlags.Public | BindingFlags.Instance));
}
