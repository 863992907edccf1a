using System.Collections.Concurrent;
using System.Net.Sockets;
using Bridge.Core.Configuration;
using Bridge.Core.Connectors;
using Bridge.Core.Delivery;
using Bridge.Core.Model;
using Bridge.Core.Policy;
using Bridge.Core.Routing;
using Bridge.Core.Runtime;
using Bridge.Core.Storage.Sqlite;
using Bridge.Matrix.Connector;
using Bridge.Matrix.Tests.Support;
using Bridge.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Sandbox.Matrix;

namespace Bridge.Matrix.Tests;

/// <summary>The connector built by its factory from configuration and driven by the real core (router, SQLite outbox, delivery workers).</summary>
public sealed class CoreIntegrationTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("bridge-matrix-core-").FullName;

    [Fact]
    public async Task Messages_flow_both_ways_in_order_under_rate_limits_without_echoes()
    {
        await using var sandbox = new MatrixSandbox(new MatrixSandboxOptions
        {
            TransactionRetryMin = TimeSpan.FromMilliseconds(50),
            TransactionRetryMax = TimeSpan.FromMilliseconds(500),
        });
        await sandbox.StartAsync();
        var alice = sandbox.CreateUser("alice");
        var roomId = sandbox.CreateRoom(alice.UserId, aliasLocalpart: "ops");
        var port = FreePorts.Next();
        sandbox.AddBridgeAppservice(new Uri($"http://127.0.0.1:{port}"), BridgeHarness.AsToken, BridgeHarness.HsToken);

        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["networks:matrix:kind"] = "matrix",
            ["networks:matrix:matrix:homeserverUrl"] = sandbox.BaseUrl.ToString(),
            ["networks:matrix:matrix:serverName"] = "localhost",
            ["networks:matrix:matrix:listen"] = $"http://127.0.0.1:{port}",
            ["networks:matrix:matrix:asToken"] = BridgeHarness.AsToken,
            ["networks:matrix:matrix:hsToken"] = BridgeHarness.HsToken,
            ["networks:xmpp:kind"] = "xmpp",
        }).Build();
        var topology = new BridgeTopology(
            [new NetworkDefinition { Id = "matrix", Kind = NetworkKind.Matrix }, new NetworkDefinition { Id = "xmpp", Kind = NetworkKind.Xmpp }],
            [new LinkDefinition { Id = "ops", Endpoints = [new ChannelRef("matrix", "#ops:localhost"), new ChannelRef("xmpp", "ops@conference.example.org")] }]);
        var factory = new MatrixConnectorFactory();
        Assert.Empty(factory.Validate(topology.GetNetwork("matrix"), configuration.GetSection("networks:matrix")));

        await using var store = new SqliteBridgeStore(new SqliteStoreOptions { Path = Path.Combine(_dir, "bridge.db") }, NullLogger<SqliteBridgeStore>.Instance);
        var signals = new DeliverySignals();
        var registry = new ConnectorRegistry();
        var router = new BridgeRouter(store, topology, new AllowAllPolicy(), signals, registry, new AuditOptions(), NullLogger<BridgeRouter>.Instance);
        var xmpp = new RecordingConnector("xmpp");
        await using var services = new ServiceCollection().BuildServiceProvider();
        var runtime = new BridgeRuntime(store, topology, [factory, new RecordingFactory(xmpp)], configuration, registry, signals,
            new DeliveryOptions { InitialBackoff = TimeSpan.FromMilliseconds(50), MaxBackoff = TimeSpan.FromMilliseconds(500) },
            router, NullLoggerFactory.Instance, services);
        await runtime.StartAsync(CancellationToken.None);
        try
        {
            sandbox.Invite(roomId, alice.UserId, BridgeHarness.Bot);
            await BridgeHarness.WaitUntilAsync(() => registry.Find("matrix")!.IsReady && sandbox.GetMembers(roomId).Contains(BridgeHarness.Bot));

            sandbox.SendMessage(roomId, alice.UserId, "hello xmpp");
            await BridgeHarness.WaitUntilAsync(() => xmpp.Delivered.Any(d => d.Event.Text == "hello xmpp"));

            sandbox.RateLimitPerSecond = 3;
            for (var i = 0; i < 6; i++)
            {
                var e = new BridgeEvent
                {
                    NetworkId = "xmpp",
                    ChannelId = "ops@conference.example.org",
                    NativeId = "xmpp-msg-" + i,
                    Sender = new PersonRef { NetworkId = "xmpp", UserId = "carol@example.org", DisplayName = "Carol" },
                    Text = "m" + i,
                };
                Assert.Equal(IngestOutcome.Accepted, await router.IngestAsync(e, CancellationToken.None));
            }

            await BridgeHarness.WaitUntilAsync(() => sandbox.GetMessages(roomId).Count >= 7, timeoutMs: 30_000);
            var texts = sandbox.GetMessages(roomId).Skip(1).Select(m => m["content"]!["body"]!.GetValue<string>()).ToList();
            Assert.Equal(["m0", "m1", "m2", "m3", "m4", "m5"], texts);
            await BridgeHarness.WaitUntilAsync(() => sandbox.GetPendingEventCount("bridge") == 0);
            Assert.Single(xmpp.Delivered);
        }
        finally
        {
            await runtime.StopAsync(CancellationToken.None);
        }
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private sealed class RecordingFactory(RecordingConnector connector) : INetworkConnectorFactory
    {
        public NetworkKind Kind => NetworkKind.Xmpp;

        public IReadOnlyList<ConfigError> Validate(NetworkDefinition network, IConfigurationSection section) => [];

        public INetworkConnector Create(NetworkDefinition network, IConfigurationSection section, ConnectorContext context) => connector;
    }

    private sealed class RecordingConnector(string networkId) : INetworkConnector
    {
        public ConcurrentQueue<DeliveryRequest> Delivered { get; } = new();

        public string NetworkId { get; } = networkId;

        public NetworkKind Kind => NetworkKind.Xmpp;

        public bool IsReady => true;

        public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task<DeliveryResult> DeliverAsync(DeliveryRequest request, CancellationToken cancellationToken)
        {
            Delivered.Enqueue(request);
            return Task.FromResult(DeliveryResult.Ok("xmpp-" + request.OutboxId));
        }

        public Task NotifySenderAsync(ChannelRef channel, PersonRef person, string notice, CancellationToken cancellationToken) => Task.CompletedTask;

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
