using Bridge.Core.Model;

namespace Bridge.Core.Storage;

/// <summary>One durable delivery: one event toward one destination channel.</summary>
public sealed record OutboxItem
{
    public required long Id { get; init; }
    public required string LinkId { get; init; }
    public required ChannelRef Destination { get; init; }
    public required BridgeEvent Event { get; init; }
    public string? Label { get; init; }
    public int Attempts { get; init; }
    public DateTimeOffset NotBefore { get; init; }
    public DateTimeOffset CreatedAt { get; init; }
}

/// <summary>An outbox row to create, before it has an id.</summary>
public sealed record OutboxDraft(string LinkId, ChannelRef Destination, BridgeEvent Event, string? Label);

public enum OutboxState
{
    Pending = 0,
    Delivered = 1,
    DeadLettered = 2,
    Skipped = 3,
}

/// <summary>A dead-lettered delivery, for operators.</summary>
public sealed record DeadLetter(long OutboxId, string LinkId, ChannelRef Destination, string OriginNetwork, string OriginNativeId, string Reason, int Attempts, DateTimeOffset At);
