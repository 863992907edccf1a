using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Primitives;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Bridge.Host.Configuration;

/// <summary>
/// Reads a YAML file into configuration keys the .NET way (<c>networks:org-a:xmpp:port</c>, sequences by index), so
/// environment variables (<c>BRIDGE_NETWORKS__ORG-A__XMPP__PORT</c>) override any key. A value may refer to an
/// environment variable as <c>${NAME}</c> (see <see cref="EnvironmentSubstitution"/>).
/// </summary>
/// <remarks>
/// Reloads (file watch, SIGHUP) never lose the configuration in force: the base file provider empties its data when the
/// file is missing or unreadable on a reload, and an empty configuration has no <c>policy:</c> section, which would put
/// "no rules" in force (fail open). Here such a reload, and one whose file is empty or lacks a top-level section the
/// configuration in force has (a file cut off part-way), keeps the last good data and raises <see cref="ReloadFailed"/>.
/// At start an empty file is an error.
/// </remarks>
internal sealed class YamlConfigurationProvider : FileConfigurationProvider
{
    private readonly ConfigFileWatch? _fileWatch;
    private readonly IDisposable? _watch;
    private bool _loaded;

    public YamlConfigurationProvider(YamlConfigurationSource source)
        : base(source)
    {
        // Our own watch (the base provider's is off, see YamlConfigurationSource.WatchForChanges) so that every
        // reload goes through Load() below, and one that looks at this file only (ConfigFileWatch says why).
        if (source.WatchForChanges && source.FileProvider?.GetFileInfo(source.Path ?? "").PhysicalPath is { } path)
        {
            var fileWatch = _fileWatch = new ConfigFileWatch(path, source.Time) { HandlerFailed = ex => ApplyFailed?.Invoke(ex) };
            _watch = ChangeToken.OnChange(fileWatch.Watch, () =>
            {
                Thread.Sleep(source.ReloadDelay); // let the writer finish, as the base provider does
                try
                {
                    Load();
                }
                catch (Exception ex)
                {
                    // The file was read and taken; something that follows the reload (a binding of the new values)
                    // threw. Reported, never thrown on the watch's timer, where it would end the process.
                    ApplyFailed?.Invoke(ex);
                }
            });
        }
    }

    /// <summary>A reload found the file missing or unreadable (the message says why); the configuration in force is kept.</summary>
    public event Action<string>? ReloadFailed;

    /// <summary>A watched reload took the file, and what follows a reload (the handlers of the reload token) threw.</summary>
    public event Action<Exception>? ApplyFailed;

    public override void Load()
    {
        if (!_loaded)
        {
            base.Load(); // at start every problem is fatal
            _loaded = true;
            return;
        }

        var file = Source.FileProvider?.GetFileInfo(Source.Path ?? "");
        if (file is null || !file.Exists)
        {
            ReloadFailed?.Invoke($"{Source.Path}: the file is missing");
            return;
        }

        Dictionary<string, string?> data;
        try
        {
            using var stream = file.CreateReadStream();
            data = Parse(stream, ((YamlConfigurationSource)Source).Environment);
        }
        catch (Exception ex) when (ex is FormatException or IOException or UnauthorizedAccessException or InvalidCastException)
        {
            ReloadFailed?.Invoke($"{Source.Path}: {ex.Message}");
            return;
        }

        if (data.Values.All(string.IsNullOrWhiteSpace))
        {
            ReloadFailed?.Invoke($"{Source.Path}: the file is empty (a partly written file?)");
            return;
        }

        var lost = SectionsWithContent(Data).Except(SectionsWithContent(data), StringComparer.OrdinalIgnoreCase).Order(StringComparer.Ordinal).ToList();
        if (lost.Count > 0)
        {
            // A file cut off part-way parses as valid YAML that simply ends early: a section that vanished is far more
            // often a truncated or half-written file than a deliberate removal, and removing e.g. policy: would open the gate.
            ReloadFailed?.Invoke($"{Source.Path}: the top-level section(s) {string.Join(", ", lost.Select(l => $"'{l}'"))} in force are missing from the file (cut off?); remove a section with a restart");
            return;
        }

        Data = data;
        OnReload();
    }

    public override void Load(Stream stream)
    {
        var data = Parse(stream, ((YamlConfigurationSource)Source).Environment);
        if (data.Values.All(string.IsNullOrWhiteSpace))
        {
            throw new FormatException("the file is empty: it holds no settings");
        }

        Data = data;
    }

    /// <summary>Top-level keys under which at least one setting has a value.</summary>
    private static HashSet<string> SectionsWithContent(IDictionary<string, string?> data) =>
        data.Where(kv => !string.IsNullOrWhiteSpace(kv.Value))
            .Select(kv => kv.Key.Split(ConfigurationPath.KeyDelimiter, 2)[0])
            .ToHashSet(StringComparer.OrdinalIgnoreCase);

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _watch?.Dispose();
            _fileWatch?.Dispose();
        }

        base.Dispose(disposing);
    }

    internal static Dictionary<string, string?> Parse(Stream stream, Func<string, string?>? environment = null)
    {
        var data = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        var yaml = new YamlStream();
        try
        {
            using var reader = new StreamReader(stream);
            yaml.Load(reader);
        }
        catch (YamlException ex)
        {
            throw new FormatException($"YAML syntax error at line {ex.Start.Line}, column {ex.Start.Column}: {ex.InnerException?.Message ?? ex.Message}");
        }

        if (yaml.Documents.Count > 0)
        {
            new Flattener(data).Flatten(yaml.Documents[0].RootNode, "", 0);
        }

        environment ??= Environment.GetEnvironmentVariable;
        foreach (var key in data.Keys.ToList())
        {
            data[key] = EnvironmentSubstitution.Apply(data[key], key, environment);
        }

        return data;
    }

    /// <summary>
    /// Turns the YAML tree into configuration keys. Aliases make the tree a graph: an alias inside the node it names
    /// (<c>a: &amp;x {b: *x}</c>) used to recurse until the stack overflowed, and aliases of aliases expand
    /// exponentially, so nesting and the number of keys are bounded and such a file is a <see cref="FormatException"/>.
    /// </summary>
    private sealed class Flattener(Dictionary<string, string?> data)
    {
        /// <summary>Far deeper than any bridge configuration nests.</summary>
        private const int MaxDepth = 64;

        /// <summary>Far more keys than any bridge configuration has.</summary>
        private const int MaxKeys = 100_000;

        /// <summary>Every proper prefix of a key set so far: a later key equal to one is a duplicate section.</summary>
        private readonly HashSet<string> _sections = new(StringComparer.OrdinalIgnoreCase);

        public void Flatten(YamlNode node, string prefix, int depth)
        {
            if (depth > MaxDepth)
            {
                throw new FormatException($"nesting deeper than {MaxDepth} levels (or an alias inside the node it names) at line {node.Start.Line}");
            }

            switch (node)
            {
                case YamlMappingNode map:
                    foreach (var (key, value) in map.Children)
                    {
                        if (key is not YamlScalarNode scalarKey)
                        {
                            throw new FormatException($"a key that is not a plain value (a list or a map used as a key) at line {key.Start.Line}");
                        }

                        var name = scalarKey.Value ?? "";
                        var path = prefix.Length == 0 ? name : ConfigurationPath.Combine(prefix, name);
                        if (data.ContainsKey(path) || _sections.Contains(path))
                        {
                            throw new FormatException($"duplicate key '{path}' at line {key.Start.Line}");
                        }

                        Flatten(value, path, depth + 1);
                    }

                    break;
                case YamlSequenceNode seq:
                    for (var i = 0; i < seq.Children.Count; i++)
                    {
                        Flatten(seq.Children[i], ConfigurationPath.Combine(prefix, i.ToString(System.Globalization.CultureInfo.InvariantCulture)), depth + 1);
                    }

                    break;
                case YamlScalarNode scalar:
                    if (data.Count >= MaxKeys)
                    {
                        throw new FormatException($"more than {MaxKeys} settings (aliases expanding?) at line {node.Start.Line}");
                    }

                    // YAML null (~, null, empty) becomes an empty value, as JSON null does in .NET configuration.
                    var isNull = scalar.Style == YamlDotNet.Core.ScalarStyle.Plain && scalar.Value is null or "~" or "null" or "";
                    data[prefix] = isNull ? "" : scalar.Value;
                    for (var cut = prefix.LastIndexOf(ConfigurationPath.KeyDelimiter, StringComparison.Ordinal); cut > 0;
                         cut = prefix.LastIndexOf(ConfigurationPath.KeyDelimiter, cut - 1, StringComparison.Ordinal))
                    {
                        if (!_sections.Add(prefix[..cut]))
                        {
                            break; // its own prefixes are in already
                        }
                    }

                    break;
            }
        }
    }
}

internal sealed class YamlConfigurationSource : FileConfigurationSource
{
    /// <summary>Reload when the file changes. Use this rather than <c>ReloadOnChange</c>, whose reloads can lose the data.</summary>
    public bool WatchForChanges { get; set; }

    /// <summary>The clock of the file watch's looks (<see cref="ConfigFileWatch"/>).</summary>
    public TimeProvider Time { get; set; } = TimeProvider.System;

    /// <summary>Looks up the environment variables that <c>${NAME}</c> in a value refers to.</summary>
    public Func<string, string?> Environment { get; set; } = System.Environment.GetEnvironmentVariable;

    public override IConfigurationProvider Build(IConfigurationBuilder builder)
    {
        EnsureDefaults(builder);
        return new YamlConfigurationProvider(this);
    }
}
