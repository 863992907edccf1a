using Bridge.Core.Configuration;
using Bridge.Core.Connectors;
using Bridge.Core.Delivery;
using Bridge.Core.Model;
using Bridge.Core.Policy;
using Bridge.Core.Routing;
using Bridge.Core.Storage;
using Bridge.Core.Storage.Sqlite;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging.Abstractions;
using YamlDotNet.RepresentationModel;

namespace Bridge.Policy.Tests;

/// <summary>Builders shared by the tests: configuration from pairs or YAML, events, contexts, a real router over SQLite.</summary>
internal static class TestSupport
{
    public static IConfigurationRoot Config(params (string Key, string? Value)[] pairs) =>
        new ConfigurationBuilder().AddInMemoryCollection(pairs.Select(p => new KeyValuePair<string, string?>(p.Key, p.Value))).Build();

    /// <summary>Flattens YAML into IConfiguration keys the way a YAML configuration provider does (lists become 0, 1, ...).</summary>
    public static IConfigurationRoot Yaml(string yaml)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(yaml));
        var data = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        if (stream.Documents.Count > 0)
        {
            Flatten(stream.Documents[0].RootNode, "", data);
        }

        return new ConfigurationBuilder().AddInMemoryCollection(data).Build();
    }

    private static void Flatten(YamlNode node, string prefix, Dictionary<string, string?> data)
    {
        switch (node)
        {
            case YamlMappingNode map:
                foreach (var (k, v) in map.Children)
                {
                    Flatten(v, prefix.Length == 0 ? ((YamlScalarNode)k).Value! : $"{prefix}:{((YamlScalarNode)k).Value}", data);
                }

                break;
            case YamlSequenceNode seq:
                for (var i = 0; i < seq.Children.Count; i++)
                {
                    Flatten(seq.Children[i], $"{prefix}:{i}", data);
                }

                break;
            case YamlScalarNode scalar:
                // As the host's YAML provider does: a YAML null becomes an empty value.
                data[prefix] = scalar.Style == YamlDotNet.Core.ScalarStyle.Plain && scalar.Value is null or "~" or "null" ? "" : scalar.Value;
                break;
        }
    }

    public static CompiledPolicy Compile(IConfiguration config, BridgeTopology? topology = null)
    {
        var result = PolicyCompiler.Compile(config.GetSection("policy"), topology);
        Assert.True(result.Succeeded, string.Join("\n", result.Errors));
        return result.Policy!;
    }

    public static CompiledPolicy Compile(string yaml, BridgeTopology? topology = null) => Compile(Yaml(yaml), topology);

    public static NetworkDefinition Network(string id, string organisation, string? clearance = null, string? defaultLabel = null) =>
        new() { Id = id, Kind = NetworkKind.Matrix, Organisation = organisation, Clearance = clearance, DefaultLabel = defaultLabel };

    public static BridgeEvent Message(string network, string text, string user = "@alice:a.example", string? org = null, string channel = "room",
        IReadOnlyList<string>? structured = null, string? html = null, IReadOnlyList<Attachment>? attachments = null, string? nativeId = null) => new()
    {
        NetworkId = network,
        ChannelId = channel,
        NativeId = nativeId ?? Guid.NewGuid().ToString("N"),
        Sender = new PersonRef { NetworkId = network, UserId = user, DisplayName = "Alice", Organisation = org },
        Text = text,
        Html = html,
        StructuredLabels = structured ?? [],
        Attachments = attachments ?? [],
    };

    public static LinkDefinition Link(string id, params NetworkDefinition[] networks) =>
        new() { Id = id, Endpoints = networks.Select(n => new ChannelRef(n.Id, "room")).ToList() };

    public static PolicyDecision Decide(ISharingPolicy policy, BridgeEvent e, NetworkDefinition source, NetworkDefinition destination, string linkId = "ops") =>
        policy.Decide(new PolicyContext(e, Link(linkId, source, destination), source, new ChannelRef(destination.Id, "room"), destination));
}

/// <summary>A real router over a real SQLite store in a temporary file, with fake connectors that record notices.</summary>
internal sealed class RouterRig : IAsyncDisposable
{
    private readonly string _path;

    private RouterRig(string path, SqliteBridgeStore store, BridgeTopology topology, BridgeRouter router, List<(string Network, string Notice)> notices)
    {
        _path = path;
        Store = store;
        Topology = topology;
        Router = router;
        Notices = notices;
    }

    public SqliteBridgeStore Store { get; }
    public BridgeTopology Topology { get; }
    public BridgeRouter Router { get; }
    public List<(string Network, string Notice)> Notices { get; }
    public string DatabasePath => _path;

    public static async Task<RouterRig> CreateAsync(IReadOnlyList<NetworkDefinition> networks, ISharingPolicy policy, string linkId = "ops", TimeProvider? time = null)
    {
        var path = Path.Combine(Path.GetTempPath(), $"policy-test-{Guid.NewGuid():N}.db");
        var store = new SqliteBridgeStore(new SqliteStoreOptions { Path = path }, NullLogger<SqliteBridgeStore>.Instance);
        await store.MigrateAsync(CancellationToken.None);
        var topology = new BridgeTopology(networks, [TestSupport.Link(linkId, networks.ToArray())]);
        var notices = new List<(string, string)>();
        var registry = new ConnectorRegistry();
        foreach (var n in networks)
        {
            registry.Add(new NoticeRecorder(n.Id, notices));
        }

        var router = new BridgeRouter(store, topology, policy, new DeliverySignals(), registry, new AuditOptions(), NullLogger<BridgeRouter>.Instance, time);
        return new RouterRig(path, store, topology, router, notices);
    }

    /// <summary>Outbox rows toward each network (all states), read with raw SQL so nothing is hidden by the store's filters.</summary>
    public async Task<Dictionary<string, int>> OutboxCountsAsync()
    {
        await using var c = new SqliteConnection($"Data Source={_path};Pooling=False");
        await c.OpenAsync();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "SELECT dest_network, COUNT(*) FROM outbox GROUP BY dest_network;";
        var result = new Dictionary<string, int>(StringComparer.Ordinal);
        using var r = await cmd.ExecuteReaderAsync();
        while (await r.ReadAsync())
        {
            result[r.GetString(0)] = r.GetInt32(1);
        }

        return result;
    }

    public async Task<List<string>> OutboxPayloadsAsync(string network)
    {
        await using var c = new SqliteConnection($"Data Source={_path};Pooling=False");
        await c.OpenAsync();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "SELECT payload FROM outbox WHERE dest_network = $n ORDER BY id;";
        cmd.Parameters.AddWithValue("$n", network);
        var list = new List<string>();
        using var r = await cmd.ExecuteReaderAsync();
        while (await r.ReadAsync())
        {
            list.Add(r.GetString(0));
        }

        return list;
    }

    public async Task ExecAsync(string sql)
    {
        await using var c = new SqliteConnection($"Data Source={_path};Pooling=False");
        await c.OpenAsync();
        using var cmd = c.CreateCommand();
        cmd.CommandText = sql;
        await cmd.ExecuteNonQueryAsync();
    }

    public async Task<List<AuditRecord>> AuditAsync()
    {
        var all = new List<AuditRecord>();
        long after = 0;
        while (true)
        {
            var page = await Store.ReadAuditAsync(after, null, 500, CancellationToken.None);
            all.AddRange(page);
            if (page.Count < 500)
            {
                return all;
            }

            after = page[^1].Sequence;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await Store.DisposeAsync();
        foreach (var suffix in new[] { "", "-wal", "-shm" })
        {
            try
            {
                File.Delete(_path + suffix);
            }
            catch (IOException)
            {
                // A leftover temp file is harmless.
            }
        }
    }

    private sealed class NoticeRecorder(string networkId, List<(string, string)> notices) : INetworkConnector
    {
        public string NetworkId => networkId;
        public NetworkKind Kind => NetworkKind.Matrix;
        public bool IsReady => true;
        public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;
        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
        public Task<DeliveryResult> DeliverAsync(DeliveryRequest request, CancellationToken cancellationToken) => throw new NotSupportedException("the tests do not deliver");

        public Task NotifySenderAsync(ChannelRef channel, PersonRef person, string notice, CancellationToken cancellationToken)
        {
            lock (notices)
            {
                notices.Add((networkId, notice));
            }

            return Task.CompletedTask;
        }

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
