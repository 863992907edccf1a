using System.Collections.Concurrent;
using Bridge.Mattermost.Api;

namespace Bridge.Mattermost;

/// <summary>
/// The bridge's posts in each channel by idempotency key, read once per channel per run: what an earlier run posted and,
/// killed before the core recorded it, never reported. Every such post exists before this run starts, so one
/// <c>posts?since</c> answer (completed by paging) taken after the start covers the whole backlog a restart finds, where
/// one request per row made a post-outage backlog take minutes to drain.
/// </summary>
internal sealed class EarlierRunPosts(Func<string, long, CancellationToken, Task<List<MmPost>>> changedSince, string keyProp)
{
    private readonly ConcurrentDictionary<string, ChannelIndex> _channels = new(StringComparer.Ordinal);

    /// <summary>
    /// The id of the live post carrying <paramref name="key"/> in the channel, or null. <paramref name="since"/> (ms,
    /// Mattermost's clock) must be early enough for the row asked about; an index read from later is read again.
    /// </summary>
    public async Task<string?> FindAsync(string channelId, string key, long since, CancellationToken cancellationToken)
    {
        var index = _channels.GetOrAdd(channelId, _ => new ChannelIndex());
        await index.Gate.WaitAsync(cancellationToken);
        try
        {
            if (index.ByKey is null || since < index.Since)
            {
                var byKey = new Dictionary<string, string>(StringComparer.Ordinal);
                foreach (var post in await changedSince(channelId, Math.Max(0, since), cancellationToken))
                {
                    // A deleted copy does not count: it was taken down, so posting the row is still owed.
                    if (post.DeleteAt == 0 && post.Prop(keyProp) is { Length: > 0 } postKey)
                    {
                        byKey.TryAdd(postKey, post.Id);
                    }
                }

                index.ByKey = byKey;
                index.Since = since;
            }

            return index.ByKey.GetValueOrDefault(key);
        }
        finally
        {
            index.Gate.Release();
        }
    }

    private sealed class ChannelIndex
    {
        public SemaphoreSlim Gate { get; } = new(1, 1);

        public Dictionary<string, string>? ByKey { get; set; }

        public long Since { get; set; }
    }
}
