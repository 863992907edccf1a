using Bridge.Core.Configuration;
using Bridge.Core.Storage;
using Microsoft.Extensions.Logging;

namespace Bridge.Core.Connectors;

/// <summary>What the core gives a connector: where to report, where to keep its state, and what it serves.</summary>
public sealed record ConnectorContext
{
    public required IEventSink Sink { get; init; }

    /// <summary>Durable key/value state owned by the connector (puppet tokens, resume positions, seen transactions).</summary>
    public required IConnectorStateStore State { get; init; }

    public required BridgeTopology Topology { get; init; }

    /// <summary>
    /// Reaction sets per (message, person) (set semantics in every direction). Unset: the <see cref="State"/> store when
    /// it keeps them (the daemon's store does).
    /// </summary>
    public Reactions.IReactionStore Reactions
    {
        get => field ?? State as Reactions.IReactionStore
            ?? throw new InvalidOperationException("this connector context has no reaction store (State keeps none and Reactions is unset)");
        init;
    }

    public required ILoggerFactory LoggerFactory { get; init; }

    public TimeProvider Time { get; init; } = TimeProvider.System;

    /// <summary>
    /// Tells the core that deliveries to a network (by id) may go on now: the connector became ready, or a room it held
    /// back (a catch-up) is open again. Its delivery worker then looks at once instead of at its next poll.
    /// </summary>
    public Action<string> WakeDeliveries { get; init; } = static _ => { };

    /// <summary>
    /// Encrypts secrets a connector keeps in <see cref="State"/> (puppets' access tokens). The default has no key and
    /// does not allow plain text, so such secrets are kept in memory only.
    /// </summary>
    public Security.SecretProtector Secrets { get; init; } = Security.SecretProtector.None;

    /// <summary>
    /// Opens the bytes of an attachment through its source network's connector (the only way a destination gets a
    /// file). Unset: every file is unavailable, and destinations leave a notice in its place.
    /// </summary>
    public Media.IMediaReader Media { get; init; } = Bridge.Core.Media.NoMediaReader.Instance;

    /// <summary>
    /// Reads people's pictures through <see cref="Media"/>, once per picture version for all destinations, with a
    /// negative cache. Unset: one reader for this context (and every copy made of it afterwards).
    /// </summary>
    public Profiles.AvatarReader Avatars
    {
        get => _avatars ?? Interlocked.CompareExchange(ref _avatars, new Profiles.AvatarReader(Media, Time, LoggerFactory.CreateLogger<Profiles.AvatarReader>()), null) ?? _avatars!;
        init => _avatars = value;
    }

    private Profiles.AvatarReader? _avatars;

    /// <summary>Where typing is reported (ephemeral: never stored). Unset: typing goes nowhere.</summary>
    public Typing.ITypingSink Typing { get; init; } = Bridge.Core.Typing.NoTyping.Instance;

    /// <summary>Services of the host, for connectors that need more (HttpClient factory, server hosting).</summary>
    public IServiceProvider? Services { get; init; }
}
