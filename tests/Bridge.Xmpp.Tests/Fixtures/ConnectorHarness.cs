using Bridge.Core.Configuration;
using Bridge.Core.Connectors;
using Bridge.Core.Model;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;

namespace Bridge.Xmpp.Tests.Fixtures;

/// <summary>
/// One XMPP connector (network <c>xmpp-a</c>) built through the public factory, linked room by room to a fake remote
/// network (<c>remote</c>), with a recording sink, in-memory state and captured logs.
/// </summary>
public sealed class ConnectorHarness : IAsyncDisposable
{
    public const string NetworkId = "xmpp-a";
    public const string RemoteNetworkId = "remote";

    private readonly ILoggerFactory _loggerFactory;

    private ConnectorHarness(INetworkConnector connector, RecordingSink sink, InMemoryStateStore state, ListLoggerProvider logs, ILoggerFactory loggerFactory)
    {
        Connector = connector;
        Sink = sink;
        State = state;
        Logs = logs;
        _loggerFactory = loggerFactory;
    }

    public INetworkConnector Connector { get; }

    internal XmppConnector Xmpp => (XmppConnector)Connector;

    public RecordingSink Sink { get; }

    public InMemoryStateStore State { get; }

    public ListLoggerProvider Logs { get; }

    /// <summary>Every wake of the delivery worker the connector asked for (network ids, in order).</summary>
    public System.Collections.Concurrent.ConcurrentQueue<string> Wakes { get; private init; } = new();

    /// <summary>The connectors the media path reads from (this one).</summary>
    public ConnectorRegistry Registry { get; private init; } = new();

    public static IConfigurationSection Section(string host, int port, string componentDomain, string secret, IDictionary<string, string?>? extra = null)
    {
        var values = new Dictionary<string, string?>
        {
            [$"networks:{NetworkId}:kind"] = "xmpp",
            [$"networks:{NetworkId}:xmpp:host"] = host,
            [$"networks:{NetworkId}:xmpp:port"] = port.ToString(),
            [$"networks:{NetworkId}:xmpp:componentDomain"] = componentDomain,
            [$"networks:{NetworkId}:xmpp:secret"] = secret,
            [$"networks:{NetworkId}:xmpp:reconnectInitialDelay"] = "00:00:00.100",
            [$"networks:{NetworkId}:xmpp:reconnectMaxDelay"] = "00:00:01",
            [$"networks:{NetworkId}:xmpp:joinTimeout"] = "00:00:05",
            [$"networks:{NetworkId}:xmpp:sendTimeout"] = "00:00:05",
        };
        foreach (var (key, value) in extra ?? new Dictionary<string, string?>())
        {
            values[$"networks:{NetworkId}:xmpp:{key}"] = value;
        }

        return new ConfigurationBuilder().AddInMemoryCollection(values).Build().GetSection($"networks:{NetworkId}");
    }

    public static async Task<ConnectorHarness> StartAsync(string host, int port, string componentDomain, string secret, IReadOnlyList<string> rooms,
        InMemoryStateStore? state = null, IDictionary<string, string?>? extra = null, Action<XmppOptions>? tune = null,
        Bridge.Core.Typing.ITypingSink? typing = null, TimeProvider? time = null)
    {
        var network = new NetworkDefinition { Id = NetworkId, Kind = NetworkKind.Xmpp, Organisation = "org-x" };
        var remote = new NetworkDefinition { Id = RemoteNetworkId, Kind = NetworkKind.Mattermost, Organisation = "org-r" };
        var links = rooms.Select((room, i) => new LinkDefinition
        {
            Id = $"link-{i}",
            Endpoints = [new ChannelRef(NetworkId, room), new ChannelRef(RemoteNetworkId, $"chan-{i}")],
        });
        var topology = new BridgeTopology([network, remote], links);
        var logs = new ListLoggerProvider();
        var loggerFactory = LoggerFactory.Create(b => b.AddProvider(logs).SetMinimumLevel(LogLevel.Debug));
        var sink = new RecordingSink();
        var wakes = new System.Collections.Concurrent.ConcurrentQueue<string>();
        state ??= new InMemoryStateStore();
        var factory = new XmppConnectorFactory();
        var section = Section(host, port, componentDomain, secret, extra);
        var errors = factory.Validate(network, section);
        if (errors.Count > 0)
        {
            throw new InvalidOperationException(string.Join("; ", errors));
        }

        // The core's media path over this connector alone: files whose source is this network are read back through it.
        var registry = new ConnectorRegistry();
        var context = new ConnectorContext
        {
            Sink = sink,
            State = state,
            Topology = topology,
            LoggerFactory = loggerFactory,
            Media = new Bridge.Core.Media.MediaReader(registry, loggerFactory.CreateLogger("media")),
            Typing = typing ?? Bridge.Core.Typing.NoTyping.Instance,
            WakeDeliveries = wakes.Enqueue,
            Time = time ?? TimeProvider.System,
        };
        INetworkConnector connector;
        if (tune is null)
        {
            connector = factory.Create(network, section, context);
        }
        else
        {
            // Settings no configuration key reaches (e.g. cache sizes small enough to force evictions).
            var options = XmppConnectorFactory.Bind(section);
            tune(options);
            connector = new XmppConnector(network, options, context);
        }

        registry.Add(connector);
        await connector.StartAsync(CancellationToken.None);
        return new ConnectorHarness(connector, sink, state, logs, loggerFactory) { Registry = registry, Wakes = wakes };
    }

    public static Task<ConnectorHarness> StartAsync(IXmppTestServer server, IReadOnlyList<string> rooms, InMemoryStateStore? state = null, string? secret = null,
        IDictionary<string, string?>? extra = null, Action<XmppOptions>? tune = null, Bridge.Core.Typing.ITypingSink? typing = null) =>
        StartAsync("127.0.0.1", server.ComponentPort, server.ComponentDomain, secret ?? server.Secret, rooms, state, extra, tune, typing);

    public async Task WaitReadyAsync(TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(20));
        while (!Connector.IsReady)
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException("connector not ready; log:\n" + string.Join("\n", Logs.Entries.Select(e => $"{e.Level} {e.EventId.Name}: {e.Message}")));
            }

            await Task.Delay(20);
        }
    }

    /// <summary>
    /// Hands the connector one delivery the way the delivery worker does: an answer to wait that does not count as an
    /// attempt (not ready yet, or the room still catching up after a start) is asked again a little later.
    /// </summary>
    public async Task<DeliveryResult> DeliverAsync(DeliveryRequest request, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(20));
        while (true)
        {
            var result = await Connector.DeliverAsync(request, CancellationToken.None);
            if (result is not DeliveryResult.RetryLater { CountsAsAttempt: false } || DateTime.UtcNow > deadline)
            {
                return result;
            }

            await Task.Delay(50);
        }
    }

    public async Task WaitForLogAsync(Func<LogEntry, bool> predicate, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!Logs.Entries.Any(predicate))
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException("expected log entry not seen; log:\n" + string.Join("\n", Logs.Entries.Select(e => $"{e.Level} {e.EventId.Name}: {e.Message}")));
            }

            await Task.Delay(20);
        }
    }

    /// <summary>A message from a person of the remote network, as the core would hand it to the XMPP connector.</summary>
    public static DeliveryRequest Message(long outboxId, string room, string displayName, string text, string? userId = null,
        BridgeEventKind kind = BridgeEventKind.Message, MessageKind messageKind = MessageKind.Text, string? target = null) => new()
    {
        OutboxId = outboxId,
        LinkId = "link-0",
        Destination = new ChannelRef(NetworkId, room),
        Event = new BridgeEvent
        {
            NetworkId = RemoteNetworkId,
            ChannelId = "chan-0",
            NativeId = $"remote-{outboxId}",
            Kind = kind,
            MessageKind = messageKind,
            Sender = new PersonRef { NetworkId = RemoteNetworkId, UserId = userId ?? displayName.ToLowerInvariant(), DisplayName = displayName },
            Text = text,
        },
        TargetNativeId = target,
    };

    /// <summary>
    /// Hands <paramref name="rows"/> over as the delivery worker does until each is delivered: as a run while the room
    /// takes runs, else one at a time; a row answered "wait" is asked again (the worker would after its backoff), and the
    /// rows after it wait behind it. Returns each row's native id, in order.
    /// </summary>
    public async Task<List<string>> HandOverAsync(IReadOnlyList<DeliveryRequest> rows, TimeSpan wait)
    {
        var runs = (IRunDelivery)Connector;
        var ids = new List<string>();
        var deadline = DateTime.UtcNow + wait;
        while (ids.Count < rows.Count)
        {
            Xunit.Assert.True(DateTime.UtcNow < deadline, $"{rows.Count - ids.Count} rows not delivered; log:\n{Dump()}");
            var rest = rows.Skip(ids.Count).Take(runs.MaxRunInto(rows[ids.Count].Destination.ChannelId)).ToList();
            var answers = rest.Count > 1 ? await runs.DeliverRunAsync(rest, CancellationToken.None) : [await Connector.DeliverAsync(rest[0], CancellationToken.None)];
            foreach (var answer in answers)
            {
                if (answer is not DeliveryResult.Delivered delivered)
                {
                    Xunit.Assert.IsType<DeliveryResult.RetryLater>(answer);
                    await Task.Delay(50);
                    break;
                }

                ids.Add(delivered.NativeId);
            }
        }

        return ids;
    }

    public string Dump() => string.Join("\n", Logs.Entries.Select(e => $"{e.Level} {e.EventId.Name}: {e.Message}"));

    public async ValueTask DisposeAsync()
    {
        await Connector.StopAsync(CancellationToken.None);
        await Connector.DisposeAsync();
        _loggerFactory.Dispose();
    }
}
