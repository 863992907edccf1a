using System.Collections.Concurrent;
using Bridge.Core.Configuration;
using Bridge.Core.Connectors;
using Bridge.Core.Model;
using Bridge.Core.Storage;
using Microsoft.Extensions.Logging;
using Bridge.Testing;
using Sandbox.Mattermost;

namespace Bridge.Mattermost.Tests;

/// <summary>Records what the connector ingests and dedupes by native id, like the core does.</summary>
internal sealed class RecordingSink : IEventSink
{
    private readonly ConcurrentDictionary<string, bool> _seen = new();

    public ConcurrentQueue<BridgeEvent> Accepted { get; } = new();
    public ConcurrentQueue<BridgeEvent> All { get; } = new();

    /// <summary>How many next ingests throw, as a failing store would.</summary>
    public int FailNext { get; set; }

    /// <summary>Called with each event before it is recorded (to look at the connector's state at that moment).</summary>
    public Action<BridgeEvent>? OnIngest { get; set; }

    /// <summary>
    /// Events recorded (committed, as far as the connector can tell) and then answered with an exception once: what a
    /// kill right after the core's commit looks like to the connector's next attempt.
    /// </summary>
    public Func<BridgeEvent, bool>? FailOnceAfterRecording { get; set; }

    /// <summary>Each hand-over from the connector: 1 for <see cref="IngestAsync"/>, the batch's size for <see cref="IngestBatchAsync"/>.</summary>
    public ConcurrentQueue<int> HandOvers { get; } = new();

    /// <summary>Awaited at the start of every hand-over (to hold the connector in one while more queues up behind it).</summary>
    public Func<Task>? BeforeHandOver { get; set; }

    public async Task<IngestOutcome> IngestAsync(BridgeEvent bridgeEvent, CancellationToken cancellationToken)
    {
        HandOvers.Enqueue(1);
        if (BeforeHandOver is { } before)
        {
            await before();
        }

        return Record(bridgeEvent, notify: true);
    }

    /// <summary>All or nothing, as the core's router stores a batch in one transaction.</summary>
    public async Task<IReadOnlyList<IngestOutcome>> IngestBatchAsync(IReadOnlyList<BridgeEvent> events, CancellationToken cancellationToken)
    {
        HandOvers.Enqueue(events.Count);
        if (BeforeHandOver is { } before)
        {
            await before();
        }

        foreach (var e in events)
        {
            OnIngest?.Invoke(e);
        }

        if (FailNext > 0)
        {
            FailNext--;
            throw new InvalidOperationException("store unavailable");
        }

        // A commit that went through before the answer was lost (FailOnceAfterRecording) holds the whole batch.
        Exception? lost = null;
        var outcomes = new List<IngestOutcome>(events.Count);
        foreach (var e in events)
        {
            try
            {
                outcomes.Add(Record(e, notify: false));
            }
            catch (InvalidOperationException ex)
            {
                lost ??= ex;
                outcomes.Add(IngestOutcome.Accepted);
            }
        }

        return lost is null ? outcomes : throw lost;
    }

    private IngestOutcome Record(BridgeEvent bridgeEvent, bool notify)
    {
        if (notify)
        {
            OnIngest?.Invoke(bridgeEvent);
        }

        if (FailNext > 0)
        {
            FailNext--;
            throw new InvalidOperationException("store unavailable");
        }
        All.Enqueue(bridgeEvent);
        if (!_seen.TryAdd($"{bridgeEvent.NetworkId}/{bridgeEvent.NativeId}", true))
        {
            return IngestOutcome.Duplicate;
        }
        Accepted.Enqueue(bridgeEvent);
        if (FailOnceAfterRecording?.Invoke(bridgeEvent) == true)
        {
            FailOnceAfterRecording = null;
            throw new InvalidOperationException("gone after the commit");
        }
        return IngestOutcome.Accepted;
    }

    public IReadOnlyList<BridgeEvent> Messages => [.. Accepted.Where(e => e.Kind == BridgeEventKind.Message)];
}

/// <summary>A sandbox Mattermost, a seeded team/channel, and the connector under test wired to a recording sink.</summary>
internal sealed class MmHarness : IAsyncDisposable
{
    public const string Network = "mm";
    public const string Remote = "remote";
    public const string DefaultChannel = "demo/town-square";

    private long _outboxId;

    private MmHarness(MattermostSandbox sandbox, SandboxSeed seed)
    {
        Sandbox = sandbox;
        Seed = seed;
    }

    public MattermostSandbox Sandbox { get; }
    public SandboxSeed Seed { get; }
    public RecordingSink Sink { get; } = new();
    public InMemoryStateStore State { get; } = new();

    /// <summary>What the connector encrypts puppets' tokens with (none by default: tokens are kept in memory only).</summary>
    public Bridge.Core.Security.SecretProtector Secrets { get; set; } = Bridge.Core.Security.SecretProtector.None;
    public ListLoggerProvider Logs { get; } = new();
    public MattermostConnector Connector { get; private set; } = null!;
    public MattermostOptions Options { get; private set; } = null!;

    /// <summary>The connectors the media path reads from (this one).</summary>
    public ConnectorRegistry Registry { get; private set; } = new();

    public string LinkedChannel { get; private set; } = DefaultChannel;

    /// <summary>More Mattermost channels, each linked on its own (one link per channel) from the next start.</summary>
    public List<string> MoreLinkedChannels { get; } = [];

    /// <summary>The links the connector sees (change them with <see cref="BridgeTopology.ReplaceLinks"/>, as the link manager does).</summary>
    public BridgeTopology Topology { get; private set; } = null!;

    /// <summary>Where connectors started from now on report typing (none by default).</summary>
    public Bridge.Core.Typing.ITypingSink Typing { get; set; } = Bridge.Core.Typing.NoTyping.Instance;

    /// <summary>Makes the HTTP handler of each connector started from now on (to watch or break its requests).</summary>
    public Func<HttpMessageHandler>? Handler { get; set; }

    public static async Task<MmHarness> StartAsync(Action<SandboxSettings>? server = null, Action<MattermostOptions>? options = null, bool waitReady = true,
        Func<MattermostSandbox, string>? token = null, string channel = DefaultChannel, string seedChannel = "town-square",
        Bridge.Core.Typing.ITypingSink? typing = null)
    {
        var settings = new SandboxSettings { EnableUserAccessTokens = true, EnableBotAccountCreation = true, EnablePostUsernameOverride = true, EnablePostIconOverride = true };
        server?.Invoke(settings);
        var sandbox = new MattermostSandbox(settings);
        await sandbox.StartAsync();
        var h = new MmHarness(sandbox, sandbox.Seed(channelName: seedChannel)) { LinkedChannel = channel, Typing = typing ?? Bridge.Core.Typing.NoTyping.Instance };
        var o = new MattermostOptions
        {
            Url = sandbox.BaseUrl.ToString(),
            Token = token?.Invoke(sandbox) ?? h.Seed.AdminToken,
            Team = "demo",
            PingInterval = TimeSpan.FromSeconds(2),
            ReconnectMinDelay = TimeSpan.FromMilliseconds(200),
            ReconnectMaxDelay = TimeSpan.FromSeconds(1),
            MaxInlineRateLimitWait = TimeSpan.FromSeconds(5),
        };
        options?.Invoke(o);
        h.Options = o;
        await h.StartConnectorAsync(waitReady);
        return h;
    }

    public async Task StartConnectorAsync(bool waitReady = true)
    {
        var topology = Topology = new BridgeTopology(
            [
                new NetworkDefinition { Id = Network, Kind = NetworkKind.Mattermost, Organisation = "org-mm" },
                new NetworkDefinition { Id = Remote, Kind = NetworkKind.Matrix, Organisation = "org-remote" },
            ],
            [
                new LinkDefinition { Id = "ops", Endpoints = [new ChannelRef(Network, LinkedChannel), new ChannelRef(Remote, "!room:example.org")] },
                .. MoreLinkedChannels.Select((c, i) => new LinkDefinition
                {
                    Id = $"more-{i}",
                    Endpoints = [new ChannelRef(Network, c), new ChannelRef(Remote, $"!more{i}:example.org")],
                }),
            ]);
        Registry = new ConnectorRegistry();
        var context = new ConnectorContext
        {
            Sink = Sink,
            State = State,
            Topology = topology,
            LoggerFactory = LoggerFactory.Create(b => b.SetMinimumLevel(LogLevel.Debug).AddProvider(Logs)),
            Secrets = Secrets,
            Typing = Typing,
            // The core's media path over this connector alone: files whose source is this server are read back through it.
            Media = new Bridge.Core.Media.MediaReader(Registry, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance),
        };
        Connector = new MattermostConnector(topology.GetNetwork(Network), Options, context, Handler?.Invoke());
        Registry.Add(Connector);
        await Connector.StartAsync(CancellationToken.None);
        if (waitReady)
        {
            await Connector.Started.WaitAsync(TimeSpan.FromSeconds(15));
            await WaitUntilAsync(() => Connector.IsReady, "connector ready");
        }
    }

    public static PersonRef Person(string name = "Alice Ädams", string id = "@alice:example.org", string? avatarUrl = null) =>
        new() { NetworkId = Remote, UserId = id, DisplayName = name, AvatarUrl = avatarUrl };

    public DeliveryRequest Request(BridgeEvent ev, string? target = null, int attempt = 0, long? outboxId = null, string? replyTo = null, DateTimeOffset? queuedAt = null) => new()
    {
        OutboxId = outboxId ?? Interlocked.Increment(ref _outboxId),
        LinkId = "ops",
        Destination = new ChannelRef(Network, LinkedChannel),
        Event = ev,
        TargetNativeId = target,
        ReplyToNativeId = replyTo,
        Attempt = attempt,
        QueuedAt = queuedAt,
    };

    public static BridgeEvent Message(string text, PersonRef? sender = null, string? nativeId = null) => new()
    {
        NetworkId = Remote,
        ChannelId = "!room:example.org",
        NativeId = nativeId ?? "$" + Guid.NewGuid().ToString("N"),
        Sender = sender ?? Person(),
        Text = text,
    };

    public async Task<string> DeliverTextAsync(string text, PersonRef? sender = null)
    {
        var result = await Connector.DeliverAsync(Request(Message(text, sender)), CancellationToken.None);
        var delivered = Assert.IsType<DeliveryResult.Delivered>(result);
        return delivered.NativeId;
    }

    public static async Task WaitUntilAsync(Func<bool> condition, string what, int timeoutMs = 15000)
    {
        var deadline = DateTime.UtcNow.AddMilliseconds(timeoutMs);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException("timed out waiting for " + what);
            }
            await Task.Delay(50);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await Connector.DisposeAsync();
        await Sandbox.DisposeAsync();
    }
}

internal sealed class ListLoggerProvider : ILoggerProvider
{
    public ConcurrentQueue<(LogLevel Level, EventId Id, string Message)> Entries { get; } = new();

    public ILogger CreateLogger(string categoryName) => new ListLogger(this);

    public void Dispose()
    {
    }

    private sealed class ListLogger(ListLoggerProvider owner) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            owner.Entries.Enqueue((logLevel, eventId, formatter(state, exception)));
    }
}
