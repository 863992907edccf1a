using Bridge.Core.Model;

namespace Bridge.Core.Storage.Health;

/// <summary>
/// Wraps the configured store and tells <see cref="StoreHealth"/> how each write went. Errors still propagate
/// unchanged: the caller (router, delivery worker, connector) must not treat a failed write as done.
/// </summary>
public sealed class HealthReportingStore(IBridgeStore inner, StoreHealth health) : IBridgeStore, IAdminStore
{
    private IAdminStore Admin => inner as IAdminStore ?? throw new NotSupportedException("this store keeps no links or dead-letter changes");

    public Task<IReadOnlyList<StoredLink>> GetLinksAsync(CancellationToken cancellationToken) => Admin.GetLinksAsync(cancellationToken);

    public Task<int> ChangeLinkAsync(string id, string? definitionJson, string changedBy, IReadOnlyList<ChannelRef> retired, string reason,
        IReadOnlyList<AuditDraft> audit, CancellationToken cancellationToken) =>
        Write(() => Admin.ChangeLinkAsync(id, definitionJson, changedBy, retired, reason, audit, cancellationToken), cancellationToken);

    public Task<bool> ResolveDeadLetterAsync(long outboxId, bool retry, string reason, AuditDraft audit, CancellationToken cancellationToken) =>
        Write(() => Admin.ResolveDeadLetterAsync(outboxId, retry, reason, audit, cancellationToken), cancellationToken);

    public IBridgeStore Inner => inner;

    public Task MigrateAsync(CancellationToken cancellationToken) => inner.MigrateAsync(cancellationToken);

    public Task<Reactions.ReactionSet> GetReactionsAsync(Reactions.ReactionOwner owner, CancellationToken cancellationToken) =>
        inner.GetReactionsAsync(owner, cancellationToken);

    public Task<bool> PutReactionsAsync(Reactions.ReactionOwner owner, Reactions.ReactionSet set, CancellationToken cancellationToken) =>
        Write(() => inner.PutReactionsAsync(owner, set, cancellationToken), cancellationToken);

    public Task<Reactions.FoundReaction?> FindReactionAsync(string networkId, string nativeId, CancellationToken cancellationToken) =>
        inner.FindReactionAsync(networkId, nativeId, cancellationToken);

    public Task<bool> IngestAsync(BridgeEvent origin, IReadOnlyList<OutboxDraft> outbox, IReadOnlyList<AuditDraft> audit, CancellationToken cancellationToken) =>
        Write(() => inner.IngestAsync(origin, outbox, audit, cancellationToken), cancellationToken);

    public Task<IReadOnlyList<IngestStored>> IngestBatchAsync(IReadOnlyList<IngestDraft> items, CancellationToken cancellationToken) =>
        Write(() => inner.IngestBatchAsync(items, cancellationToken), cancellationToken);

    public Task<IReadOnlyList<OutboxItem>> GetPendingAsync(string networkId, IReadOnlyCollection<string> excludeChannels, int limit, CancellationToken cancellationToken) =>
        inner.GetPendingAsync(networkId, excludeChannels, limit, cancellationToken);

    public Task MarkDeliveredAsync(OutboxItem item, string? nativeId, CancellationToken cancellationToken) =>
        Write(() => inner.MarkDeliveredAsync(item, nativeId, cancellationToken), cancellationToken);

    public Task MarkSkippedAsync(OutboxItem item, string reason, CancellationToken cancellationToken) =>
        Write(() => inner.MarkSkippedAsync(item, reason, cancellationToken), cancellationToken);

    public Task RescheduleAsync(long outboxId, int attempts, DateTimeOffset notBefore, string error, CancellationToken cancellationToken) =>
        Write(() => inner.RescheduleAsync(outboxId, attempts, notBefore, error, cancellationToken), cancellationToken);

    public Task DeadLetterAsync(long outboxId, int attempts, string reason, CancellationToken cancellationToken) =>
        Write(() => inner.DeadLetterAsync(outboxId, attempts, reason, cancellationToken), cancellationToken);

    public Task<IReadOnlyList<DeliveryState>> GetDeliveryStatesAsync(string originNetwork, string originNativeId, CancellationToken cancellationToken) =>
        inner.GetDeliveryStatesAsync(originNetwork, originNativeId, cancellationToken);

    public Task<int> CountPendingAsync(string? networkId, CancellationToken cancellationToken) => inner.CountPendingAsync(networkId, cancellationToken);

    public Task<IReadOnlyList<DeadLetter>> GetDeadLettersAsync(int limit, CancellationToken cancellationToken) => inner.GetDeadLettersAsync(limit, cancellationToken);

    public Task<MessageOrigin?> FindOriginAsync(string networkId, string nativeId, CancellationToken cancellationToken) =>
        inner.FindOriginAsync(networkId, nativeId, cancellationToken);

    public Task<string?> FindNativeIdAsync(MessageOrigin origin, ChannelRef destination, CancellationToken cancellationToken) =>
        inner.FindNativeIdAsync(origin, destination, cancellationToken);

    public Task<bool> IsDeliveredNativeIdAsync(string networkId, string nativeId, CancellationToken cancellationToken) =>
        inner.IsDeliveredNativeIdAsync(networkId, nativeId, cancellationToken);

    public Task AppendAuditAsync(IReadOnlyList<AuditDraft> audit, CancellationToken cancellationToken) =>
        Write(() => inner.AppendAuditAsync(audit, cancellationToken), cancellationToken);

    public Task<IReadOnlyList<AuditRecord>> ReadAuditAsync(long afterSequence, DateTimeOffset? since, int limit, CancellationToken cancellationToken) =>
        inner.ReadAuditAsync(afterSequence, since, limit, cancellationToken);

    public Task<string?> GetAsync(string scope, string key, CancellationToken cancellationToken) => inner.GetAsync(scope, key, cancellationToken);

    public Task SetAsync(string scope, string key, string value, CancellationToken cancellationToken) =>
        Write(() => inner.SetAsync(scope, key, value, cancellationToken), cancellationToken);

    public Task SetManyAsync(string scope, IReadOnlyList<KeyValuePair<string, string>> entries, CancellationToken cancellationToken) =>
        Write(() => inner.SetManyAsync(scope, entries, cancellationToken), cancellationToken);

    public Task SetPerMessageAsync(string scope, IReadOnlyList<KeyValuePair<string, string>> entries, CancellationToken cancellationToken) =>
        Write(() => inner.SetPerMessageAsync(scope, entries, cancellationToken), cancellationToken);

    public Task<Retention.PruneResult> PruneAsync(Retention.PruneCutoffs cutoffs, int batchSize, CancellationToken cancellationToken) =>
        Write(() => inner.PruneAsync(cutoffs, batchSize, cancellationToken), cancellationToken);

    public Task DeleteAsync(string scope, string key, CancellationToken cancellationToken) =>
        Write(() => inner.DeleteAsync(scope, key, cancellationToken), cancellationToken);

    public Task DeleteManyAsync(string scope, IReadOnlyList<string> keys, CancellationToken cancellationToken) =>
        Write(() => inner.DeleteManyAsync(scope, keys, cancellationToken), cancellationToken);

    public Task<bool> TryAddAsync(string scope, string key, string value, CancellationToken cancellationToken) =>
        Write(() => inner.TryAddAsync(scope, key, value, cancellationToken), cancellationToken);

    public Task<IReadOnlyDictionary<string, string>> ListAsync(string scope, CancellationToken cancellationToken) => inner.ListAsync(scope, cancellationToken);

    public ValueTask DisposeAsync() => inner.DisposeAsync();

    private async Task Write(Func<Task> write, CancellationToken cancellationToken)
    {
        await Write(async () =>
        {
            await write();
            return true;
        }, cancellationToken);
    }

    private async Task<T> Write<T>(Func<Task<T>> write, CancellationToken cancellationToken)
    {
        T result;
        try
        {
            result = await write();
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception ex)
        {
            health.WriteFailed(ex);
            throw;
        }

        health.WriteSucceeded();
        return result;
    }
}
