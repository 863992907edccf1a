namespace Bridge.Core.Storage.Retention;

/// <summary>What to prune: everything older than these instants (and only rows in a final state).</summary>
/// <param name="DeliveredBefore">Delivered and skipped outbox rows last updated before it.</param>
/// <param name="MessagesBefore">Messages received before it: their message map, inbound mark, echo ids; and per-message connector state written before it.</param>
public sealed record PruneCutoffs(DateTimeOffset DeliveredBefore, DateTimeOffset MessagesBefore);

/// <summary>Rows one batch deleted, per kind.</summary>
/// <param name="OutboxRows">Delivered and skipped outbox rows.</param>
/// <param name="Messages">Messages whose inbound mark and map rows went.</param>
/// <param name="EchoIds">Ids the bridge delivered (kept to recognise echoes).</param>
/// <param name="StateRows">Per-message connector state entries and reaction sets.</param>
public sealed record PruneResult(int OutboxRows, int Messages, int EchoIds, int StateRows)
{
    public static PruneResult None { get; } = new(0, 0, 0, 0);

    /// <summary>True when some kind filled its batch: there may be more to delete right away.</summary>
    public bool FilledBatch(int batchSize) => OutboxRows >= batchSize || Messages >= batchSize || EchoIds >= batchSize || StateRows >= batchSize;

    public static PruneResult operator +(PruneResult a, PruneResult b) =>
        new(a.OutboxRows + b.OutboxRows, a.Messages + b.Messages, a.EchoIds + b.EchoIds, a.StateRows + b.StateRows);
}
