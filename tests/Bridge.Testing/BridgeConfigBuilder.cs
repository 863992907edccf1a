using System.Globalization;
using System.Text;

namespace Bridge.Testing;

/// <summary>Writes a bridge configuration file for tests, benchmarks and the demo.</summary>
public sealed class BridgeConfigBuilder
{
    private readonly List<(string Id, string Kind, string Organisation, IReadOnlyDictionary<string, string> Settings, IReadOnlyDictionary<string, string> Extra)> _networks = [];
    private readonly List<(string Id, (string Network, string Channel)[] Endpoints)> _links = [];
    private readonly List<string> _raw = [];
    private readonly Dictionary<string, string> _languages = new(StringComparer.Ordinal);

    public BridgeConfigBuilder(string databasePath)
    {
        DatabasePath = databasePath;
    }

    public string DatabasePath { get; }

    /// <summary>
    /// The audit chain's HMAC key (base64), generated per configuration as an operator would; null for a plain chain.
    /// Tests that verify the trail read it from the written file, like <c>bridge audit verify</c> does.
    /// </summary>
    public string? AuditKey { get; set; } = Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));

    /// <summary>The key that encrypts puppets' tokens at rest (base64, 32 bytes), generated per configuration; null for none.</summary>
    public string? SecretsKey { get; set; } = Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));

    /// <summary>An XMPP network; <paramref name="viaPort"/> points the component connection at a proxy in front of the server instead.</summary>
    public BridgeConfigBuilder Xmpp(string id, IXmppTestServer server, string? organisation = null, IReadOnlyDictionary<string, string>? extra = null, int? viaPort = null)
    {
        ArgumentNullException.ThrowIfNull(server);
        return Network(id, "xmpp", organisation ?? id, new Dictionary<string, string>
        {
            ["host"] = "127.0.0.1",
            ["port"] = (viaPort ?? server.ComponentPort).ToString(CultureInfo.InvariantCulture),
            ["componentDomain"] = server.ComponentDomain,
            ["secret"] = server.Secret,
            ["reconnectInitialDelay"] = "00:00:00.200",
            ["reconnectMaxDelay"] = "00:00:02",
        }, extra);
    }

    /// <summary>Any network: <paramref name="settings"/> go under the kind's section, <paramref name="extra"/> beside <c>kind</c> (clearance, defaultLabel).</summary>
    public BridgeConfigBuilder Network(string id, string kind, string organisation, IReadOnlyDictionary<string, string> settings, IReadOnlyDictionary<string, string>? extra = null)
    {
        _networks.Add((id, kind, organisation, settings, extra ?? new Dictionary<string, string>()));
        return this;
    }

    /// <summary>A key beside <c>kind</c> of a network already added (e.g. <c>directMessages</c>).</summary>
    public BridgeConfigBuilder NetworkKey(string id, string key, string value)
    {
        _networkKeys.Add((id, key, value));
        return this;
    }

    private readonly List<(string Network, string Key, string Value)> _networkKeys = [];

    /// <summary>A list setting under network <paramref name="id"/>'s kind section (e.g. xmpp <c>fileHosts</c>).</summary>
    public BridgeConfigBuilder ListSetting(string id, string key, params string[] values)
    {
        _lists.Add((id, key, values));
        return this;
    }

    private readonly List<(string Network, string Key, string[] Values)> _lists = [];

    public BridgeConfigBuilder Link(string id, params (string Network, string Channel)[] endpoints)
    {
        _links.Add((id, endpoints));
        return this;
    }

    /// <summary><c>delivery:maxAttempts</c> when set (answered failures before a row is dead-lettered).</summary>
    public int? DeliveryMaxAttempts { get; set; }

    /// <summary>The language people on network <paramref name="id"/> write and read (<c>networks:&lt;id&gt;:language</c>).</summary>
    public BridgeConfigBuilder Language(string id, string language)
    {
        _languages[id] = language;
        return this;
    }

    /// <summary>Raw YAML appended at the top level (policy, delivery, admin sections).</summary>
    public BridgeConfigBuilder Raw(string yaml)
    {
        _raw.Add(yaml);
        return this;
    }

    public string Build()
    {
        var sb = new StringBuilder();
        sb.AppendLine("database:");
        sb.AppendLine("  provider: sqlite");
        sb.AppendLine($"  sqlite: {{ path: {Quote(DatabasePath)} }}");
        if (SecretsKey is not null)
        {
            sb.AppendLine($"  secretsKey: {Quote(SecretsKey)}");
        }

        sb.AppendLine("delivery:");
        sb.AppendLine("  initialBackoff: 00:00:00.200");
        sb.AppendLine("  maxBackoff: 00:00:02");
        if (DeliveryMaxAttempts is { } maxAttempts)
        {
            sb.AppendLine($"  maxAttempts: {maxAttempts.ToString(CultureInfo.InvariantCulture)}");
        }
        sb.AppendLine("networks:");
        foreach (var n in _networks)
        {
            sb.AppendLine($"  {n.Id}:");
            sb.AppendLine($"    kind: {n.Kind}");
            sb.AppendLine($"    organisation: {n.Organisation}");
            if (_languages.TryGetValue(n.Id, out var language))
            {
                sb.AppendLine($"    language: {Quote(language)}");
            }
            foreach (var (k, v) in n.Extra)
            {
                sb.AppendLine($"    {k}: {Quote(v)}");
            }
            foreach (var (_, k, v) in _networkKeys.Where(e => e.Network == n.Id))
            {
                sb.AppendLine($"    {k}: {Quote(v)}");
            }

            sb.AppendLine($"    {n.Kind}:");
            foreach (var (k, v) in n.Settings)
            {
                sb.AppendLine($"      {k}: {Quote(v)}");
            }
            foreach (var list in _lists.Where(l => l.Network == n.Id))
            {
                sb.AppendLine($"      {list.Key}: [{string.Join(", ", list.Values.Select(Quote))}]");
            }
        }

        sb.AppendLine("links:");
        foreach (var l in _links)
        {
            sb.AppendLine($"  {l.Id}:");
            sb.AppendLine("    endpoints:");
            foreach (var (network, channel) in l.Endpoints)
            {
                sb.AppendLine($"      - {{ network: {network}, channel: {Quote(channel)} }}");
            }
        }

        // The audit key joins an audit: section given as raw YAML (one section per key), or gets its own.
        var auditKeyLine = AuditKey is null ? null : $"  key: {Quote(AuditKey)}";
        foreach (var raw in _raw)
        {
            if (auditKeyLine is not null && raw.StartsWith("audit:", StringComparison.Ordinal))
            {
                sb.AppendLine(raw.TrimEnd() + "\n" + auditKeyLine);
                auditKeyLine = null;
                continue;
            }

            sb.AppendLine(raw);
        }

        if (auditKeyLine is not null)
        {
            sb.AppendLine("audit:");
            sb.AppendLine(auditKeyLine);
        }

        return sb.ToString();
    }

    public async Task<string> WriteAsync(string path)
    {
        await File.WriteAllTextAsync(path, Build());
        return path;
    }

    private static string Quote(string value) => "'" + value.Replace("'", "''", StringComparison.Ordinal) + "'";
}
