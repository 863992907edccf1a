using System.Collections.Concurrent;
using Bridge.Core.Storage;

namespace Bridge.Testing;

/// <summary>Connector state kept in memory; share one instance between connector instances to model a restart.</summary>
public sealed class InMemoryStateStore : IConnectorStateStore, Bridge.Core.Reactions.IReactionStore
{
    private readonly Bridge.Core.Reactions.MemoryReactionStore _reactions = new();

    public Task<Bridge.Core.Reactions.ReactionSet> GetReactionsAsync(Bridge.Core.Reactions.ReactionOwner owner, CancellationToken cancellationToken) =>
        _reactions.GetReactionsAsync(owner, cancellationToken);

    public Task<bool> PutReactionsAsync(Bridge.Core.Reactions.ReactionOwner owner, Bridge.Core.Reactions.ReactionSet set, CancellationToken cancellationToken) =>
        _reactions.PutReactionsAsync(owner, set, cancellationToken);

    public Task<Bridge.Core.Reactions.FoundReaction?> FindReactionAsync(string networkId, string nativeId, CancellationToken cancellationToken) =>
        _reactions.FindReactionAsync(networkId, nativeId, cancellationToken);

    private readonly ConcurrentDictionary<(string Scope, string Key), string> _values = new();
    private TaskCompletionSource? _holdNextBatch;

    /// <summary>
    /// The next <see cref="SetPerMessageAsync"/> (an id-pair save) hangs (like a write stuck behind a busy disk) until its
    /// token is cancelled, then throws without writing anything; the returned task completes once that write has begun.
    /// Later ones write.
    /// </summary>
    public Task HoldNextBatchWrite()
    {
        var held = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Volatile.Write(ref _holdNextBatch, held);
        return held.Task;
    }

    public Task<string?> GetAsync(string scope, string key, CancellationToken cancellationToken) =>
        Task.FromResult(_values.TryGetValue((scope, key), out var v) ? v : null);

    /// <summary>Each single-key set, in order: the scope and the key.</summary>
    public ConcurrentQueue<(string Scope, string Key)> Sets { get; } = new();

    /// <summary>Each <see cref="SetManyAsync"/> call (per-message sets included), in order: the scope and the keys it named.</summary>
    public ConcurrentQueue<(string Scope, IReadOnlyList<string> Keys)> SetManys { get; } = new();

    public Task SetAsync(string scope, string key, string value, CancellationToken cancellationToken)
    {
        Sets.Enqueue((scope, key));
        _values[(scope, key)] = value;
        return Task.CompletedTask;
    }

    public async Task SetPerMessageAsync(string scope, IReadOnlyList<KeyValuePair<string, string>> entries, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(entries);
        if (Interlocked.Exchange(ref _holdNextBatch, null) is { } held)
        {
            held.SetResult();
            await Task.Delay(Timeout.Infinite, cancellationToken);
        }

        await SetManyAsync(scope, entries, cancellationToken);
    }

    public Task SetManyAsync(string scope, IReadOnlyList<KeyValuePair<string, string>> entries, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(entries);
        SetManys.Enqueue((scope, [.. entries.Select(e => e.Key)]));
        foreach (var (key, value) in entries)
        {
            _values[(scope, key)] = value;
        }

        return Task.CompletedTask;
    }

    /// <summary>Each delete call made, in order: the scope and the keys it named (one for <see cref="DeleteAsync"/>).</summary>
    public ConcurrentQueue<(string Scope, IReadOnlyList<string> Keys)> Deletes { get; } = new();

    public Task DeleteAsync(string scope, string key, CancellationToken cancellationToken)
    {
        Deletes.Enqueue((scope, [key]));
        _values.TryRemove((scope, key), out _);
        return Task.CompletedTask;
    }

    public Task DeleteManyAsync(string scope, IReadOnlyList<string> keys, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(keys);
        Deletes.Enqueue((scope, [.. keys]));
        foreach (var key in keys)
        {
            _values.TryRemove((scope, key), out _);
        }

        return Task.CompletedTask;
    }

    public Task<bool> TryAddAsync(string scope, string key, string value, CancellationToken cancellationToken) =>
        Task.FromResult(_values.TryAdd((scope, key), value));

    public Task<IReadOnlyDictionary<string, string>> ListAsync(string scope, CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyDictionary<string, string>>(_values.Where(kv => kv.Key.Scope == scope).ToDictionary(kv => kv.Key.Key, kv => kv.Value));
}
