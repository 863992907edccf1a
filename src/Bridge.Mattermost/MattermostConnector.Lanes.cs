using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Bridge.Mattermost.Api;
using Bridge.Mattermost.Events;
using Bridge.Mattermost.Inbound;
using Microsoft.Extensions.Logging;

namespace Bridge.Mattermost;

/// <summary>
/// Receiving in lanes. The WebSocket's reader (<see cref="ProcessItemsAsync"/>) routes each post or reaction to its
/// channel's lane (<see cref="ChannelLanes{T}"/>); direct channels share one lane, as their catch-ups go by puppet. A
/// channel still catching up, or stuck on a failure, holds only itself. A new connection puts a catch-up at the head
/// of every linked channel's lane, ahead of everything the connection brings after it, so each channel keeps its order.
/// After a failure a channel is frozen: its live events are dropped and its cursor stays put until a catch-up has gone
/// over the gap again (which brings those events back, in order).
/// </summary>
public sealed partial class MattermostConnector
{
    /// <summary>Channels whose catch-up reads the server at the same time.</summary>
    internal const int CatchUpsAtOnce = 4;

    /// <summary>Not a channel id (those are 26 letters and digits).</summary>
    private const string DirectLane = "(direct)";

    private static readonly TimeSpan FirstRetry = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan LastRetry = TimeSpan.FromMinutes(1);

    /// <summary>Frozen channels, each with the generation of its freeze (a catch-up clears only the freeze it began under).</summary>
    private readonly ConcurrentDictionary<string, long> _frozen = new(StringComparer.Ordinal);

    /// <summary>Channels (or <see cref="DirectLane"/>) with a retry on its way, and how many failed in a row.</summary>
    private readonly ConcurrentDictionary<string, int> _retries = new(StringComparer.Ordinal);

    private readonly ConcurrentDictionary<string, byte> _retryPending = new(StringComparer.Ordinal);
    private long _freezeGeneration;

    private long Freeze(string nativeChannelId)
    {
        var generation = Interlocked.Increment(ref _freezeGeneration);
        _frozen[nativeChannelId] = generation;
        return generation;
    }

    private bool IsFrozen(string nativeChannelId) => _frozen.ContainsKey(nativeChannelId);

    /// <summary>The freeze a catch-up begins under (null: none); pass it to <see cref="ThawIfSame"/> when it has gone over the gap.</summary>
    private long? FreezeOf(string nativeChannelId) => _frozen.TryGetValue(nativeChannelId, out var generation) ? generation : null;

    /// <summary>A freeze set after the catch-up read the server stays: that catch-up did not see what failed.</summary>
    private void ThawIfSame(string nativeChannelId, long? generation)
    {
        if (generation is { } g)
        {
            _frozen.TryRemove(KeyValuePair.Create(nativeChannelId, g));
        }
    }

    private async Task ProcessItemsAsync(CancellationToken ct)
    {
        await foreach (var item in _items.Reader.ReadAllAsync(ct))
        {
            try
            {
                switch (item)
                {
                    case StreamItem.Resync r:
                        // Every new connection begins with one: deliveries need not wait for the worker's next poll.
                        _context.WakeDeliveries(NetworkId);
                        await ResyncAsync(r.Reason, ct);
                        break;
                    case DirectCatchUp d:
                        _lanes.Post(DirectLane, d);
                        break;
                    case StreamItem.Event e:
                        await RouteEventAsync(e, ct);
                        break;
                }
            }
            catch (Exception e) when (!ct.IsCancellationRequested)
            {
                // Where the event belonged is not known: every channel stays put until a catch-up has gone over the gap.
                foreach (var channel in _byNative.Keys.Concat(_directChannels.Keys))
                {
                    Freeze(channel);
                }
                _logger.LogError(MattermostLog.InboundFailed, e, "Handling Mattermost {Item} failed; catching up shortly", item.GetType().Name);
                RetryLater(DirectLane);
                _ = Task.Delay(FirstRetry, _context.Time, ct)
                    .ContinueWith(_ => _items.Writer.TryWrite(new StreamItem.Resync("after a failure")), TaskScheduler.Default);
            }
        }
    }

    /// <summary>
    /// Linked channels set right (dropped, added), then a catch-up at the head of every linked channel's lane. Each
    /// channel's membership is checked by its own catch-up: a thousand checks in a row here would hold every channel's
    /// live events for as long.
    /// </summary>
    private async Task ResyncAsync(string reason, CancellationToken ct)
    {
        // A new connection may follow an outage in which an admin took the bridge account out of a channel.
        await ReconcileMembershipsAsync(ct);
        _joinRefusalsLogged.Clear();
        var channels = _byNative.Keys.ToList();
        var round = new CatchUpRound(reason, channels.Count, LogCatchUp);
        round.ReportIfEmpty();
        foreach (var channel in channels)
        {
            _catchUpSlots.Expect(channel);
            _lanes.Post(channel, new ChannelCatchUp(round));
        }
    }

    /// <summary>A post or reaction goes to its channel's lane; typing and profile changes are handled at once (they move no cursor).</summary>
    private async Task RouteEventAsync(StreamItem.Event e, CancellationToken ct)
    {
        var channelId = ChannelOf(e);
        if (channelId is null && e.Name is "reaction_added" or "reaction_removed"
            && e.Data["reaction"] is JsonValue v && v.TryGetValue<string>(out var json) && MmJson.Read<MmReaction>(json) is { } reaction)
        {
            // Older servers leave channel_id out of reaction events: the post says where it is.
            try
            {
                channelId = (await _api.GetPostAsync(reaction.PostId, AdminToken, ct)).ChannelId;
            }
            catch (MattermostApiException ex) when (ex.Status == System.Net.HttpStatusCode.NotFound)
            {
                _logger.LogDebug(MattermostLog.ReactionIgnored, "Reaction on {Post} ignored: the post is gone", reaction.PostId);
                return;
            }
        }

        if (channelId is null)
        {
            try
            {
                await HandleEventAsync(e.Name, e.Data, null, ct);
            }
            catch (Exception ex) when (!ct.IsCancellationRequested)
            {
                // Typing or a profile change: nothing is owed for it later, so no channel waits for a catch-up.
                _logger.LogWarning(MattermostLog.InboundFailed, "Mattermost {Event} not handled: {Error}", e.Name, ex.Message);
            }
        }
        else if (OwnChannel(channelId) is not null)
        {
            var lane = LaneOf(channelId);
            _lanes.Post(lane, new ChannelEvent(e, channelId));
            // Someone is talking there: if its catch-up still waits for a turn, it goes before the quiet channels'.
            if (_catchUpSlots.Hurry(lane))
            {
                _logger.LogDebug(MattermostLog.CatchUpHurried, "Live events in {Channel}: its catch-up goes before the quiet channels'", channelId);
            }
        }
    }

    /// <summary>Posts queued in a channel's lane behind each other go to the core together, in one store transaction.</summary>
    internal const int MaxIngestBatch = 100;

    /// <summary>
    /// A new post in a linked channel's own lane (not the direct lane, which several channels share). Edits, deletions and
    /// reactions go on their own: they name a post that may be in the same run, and each moves its own state.
    /// </summary>
    private bool IsBatchablePost(StreamItem item) =>
        item is ChannelEvent { Received.Name: "posted" } e && LaneOf(e.ChannelId) == e.ChannelId;

    /// <summary>One item of one lane, or a run of its new posts (<see cref="IsBatchablePost"/>), in the order the lane received them.</summary>
    private async Task HandleLaneItemsAsync(string lane, IReadOnlyList<StreamItem> items, CancellationToken ct)
    {
        if (items.Count == 1)
        {
            await HandleLaneItemAsync(lane, items[0], ct);
            return;
        }

        var posts = items.Cast<ChannelEvent>().ToList();
        try
        {
            if (await IngestPostsAsync(lane, posts, ct))
            {
                return;
            }
        }
        catch (Exception e) when (!ct.IsCancellationRequested)
        {
            LaneItemFailed(lane, posts[0], e, $"a run of {posts.Count} posts");
            return;
        }

        foreach (var item in posts)
        {
            await HandleLaneItemAsync(lane, item, ct);
        }
    }

    /// <summary>
    /// A run of new posts of one channel, handed to the core in one batch (all or nothing), then the channel's cursor
    /// behind the last. Dropped whole when the channel is frozen: its catch-up brings them, in order. False, with
    /// nothing done, when a post of the run does not read as a post of this channel: the run goes one at a time then.
    /// </summary>
    private async Task<bool> IngestPostsAsync(string nativeChannelId, List<ChannelEvent> run, CancellationToken ct)
    {
        var posts = run.Select(item => ParsePost(item.Received.Data)).ToList();
        if (posts.Any(p => p is null || p.ChannelId != nativeChannelId))
        {
            return false;
        }

        if (IsFrozen(nativeChannelId) || OwnChannel(nativeChannelId) is not { } channel)
        {
            return true;
        }

        var events = new List<Bridge.Core.Model.BridgeEvent>(run.Count);
        long last = 0;
        foreach (var post in posts.OfType<Api.MmPost>())
        {
            if (CrossesLive(post))
            {
                events.Add(await ToEventAsync(post, channel.ConfiguredId, ct));
            }

            last = Math.Max(last, post.UpdateAt);
        }

        if (events.Count > 0)
        {
            await _context.Sink.IngestBatchAsync(events, ct);
        }

        if (last > 0)
        {
            await SaveCursorAsync(nativeChannelId, last, ct);
        }

        return true;
    }

    /// <summary>One item of one lane, in the order the lane received them.</summary>
    private async Task HandleLaneItemAsync(string lane, StreamItem item, CancellationToken ct)
    {
        try
        {
            switch (item)
            {
                case ChannelCatchUp c:
                    await CatchUpChannelAsync(lane, c.Round, ct);
                    break;
                case DirectCatchUp d:
                    await CatchUpDirectAsync(d, ct);
                    break;
                case ChannelEvent e when IsFrozen(e.ChannelId) && e.Received.Name != "reaction_removed":
                    // Its catch-up brings it, in order. A reaction taken back is the exception: a catch-up cannot see that
                    // (it reads what is there), and handling it moves no cursor.
                    break;
                case ChannelEvent e:
                    await HandleEventAsync(e.Received.Name, e.Received.Data, e.ChannelId, ct);
                    break;
            }
        }
        catch (Exception e) when (!ct.IsCancellationRequested)
        {
            LaneItemFailed(lane, item, e, item.GetType().Name);
        }
    }

    /// <summary>Nothing is acknowledged past a failure: the channel's cursor stays put, so its catch-up finds it again.</summary>
    private void LaneItemFailed(string lane, StreamItem item, Exception e, string what)
    {
        if (item is ChannelEvent failed)
        {
            Freeze(failed.ChannelId);
        }
        else if (item is ChannelCatchUp)
        {
            Freeze(lane);
        }

        if (Bridge.Core.Storage.Health.StoreHealth.IsStoreFailure(e))
        {
            // The store said why, once, at error level; this repeats every catch-up while it lasts.
            _logger.LogWarning(MattermostLog.InboundFailed, "Mattermost {Item} not stored ({Error}); catching up shortly", what, e.Message);
        }
        else
        {
            _logger.LogError(MattermostLog.InboundFailed, e, "Handling Mattermost {Item} failed; catching up shortly", what);
        }

        RetryLater(lane);
    }

    /// <summary>
    /// One catch-up of the lane later, however many failures ask for it meanwhile, after a pause that doubles with each
    /// failure in a row (2 s up to a minute). A direct lane catches up every puppet's direct channels.
    /// </summary>
    private void RetryLater(string lane)
    {
        if (!_retryPending.TryAdd(lane, 0))
        {
            return;
        }

        var failures = _retries.AddOrUpdate(lane, 1, (_, n) => Math.Min(n + 1, 16));
        var delay = TimeSpan.FromTicks(Math.Min(FirstRetry.Ticks << Math.Min(failures - 1, 10), LastRetry.Ticks));
        _ = Task.Delay(delay, _context.Time, _stopping.Token).ContinueWith(t =>
        {
            _retryPending.TryRemove(lane, out _);
            if (t.IsCanceled)
            {
                return;
            }

            if (lane == DirectLane)
            {
                foreach (var (puppetUserId, listener) in _directListeners)
                {
                    _lanes.Post(DirectLane, new DirectCatchUp(puppetUserId, listener.Token, "after a failure"));
                }
            }
            else
            {
                _catchUpSlots.Expect(lane);
                _lanes.Post(lane, new ChannelCatchUp(new CatchUpRound("after a failure", 1, LogCatchUp)));
            }
        }, TaskScheduler.Default);
    }

    private void Succeeded(string lane) => _retries.TryRemove(lane, out _);

    /// <summary>
    /// REST catch-up of one linked channel, at the head of its lane: everything updated since the channel's cursor (minus
    /// a skew for posts committed out of order). Already-seen posts come back as duplicates and the core drops them by
    /// native id. At most <see cref="CatchUpsAtOnce"/> channels read at once, so a thousand channels do not all ask the
    /// server together; channels waiting for a turn hold only their own events.
    /// </summary>
    private async Task CatchUpChannelAsync(string nativeChannelId, CatchUpRound round, CancellationToken ct)
    {
        var checkedPosts = 0;
        var ok = false;
        await _catchUpSlots.WaitAsync(nativeChannelId, ct);
        try
        {
            var frozenUnder = FreezeOf(nativeChannelId);
            if (_byNative.GetValueOrDefault(nativeChannelId) is not { } channel)
            {
                // Unlinked meanwhile: nothing to read, and nothing may wait for it if it is linked again.
                _frozen.TryRemove(nativeChannelId, out _);
                ok = true;
                return;
            }

            if (!await EnsureMemberAsync(channel, ct))
            {
                _frozen.TryRemove(nativeChannelId, out _); // unlinked while its membership was checked
                ok = true;
                return;
            }

            var since = Math.Max(0, _cursors.Get(channel.NativeId) - (long)_options.CatchUpSkew.TotalMilliseconds);
            var posts = await ChangedSinceAsync(channel.NativeId, since, AdminToken, ct);
            checkedPosts = await CatchUpPostsAsync(channel, posts, ct);
            ThawIfSame(nativeChannelId, frozenUnder);
            Succeeded(nativeChannelId);
            ok = true;
        }
        finally
        {
            _catchUpSlots.Release();
            round.Finished(checkedPosts, ok);
        }
    }

    /// <summary>
    /// Hands <paramref name="posts"/> (in the order they were written) to the core and moves the channel's cursor behind
    /// them. The cursor counts update_at, which a later edit or reaction moves far ahead of a post's place: after each
    /// post it may only reach just short of the oldest update_at still waiting, or a kill there would leave a newer post
    /// behind the saved cursor. Stops, without moving the cursor, if the channel is unlinked meanwhile.
    /// </summary>
    private async Task<int> CatchUpPostsAsync(Startup.ResolvedChannel channel, List<MmPost> posts, CancellationToken ct)
    {
        var waitingFrom = new long[posts.Count + 1];
        waitingFrom[posts.Count] = long.MaxValue;
        for (var i = posts.Count - 1; i >= 0; i--)
        {
            waitingFrom[i] = Math.Min(posts[i].UpdateAt, waitingFrom[i + 1]);
        }

        for (var i = 0; i < posts.Count; i++)
        {
            if (OwnChannel(channel.NativeId) is null)
            {
                return i; // unlinked or closed meanwhile: its cursor must not come back
            }

            var post = posts[i];
            await CatchUpPostAsync(post, channel, ct);
            // A cursor that lags only means re-reading a few posts (duplicates, dropped by the core) after a kill; it
            // moves every few posts and at the end, and is written with the next save of the cursors.
            if (i % CursorWriteEvery == CursorWriteEvery - 1 || i == posts.Count - 1)
            {
                var safe = waitingFrom[i + 1] == long.MaxValue ? post.UpdateAt : Math.Min(post.UpdateAt, waitingFrom[i + 1] - 1);
                await SaveCursorAsync(channel.NativeId, safe, ct, fromCatchUp: true);
            }
        }

        return posts.Count;
    }

    private void LogCatchUp(string reason, int posts, int channels) =>
        _logger.LogInformation(MattermostLog.CatchUp, "Mattermost catch-up ({Reason}): {Count} post(s) checked in {Channels} channel(s)", reason, posts, channels);

    /// <summary>The lane of a channel: its own, or the one all direct channels share (their catch-ups go by puppet).</summary>
    private string LaneOf(string nativeChannelId) => DirectChannel(nativeChannelId) is not null ? DirectLane : nativeChannelId;

    /// <summary>A channel's catch-up, one of a resync's.</summary>
    private sealed record ChannelCatchUp(CatchUpRound Round) : StreamItem;

    /// <summary>A post or reaction event of a known channel.</summary>
    private sealed record ChannelEvent(StreamItem.Event Received, string ChannelId) : StreamItem;

    /// <summary>
    /// The catch-ups one resync started: the last channel to finish says how many posts were checked (one log line per
    /// resync, as operators and tests read it). A round with a failed channel says nothing; that channel's retry does.
    /// </summary>
    private sealed class CatchUpRound(string reason, int channels, Action<string, int, int> report)
    {
        private readonly int _channels = channels;
        private int _remaining = channels;
        private int _posts;
        private int _failed;

        public void Finished(int posts, bool ok)
        {
            Interlocked.Add(ref _posts, posts);
            if (!ok)
            {
                Interlocked.Exchange(ref _failed, 1);
            }

            if (Interlocked.Decrement(ref _remaining) == 0 && Volatile.Read(ref _failed) == 0)
            {
                report(reason, Volatile.Read(ref _posts), _channels);
            }
        }

        /// <summary>A resync with no channel to catch up still reports.</summary>
        public void ReportIfEmpty()
        {
            if (_channels == 0)
            {
                report(reason, 0, 0);
            }
        }
    }
}
