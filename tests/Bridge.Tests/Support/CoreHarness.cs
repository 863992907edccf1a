using Bridge.Core.Configuration;
using Bridge.Core.Connectors;
using Bridge.Core.Delivery;
using Bridge.Core.Model;
using Bridge.Core.Policy;
using Bridge.Core.Routing;
using Bridge.Core.Storage.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;

using Bridge.Testing;

namespace Bridge.Tests.Support;

/// <summary>A router, a SQLite store in a temp file and fake connectors, wired as the runtime wires them.</summary>
internal sealed class CoreHarness : IAsyncDisposable
{
    private readonly TempDirectory _dir = new();

    public CoreHarness(BridgeTopology topology, ISharingPolicy? policy = null, string? dbPath = null)
    {
        Topology = topology;
        DbPath = dbPath ?? _dir.File("bridge.db");
        Store = new SqliteBridgeStore(new SqliteStoreOptions { Path = DbPath }, NullLogger<SqliteBridgeStore>.Instance);
        foreach (var n in topology.Networks)
        {
            var c = new FakeConnector(n.Id, n.Kind);
            Connectors[n.Id] = c;
            Registry.Add(c);
        }

        Router = new BridgeRouter(Store, topology, policy ?? new AllowAllPolicy(), Signals, Registry, new AuditOptions(), NullLogger<BridgeRouter>.Instance);
    }

    public BridgeTopology Topology { get; }
    public string DbPath { get; }
    public SqliteBridgeStore Store { get; }
    public DeliverySignals Signals { get; } = new();
    public ConnectorRegistry Registry { get; } = new();
    public Dictionary<string, FakeConnector> Connectors { get; } = [];
    public BridgeRouter Router { get; }

    public static BridgeTopology TwoNetworks(params string[] channels)
    {
        var networks = new[]
        {
            new NetworkDefinition { Id = "a", Kind = NetworkKind.Xmpp, Organisation = "org-a" },
            new NetworkDefinition { Id = "b", Kind = NetworkKind.Matrix, Organisation = "org-b" },
        };
        var links = (channels.Length == 0 ? ["room"] : channels).Select(c => new LinkDefinition
        {
            Id = "link-" + c,
            Endpoints = [new ChannelRef("a", c), new ChannelRef("b", c)],
        });
        return new BridgeTopology(networks, links);
    }

    public NetworkDeliveryWorker Worker(string network, DeliveryOptions? options = null) =>
        new(Connectors[network], Store, Signals, options ?? new DeliveryOptions { InitialBackoff = TimeSpan.FromMilliseconds(50), MaxBackoff = TimeSpan.FromMilliseconds(200) },
            NullLogger.Instance, TimeProvider.System, senders: Registry);

    public static BridgeEvent Message(string network, string channel, string nativeId, string text, string user = "alice") => new()
    {
        NetworkId = network,
        ChannelId = channel,
        NativeId = nativeId,
        Sender = new PersonRef { NetworkId = network, UserId = user, DisplayName = user },
        Text = text,
    };

    public async ValueTask DisposeAsync()
    {
        await Store.DisposeAsync();
        _dir.Dispose();
    }
}
