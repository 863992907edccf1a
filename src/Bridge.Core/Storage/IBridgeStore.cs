using Bridge.Core.Model;

namespace Bridge.Core.Storage;

/// <summary>
/// The bridge's durable state: inbound dedupe, the outbox, the message map, connector state and the audit trail.
/// SQLite (embedded default) and PostgreSQL implement it; the same contract tests run on both.
/// </summary>
public interface IBridgeStore : IConnectorStateStore, Reactions.IReactionStore, IAsyncDisposable
{
    /// <summary>Creates or upgrades the schema (versioned migrations).</summary>
    Task MigrateAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Atomically: records (network, native id) as seen, records the origin in the message map, appends the outbox rows and
    /// the audit records. Returns false (and writes nothing) when the native id was seen before.
    /// </summary>
    Task<bool> IngestAsync(BridgeEvent origin, IReadOnlyList<OutboxDraft> outbox, IReadOnlyList<AuditDraft> audit, CancellationToken cancellationToken);

    /// <summary>
    /// One transaction for a whole batch (e.g. one Matrix appservice transaction): each item in order as
    /// <see cref="IngestAsync"/> would store it, except that an item the bridge itself delivered (an echo, as
    /// <see cref="IsDeliveredNativeIdAsync"/>) and an item whose (network, native id) was seen before, in the store or
    /// earlier in the batch, write nothing. The audit records of the stored items follow each other in item order.
    /// All or nothing: when it throws, nothing of the batch is stored.
    /// </summary>
    Task<IReadOnlyList<IngestStored>> IngestBatchAsync(IReadOnlyList<IngestDraft> items, CancellationToken cancellationToken);

    /// <summary>Pending rows toward one network, oldest first, skipping channels in <paramref name="excludeChannels"/>.</summary>
    Task<IReadOnlyList<OutboxItem>> GetPendingAsync(string networkId, IReadOnlyCollection<string> excludeChannels, int limit, CancellationToken cancellationToken);

    /// <summary>
    /// Marks a row delivered and maps the origin to <paramref name="nativeId"/> on the destination. A null id means the
    /// row was skipped, as <see cref="MarkSkippedAsync"/> with a generic reason.
    /// </summary>
    Task MarkDeliveredAsync(OutboxItem item, string? nativeId, CancellationToken cancellationToken);

    /// <summary>
    /// Marks a row skipped (nothing was delivered) and, in the same transaction, appends its <c>outcome</c> audit record
    /// (<see cref="Audit.DeliveryOutcomeAudit"/>) with <paramref name="reason"/>.
    /// </summary>
    Task MarkSkippedAsync(OutboxItem item, string reason, CancellationToken cancellationToken);

    Task RescheduleAsync(long outboxId, int attempts, DateTimeOffset notBefore, string error, CancellationToken cancellationToken);

    /// <summary>Dead-letters a row and, in the same transaction, appends its <c>outcome</c> audit record with <paramref name="reason"/>.</summary>
    Task DeadLetterAsync(long outboxId, int attempts, string reason, CancellationToken cancellationToken);

    /// <summary>The outbox rows (one per link and destination) of the event that started as (<paramref name="originNetwork"/>, <paramref name="originNativeId"/>).</summary>
    Task<IReadOnlyList<DeliveryState>> GetDeliveryStatesAsync(string originNetwork, string originNativeId, CancellationToken cancellationToken);

    Task<int> CountPendingAsync(string? networkId, CancellationToken cancellationToken);

    Task<IReadOnlyList<DeadLetter>> GetDeadLettersAsync(int limit, CancellationToken cancellationToken);

    /// <summary>The origin (network, native id) of a message known on <paramref name="networkId"/> by <paramref name="nativeId"/>, whether it started there or was delivered there.</summary>
    Task<MessageOrigin?> FindOriginAsync(string networkId, string nativeId, CancellationToken cancellationToken);

    /// <summary>The native id on <paramref name="destination"/> of the message that started as <paramref name="origin"/>.</summary>
    Task<string?> FindNativeIdAsync(MessageOrigin origin, ChannelRef destination, CancellationToken cancellationToken);

    /// <summary>True when <paramref name="nativeId"/> is something the bridge itself delivered on that network (an echo).</summary>
    Task<bool> IsDeliveredNativeIdAsync(string networkId, string nativeId, CancellationToken cancellationToken);

    /// <summary>
    /// Deletes one batch (at most <paramref name="batchSize"/> of each kind, one transaction) of what retention lets go:
    /// delivered and skipped outbox rows last updated before <see cref="Retention.PruneCutoffs.DeliveredBefore"/>; messages
    /// received before <see cref="Retention.PruneCutoffs.MessagesBefore"/> (their map rows, inbound mark and echo ids), never
    /// one received after the oldest pending outbox row; per-message connector state written before it. Pending rows, dead
    /// letters and the audit trail are never touched.
    /// </summary>
    Task<Retention.PruneResult> PruneAsync(Retention.PruneCutoffs cutoffs, int batchSize, CancellationToken cancellationToken);

    Task AppendAuditAsync(IReadOnlyList<AuditDraft> audit, CancellationToken cancellationToken);

    Task<IReadOnlyList<AuditRecord>> ReadAuditAsync(long afterSequence, DateTimeOffset? since, int limit, CancellationToken cancellationToken);
}

/// <summary>One event of <see cref="IBridgeStore.IngestBatchAsync"/>: what <see cref="IBridgeStore.IngestAsync"/> takes.</summary>
public sealed record IngestDraft(BridgeEvent Origin, IReadOnlyList<OutboxDraft> Outbox, IReadOnlyList<AuditDraft> Audit);

/// <summary>What <see cref="IBridgeStore.IngestBatchAsync"/> did with one item.</summary>
public enum IngestStored
{
    /// <summary>Stored with its outbox rows and audit records.</summary>
    Stored,

    /// <summary>Its (network, native id) was seen before: nothing written.</summary>
    Duplicate,

    /// <summary>The bridge itself delivered it on that network: nothing written.</summary>
    Echo,
}

/// <summary>Where one decided delivery stands: its link, destination and outbox state.</summary>
public sealed record DeliveryState(string LinkId, ChannelRef Destination, OutboxState State);

/// <summary>Where a message started: the network and the native id it had there.</summary>
public sealed record MessageOrigin(string NetworkId, string NativeId);
