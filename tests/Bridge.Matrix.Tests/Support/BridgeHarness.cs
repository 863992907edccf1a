using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Bridge.Core.Configuration;
using Bridge.Core.Connectors;
using Bridge.Core.Model;
using Bridge.Matrix.Configuration;
using Bridge.Matrix.Connector;
using Bridge.Testing;
using Microsoft.Extensions.Logging.Abstractions;
using Sandbox.Matrix;
using Sandbox.Matrix.Appservices;

namespace Bridge.Matrix.Tests.Support;

/// <summary>
/// A sandbox homeserver with a linked private room (<c>#ops:localhost</c>, created by alice) and a Matrix connector
/// registered as its appservice, with the bridge bot invited and joined.
/// </summary>
internal sealed class BridgeHarness : IAsyncDisposable
{
    public const string AsToken = "as-token-for-tests";
    public const string HsToken = "hs-token-for-tests";
    public const string Network = "matrix";
    public const string Channel = "#ops:localhost";
    public const string Bot = "@_bridge_bot:localhost";

    private BridgeHarness(MatrixSandbox sandbox, MatrixConnector connector, RecordingSink sink, InMemoryStateStore state, SandboxUser alice, string roomId)
    {
        Sandbox = sandbox;
        Connector = connector;
        Sink = sink;
        State = state;
        Alice = alice;
        RoomId = roomId;
    }

    public MatrixSandbox Sandbox { get; }

    public MatrixConnector Connector { get; }

    public RecordingSink Sink { get; }

    public InMemoryStateStore State { get; }

    /// <summary>The puppet the default <see cref="Request"/> sender (Carol on XMPP) gets: readable handle, stable suffix.</summary>
    public static string CarolPuppet { get; } =
        "@" + Bridge.Matrix.Puppets.PuppetNaming.Localpart("_bridge_", new PersonRef { NetworkId = "xmpp", UserId = "carol@example.org", DisplayName = "Carol" }) + ":localhost";

    public SandboxUser Alice { get; }

    public string RoomId { get; }

    public HttpClient Http { get; } = new();

    /// <summary>Typing the connector reported to the core (inbound m.typing).</summary>
    public RecordingTyping Typing { get; private init; } = new();

    public static async Task<BridgeHarness> StartAsync(bool legacyHomeserver = false, Action<MatrixSandboxOptions>? sandboxOptions = null,
        Action<MatrixOptions>? connectorOptions = null, Action<AppserviceRegistration>? registration = null, IServiceProvider? services = null,
        IEventSink? core = null)
    {
        var options = new MatrixSandboxOptions
        {
            TransactionRetryMin = TimeSpan.FromMilliseconds(50),
            TransactionRetryMax = TimeSpan.FromMilliseconds(500),
            AppserviceRequestTimeout = TimeSpan.FromSeconds(10),
            UseLegacyAppservicePaths = legacyHomeserver,
        };
        sandboxOptions?.Invoke(options);
        var sandbox = new MatrixSandbox(options);
        await sandbox.StartAsync();
        var alice = sandbox.CreateUser("alice");
        sandbox.SetDisplayName(alice.UserId, "Alice Liddell");
        var roomId = sandbox.CreateRoom(alice.UserId, name: "Ops", aliasLocalpart: "ops");

        var sink = new RecordingSink();
        var state = new InMemoryStateStore();
        var typing = new RecordingTyping();
        var connector = CreateConnector(sandbox.BaseUrl, core ?? sink, state, configure: connectorOptions, typing: typing, services: services);
        await connector.StartAsync(CancellationToken.None);
        var reg = Registration(connector.ListenUrl!);
        registration?.Invoke(reg);
        sandbox.AddAppservice(reg);
        sandbox.Invite(roomId, alice.UserId, Bot);
        await WaitUntilAsync(() => connector.IsReady && sandbox.GetMembers(roomId).Contains(Bot));
        return new BridgeHarness(sandbox, connector, sink, state, alice, roomId) { Typing = typing };
    }

    /// <summary>The harness's one link: <c>#ops:localhost</c> on Matrix with a MUC on XMPP.</summary>
    public static BridgeTopology Topology() => new(
        [new NetworkDefinition { Id = Network, Kind = NetworkKind.Matrix }, new NetworkDefinition { Id = "xmpp", Kind = NetworkKind.Xmpp }],
        [new LinkDefinition { Id = "ops", Endpoints = [new ChannelRef(Network, Channel), new ChannelRef("xmpp", "ops@conference.example.org")] }]);

    public static MatrixConnector CreateConnector(Uri homeserver, IEventSink sink, InMemoryStateStore state, string listen = "http://127.0.0.1:0",
        Action<MatrixOptions>? configure = null, Bridge.Core.Typing.ITypingSink? typing = null, IServiceProvider? services = null)
    {
        var topology = Topology();
        // The core's media path over this connector alone: files whose source is this network are read back through it.
        var registry = new ConnectorRegistry();
        var context = new ConnectorContext
        {
            Sink = sink,
            State = state,
            Topology = topology,
            LoggerFactory = NullLoggerFactory.Instance,
            Media = new Bridge.Core.Media.MediaReader(registry, NullLogger.Instance),
            Typing = typing ?? Bridge.Core.Typing.NoTyping.Instance,
            Services = services,
        };
        var options = new MatrixOptions
        {
            HomeserverUrl = homeserver.ToString(),
            ServerName = "localhost",
            Listen = listen,
            AsToken = AsToken,
            HsToken = HsToken,
            RequestTimeout = TimeSpan.FromSeconds(10),
        };
        configure?.Invoke(options);
        var connector = new MatrixConnector(new NetworkDefinition { Id = Network, Kind = NetworkKind.Matrix }, options, context);
        registry.Add(connector);
        return connector;
    }

    public static AppserviceRegistration Registration(Uri url)
    {
        var reg = new AppserviceRegistration
        {
            Id = "bridge",
            Url = url.ToString(),
            AsToken = AsToken,
            HsToken = HsToken,
            SenderLocalpart = "_bridge_bot",
        };
        reg.Users.Add(new NamespaceEntry { Exclusive = true, Regex = "@_bridge_.*:localhost" });
        reg.Aliases.Add(new NamespaceEntry { Exclusive = true, Regex = "#_bridge_.*:localhost" });
        return reg;
    }

    /// <summary>Sends a raw request to the connector's appservice listener.</summary>
    public async Task<(int Status, JsonObject Body)> PutTransactionAsync(string path, string body, string? bearer = HsToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Put, new Uri(Connector.ListenUrl!, path))
        {
            Content = new StringContent(body, Encoding.UTF8, "application/json"),
        };
        if (bearer is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", bearer);
        }

        using var response = await Http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return ((int)response.StatusCode, JsonNode.Parse(text) as JsonObject ?? []);
    }

    public DeliveryRequest Request(long outboxId, string text, BridgeEventKind kind = BridgeEventKind.Message, MessageKind messageKind = MessageKind.Text,
        string? target = null, string? html = null, string personId = "carol@example.org", string personName = "Carol")
    {
        var e = new BridgeEvent
        {
            NetworkId = "xmpp",
            ChannelId = "ops@conference.example.org",
            NativeId = "xmpp-" + outboxId,
            Kind = kind,
            MessageKind = messageKind,
            Sender = new PersonRef { NetworkId = "xmpp", UserId = personId, DisplayName = personName },
            Text = text,
            Html = html,
            ReactionKey = kind is BridgeEventKind.Reaction or BridgeEventKind.ReactionRemoved ? "👍" : null,
        };
        return new DeliveryRequest
        {
            OutboxId = outboxId,
            LinkId = "ops",
            Destination = new ChannelRef(Network, Channel),
            Event = e,
            TargetNativeId = target,
        };
    }

    public static async Task WaitUntilAsync(Func<bool> condition, int timeoutMs = 15_000)
    {
        var deadline = Environment.TickCount64 + timeoutMs;
        while (!condition())
        {
            Assert.True(Environment.TickCount64 < deadline, "condition not reached in time");
            await Task.Delay(20);
        }
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await Connector.DisposeAsync();
        await Sandbox.DisposeAsync();
    }
}
