using Bridge.Core.Configuration;
using Bridge.Core.Connectors;
using Bridge.Core.Delivery;
using Bridge.Core.Model;
using Bridge.Core.Policy;
using Bridge.Core.Routing;
using Bridge.Core.Runtime;
using Bridge.Core.Storage.Sqlite;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Sandbox.Mattermost;

namespace Bridge.Mattermost.Tests;

/// <summary>
/// Two Mattermost servers (two organisations) linked through the real core: router, SQLite store, delivery workers and
/// the connector built by its factory from configuration.
/// </summary>
public sealed class RuntimeTests : IAsyncLifetime
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "mm-runtime-" + Guid.NewGuid().ToString("N"));
    private MattermostSandbox _a = null!;
    private MattermostSandbox _b = null!;
    private SandboxSeed _seedA = null!;
    private SandboxSeed _seedB = null!;
    private BridgeRuntime _runtime = null!;
    private ConnectorRegistry _registry = null!;
    private SqliteBridgeStore _store = null!;

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_dir);
        (_a, _seedA) = await StartServerAsync();
        (_b, _seedB) = await StartServerAsync();
        var config = new ConfigurationBuilder()
            .AddInMemoryCollection(_a.BridgeConfiguration("mma", _seedA, "org-a"))
            .AddInMemoryCollection(_b.BridgeConfiguration("mmb", _seedB, "org-b"))
            .Build();
        var topology = new BridgeTopology(
            [
                new NetworkDefinition { Id = "mma", Kind = NetworkKind.Mattermost, Organisation = "org-a" },
                new NetworkDefinition { Id = "mmb", Kind = NetworkKind.Mattermost, Organisation = "org-b" },
            ],
            [new LinkDefinition { Id = "ops", Endpoints = [new ChannelRef("mma", "town-square"), new ChannelRef("mmb", "demo/town-square")] }]);
        var factory = new MattermostConnectorFactory();
        foreach (var network in topology.Networks)
        {
            Assert.Empty(factory.Validate(network, config.GetSection($"networks:{network.Id}")));
        }
        _store = new SqliteBridgeStore(new SqliteStoreOptions { Path = Path.Combine(_dir, "bridge.db") }, NullLogger<SqliteBridgeStore>.Instance);
        _registry = new ConnectorRegistry();
        var signals = new DeliverySignals();
        var router = new BridgeRouter(_store, topology, new AllowAllPolicy(), signals, _registry, new AuditOptions(), NullLogger<BridgeRouter>.Instance);
        var services = new ServiceCollection().BuildServiceProvider();
        _runtime = new BridgeRuntime(_store, topology, [factory], config, _registry, signals,
            new DeliveryOptions { InitialBackoff = TimeSpan.FromMilliseconds(100), MaxBackoff = TimeSpan.FromSeconds(1) },
            router, NullLoggerFactory.Instance, services);
        await _runtime.StartAsync(CancellationToken.None);
        foreach (var c in _registry.All.Cast<MattermostConnector>())
        {
            await c.Started.WaitAsync(TimeSpan.FromSeconds(15));
            await MmHarness.WaitUntilAsync(() => c.IsReady, "connector ready");
        }
    }

    private static async Task<(MattermostSandbox, SandboxSeed)> StartServerAsync()
    {
        var sandbox = new MattermostSandbox(new SandboxSettings { EnableUserAccessTokens = true, EnableBotAccountCreation = true, EnablePostUsernameOverride = true });
        await sandbox.StartAsync();
        return (sandbox, sandbox.Seed());
    }

    private static SandboxUser Member(MattermostSandbox s, SandboxSeed seed, string name)
    {
        var u = s.CreateUser(name);
        s.AddToTeam(seed.Team.Id, u.Id);
        s.AddToChannel(seed.Channel.Id, u.Id);
        return u;
    }

    private static SandboxPost? Find(MattermostSandbox s, SandboxSeed seed, string message) =>
        s.GetPosts(seed.Channel.Id).FirstOrDefault(p => p.Message == message);

    [Fact]
    public async Task Messages_replies_edits_reactions_and_deletes_cross_between_two_servers()
    {
        var alice = Member(_a, _seedA, "alice");
        var bob = Member(_b, _seedB, "bob");

        var hello = _a.Post(alice.Id, _seedA.Channel.Id, "hello from org A");
        await MmHarness.WaitUntilAsync(() => Find(_b, _seedB, "hello from org A") is not null, "message on B");
        var mirrored = Find(_b, _seedB, "hello from org A")!;
        Assert.Matches("^br-alice-[a-z2-9]{5}$", _b.GetUser(mirrored.UserId).Username);

        var reply = _b.Post(bob.Id, _seedB.Channel.Id, "hi alice", rootId: mirrored.Id);
        await MmHarness.WaitUntilAsync(() => Find(_a, _seedA, "hi alice") is not null, "reply on A");
        Assert.Equal(hello.Id, Find(_a, _seedA, "hi alice")!.RootId);

        _a.EditPost(alice.Id, hello.Id, "hello from org A (edited)");
        _b.React(bob.Id, mirrored.Id, "+1");
        await MmHarness.WaitUntilAsync(() => _b.GetPosts(_seedB.Channel.Id).Single(p => p.Id == mirrored.Id).Message == "hello from org A (edited)", "edit on B");
        await MmHarness.WaitUntilAsync(() => _a.GetPosts(_seedA.Channel.Id).Single(p => p.Id == hello.Id).Reactions.Count == 1, "reaction on A");
        Assert.Equal("+1", _a.GetPosts(_seedA.Channel.Id).Single(p => p.Id == hello.Id).Reactions[0].EmojiName);

        _a.DeletePost(alice.Id, hello.Id);
        await MmHarness.WaitUntilAsync(() => _b.GetPosts(_seedB.Channel.Id).Single(p => p.Id == mirrored.Id).IsDeleted, "delete on B");

        // Nothing loops: each side holds exactly one copy of each message.
        await Task.Delay(500);
        Assert.Single(_a.GetPosts(_seedA.Channel.Id), p => p.Message == "hi alice");
        Assert.Single(_b.GetPosts(_seedB.Channel.Id), p => p.Message.StartsWith("hello from org A", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_destination_outage_loses_and_doubles_nothing()
    {
        var alice = Member(_a, _seedA, "alice");
        await _b.StopAsync();
        var sent = Enumerable.Range(0, 5).Select(i => _a.Post(alice.Id, _seedA.Channel.Id, $"during outage {i}")).ToList();
        await Task.Delay(1500);
        await _b.StartAsync();
        await MmHarness.WaitUntilAsync(() => Enumerable.Range(0, 5).All(i => Find(_b, _seedB, $"during outage {i}") is not null), "all five on B", timeoutMs: 30000);
        var onB = _b.GetPosts(_seedB.Channel.Id).Where(p => p.Message.StartsWith("during outage", StringComparison.Ordinal)).Select(p => p.Message).ToList();
        Assert.Equal(sent.Select(p => p.Message), onB);
    }

    public async Task DisposeAsync()
    {
        await _runtime.StopAsync(CancellationToken.None);
        await _store.DisposeAsync();
        await _a.DisposeAsync();
        await _b.DisposeAsync();
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
