using System.Globalization;
using Bridge.Core.Reactions;
using System.Text.Json;
using System.Text.Json.Nodes;
using Bridge.Core.Connectors;
using Bridge.Core.Media;
using Bridge.Core.Model;
using Bridge.Mattermost.Api;
using Bridge.Mattermost.Events;
using Bridge.Mattermost.Text;
using Microsoft.Extensions.Logging;

namespace Bridge.Mattermost;

public sealed partial class MattermostConnector
{
    /// <summary>
    /// The WebSocket's reader: each channel's events go to that channel's lane (<see cref="HandleLaneItemAsync"/>), so a
    /// channel still catching up, or stuck on a failure, holds only itself. A new connection (a resync) puts a catch-up at
    /// the head of every channel's lane, ahead of everything the connection brings after it.
    /// </summary>
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
                // Nothing is acknowledged past a failure: every channel's cursor stays put until a catch-up has gone over
                // the gap again (live events meanwhile are dropped; the catch-up brings them in order).
                foreach (var channel in _byNative.Keys)
                {
                    _frozenLanes[channel] = true;
                }
                _frozenLanes[DirectLane] = true;
                _logger.LogError(MattermostLog.InboundFailed, e, "Handling Mattermost {Item} failed; catching up shortly", item.GetType().Name);
                ResyncLater(ct);
            }
        }
    }

    /// <summary>Memberships set right, then a catch-up at the head of every linked channel's lane.</summary>
    private async Task ResyncAsync(string reason, CancellationToken ct)
    {
        // A new connection may follow an outage in which an admin took the bridge account out of a channel.
        await ReconcileMembershipsAsync(ct);
        var channels = _byNative.Keys.ToList();
        var round = new CatchUpRound(reason, channels.Count, LogCatchUp);
        round.ReportIfEmpty();
        foreach (var channel in channels)
        {
            _lanes.Post(channel, new ChannelCatchUp(round));
        }
        // Direct channels are caught up by their puppets' listeners; a failure there is over once the connection is new.
        _lanes.Post(DirectLane, DirectThaw.Instance);
    }

    private void ResyncLater(CancellationToken ct) =>
        _ = Task.Delay(TimeSpan.FromSeconds(2), _context.Time, ct)
            .ContinueWith(_ => _items.Writer.TryWrite(new StreamItem.Resync("after a failure")), TaskScheduler.Default);

    /// <summary>A post or reaction goes to its channel's lane; anything else (typing, profile changes) is handled at once.</summary>
    private async Task RouteEventAsync(StreamItem.Event e, CancellationToken ct)
    {
        var channelId = ChannelOf(e);
        if (channelId is null && e.Name is "reaction_added" or "reaction_removed"
            && e.Data["reaction"] is JsonValue v && v.TryGetValue<string>(out var json) && MmJson.Read<MmReaction>(json) is { } reaction)
        {
            // Older servers leave channel_id out of reaction events: the post says where it is.
            channelId = (await _api.GetPostAsync(reaction.PostId, AdminToken, ct)).ChannelId;
        }

        if (channelId is null)
        {
            await HandleEventAsync(e.Name, e.Data, null, ct);
        }
        else if (OwnChannel(channelId) is not null)
        {
            _lanes.Post(LaneOf(channelId), new ChannelEvent(e, channelId));
        }
    }

    /// <summary>One item of one channel's lane, in the order the lane received them.</summary>
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
                case DirectThaw:
                    _frozenLanes.TryRemove(lane, out _);
                    break;
                case ChannelEvent when _frozenLanes.ContainsKey(lane):
                    // After a failure, live events wait for the catch-up, which brings them in order.
                    break;
                case ChannelEvent e:
                    await HandleEventAsync(e.Received.Name, e.Received.Data, e.ChannelId, ct);
                    break;
            }
        }
        catch (Exception e) when (!ct.IsCancellationRequested)
        {
            // Nothing is acknowledged past a failure: this channel's cursor stays put, so its catch-up finds it again.
            _frozenLanes[lane] = true;
            if (Bridge.Core.Storage.Health.StoreHealth.IsStoreFailure(e))
            {
                // The store said why, once, at error level; this repeats every catch-up while it lasts.
                _logger.LogWarning(MattermostLog.InboundFailed, "Mattermost {Item} not stored ({Error}); catching up shortly", item.GetType().Name, e.Message);
            }
            else
            {
                _logger.LogError(MattermostLog.InboundFailed, e, "Handling Mattermost {Item} failed; catching up shortly", item.GetType().Name);
            }

            if (lane == DirectLane)
            {
                ResyncLater(ct);
            }
            else
            {
                _ = Task.Delay(TimeSpan.FromSeconds(2), _context.Time, ct)
                    .ContinueWith(_ => _lanes.Post(lane, new ChannelCatchUp(new CatchUpRound("after a failure", 1, LogCatchUp))), TaskScheduler.Default);
            }
        }
    }

    private void LogCatchUp(string reason, int posts, int channels) =>
        _logger.LogInformation(MattermostLog.CatchUp, "Mattermost catch-up ({Reason}): {Count} post(s) checked in {Channels} channel(s)", reason, posts, channels);

    /// <summary>The lane of a channel: its own, or the one all direct channels share (their catch-ups go by puppet).</summary>
    private string LaneOf(string nativeChannelId) => DirectChannel(nativeChannelId) is not null ? DirectLane : nativeChannelId;

    /// <summary>Not a channel id (those are 26 letters and digits).</summary>
    private const string DirectLane = "(direct)";

    /// <summary>A channel's catch-up, one of a resync's.</summary>
    private sealed record ChannelCatchUp(CatchUpRound Round) : StreamItem;

    /// <summary>A post or reaction event of a known channel.</summary>
    private sealed record ChannelEvent(StreamItem.Event Received, string ChannelId) : StreamItem;

    /// <summary>Direct channels take live events again (a new connection).</summary>
    private sealed record DirectThaw : StreamItem
    {
        public static readonly DirectThaw Instance = new();
    }

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

        public string Reason => reason;

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

    private async Task HandleEventAsync(string name, JsonObject data, string? knownChannelId, CancellationToken ct)
    {
        switch (name)
        {
            case "posted":
                if (ParsePost(data) is { } posted)
                {
                    await IngestPostAsync(posted, ct);
                }
                break;
            case "post_edited":
                if (ParsePost(data) is { } edited && OwnChannel(edited.ChannelId) is { } && !IsOwn(edited))
                {
                    await IngestEditAsync(edited, ct);
                    await SaveCursorAsync(edited.ChannelId, edited.UpdateAt, ct);
                }
                break;
            case "post_deleted":
                if (ParsePost(data) is { } deleted && OwnChannel(deleted.ChannelId) is { } && !IsOwn(deleted))
                {
                    await IngestDeleteAsync(deleted, ct);
                    await SaveCursorAsync(deleted.ChannelId, deleted.UpdateAt, ct);
                }
                break;
            case "reaction_added":
                if (data["reaction"]?.GetValue<string>() is { } json && MmJson.Read<MmReaction>(json) is { } reaction)
                {
                    var channelId = knownChannelId ?? JsonNode.Parse(json)?["channel_id"]?.GetValue<string>();
                    channelId = string.IsNullOrEmpty(channelId) ? (await _api.GetPostAsync(reaction.PostId, AdminToken, ct)).ChannelId : channelId;
                    await IngestReactionAsync(reaction, channelId, ct);
                }
                break;
            case "reaction_removed":
                if (data["reaction"]?.GetValue<string>() is { } removedJson && MmJson.Read<MmReaction>(removedJson) is { } removed)
                {
                    var channelId = knownChannelId ?? JsonNode.Parse(removedJson)?["channel_id"]?.GetValue<string>();
                    channelId = string.IsNullOrEmpty(channelId) ? (await _api.GetPostAsync(removed.PostId, AdminToken, ct)).ChannelId : channelId;
                    await IngestReactionRemovedAsync(removed, channelId, ct);
                }
                break;
            case "typing":
                await HandleTypingAsync(data, ct);
                break;
            case "user_updated":
                if (data["user"]?.Deserialize<MmUser>(MmJson.Options) is { Id.Length: > 0 } user)
                {
                    _users[user.Id] = user;
                }
                break;
        }
    }

    internal static MmPost? ParsePost(JsonObject data) =>
        data["post"] is JsonValue v && v.TryGetValue<string>(out var json) ? MmJson.Read<MmPost>(json) : null;

    private Startup.ResolvedChannel? OwnChannel(string nativeChannelId) => _byNative.GetValueOrDefault(nativeChannelId) ?? DirectChannel(nativeChannelId);

    /// <summary>The bridge's own traffic: puppets, the relay account, a bot bridge account, or anything carrying the bridge tag.</summary>
    private bool IsOwn(MmPost post) => IsOwnUser(post.UserId) || post.Props?[Tag("origin")] is not null;

    /// <summary>A human admin's own account is not "own": only puppets, a dedicated relay bot, or a bot bridge account are.</summary>
    private bool IsOwnUser(string userId)
    {
        if (_puppets.IsPuppet(userId))
        {
            return true;
        }
        var me = _facts?.Me;
        if (me is { IsBot: true } && me.Id == userId)
        {
            return true;
        }
        return _relay is { } relay && relay.UserId == userId && relay.UserId != me?.Id;
    }

    private async Task IngestPostAsync(MmPost post, CancellationToken ct)
    {
        if (OwnChannel(post.ChannelId) is not { } channel)
        {
            return;
        }
        if (!IsOwn(post) && !post.Type.StartsWith("system_", StringComparison.Ordinal) && post.DeleteAt == 0)
        {
            var ev = await ToEventAsync(post, channel.ConfiguredId, ct);
            await _context.Sink.IngestAsync(ev, ct);
        }
        await SaveCursorAsync(post.ChannelId, post.UpdateAt, ct);
    }

    private async Task<BridgeEvent> ToEventAsync(MmPost post, string channelId, CancellationToken ct) => new()
    {
        NetworkId = _network.Id,
        ChannelId = channelId,
        NativeId = post.Id,
        Kind = BridgeEventKind.Message,
        MessageKind = post.Type == "me" ? MessageKind.Emote : MessageKind.Text,
        Sender = await PersonAsync(post, ct),
        Text = post.Message,
        TextFormat = TextFormat.Markdown,
        Mentions = await ReadMentionsAsync(post.Message, ct),
        // A post in a thread answers its root: networks with threads thread it, the others show a reply to the root.
        ReplyToNativeId = post.RootId.Length > 0 ? post.RootId : null,
        ThreadRootNativeId = post.RootId.Length > 0 ? post.RootId : null,
        Timestamp = Timestamp(post.CreateAt, _context.Time),
        StructuredLabels = post.LabelProp("classification"), // present but empty or not a string: ranks highest (R-S1)
        // The file stays on this server: other networks get its bytes through OpenMediaAsync, never its address.
        Attachments = [.. (post.Metadata?.Files ?? []).Select(f => new Attachment
        {
            Name = f.Name,
            ContentType = f.MimeType,
            Size = f.Size,
            Source = new MediaSource(_network.Id, f.Id),
            Width = f.Width > 0 ? f.Width : null,
            Height = f.Height > 0 ? f.Height : null,
        })],
    };

    private async Task IngestEditAsync(MmPost post, CancellationToken ct)
    {
        if (post.EditAt == 0 || post.DeleteAt != 0 || OwnChannel(post.ChannelId) is not { } channel)
        {
            return; // older servers also sent post_edited for reaction changes
        }
        await _context.Sink.IngestAsync(new BridgeEvent
        {
            NetworkId = _network.Id,
            ChannelId = channel.ConfiguredId,
            NativeId = $"{post.Id}:{post.EditAt}",
            Kind = BridgeEventKind.Edit,
            Sender = await PersonAsync(post, ct),
            Text = post.Message,
            TextFormat = TextFormat.Markdown,
            Mentions = await ReadMentionsAsync(post.Message, ct),
            TargetNativeId = post.Id,
            Timestamp = Timestamp(post.EditAt, _context.Time),
            StructuredLabels = post.LabelProp("classification"), // R-K2: the edited post is classified from scratch
        }, ct);
    }

    private async Task IngestDeleteAsync(MmPost post, CancellationToken ct)
    {
        if (OwnChannel(post.ChannelId) is not { } channel)
        {
            return;
        }
        await _context.Sink.IngestAsync(new BridgeEvent
        {
            NetworkId = _network.Id,
            ChannelId = channel.ConfiguredId,
            NativeId = $"{post.Id}:deleted",
            Kind = BridgeEventKind.Delete,
            Sender = await PersonAsync(post, ct),
            TargetNativeId = post.Id,
            Timestamp = Timestamp(post.DeleteAt == 0 ? post.UpdateAt : post.DeleteAt, _context.Time),
        }, ct);
    }

    private async Task IngestReactionAsync(MmReaction reaction, string channelId, CancellationToken ct)
    {
        if (OwnChannel(channelId) is not { } channel || IsOwnUser(reaction.UserId))
        {
            return;
        }
        // The add's time is part of its id: the same person may take a reaction back and give it again, and the second
        // add must not be dropped as a duplicate of the first. Catch-up sees the same create_at, so it stays stable.
        var nativeId = $"{ReactionNativeId(reaction.PostId, reaction.UserId, reaction.EmojiName)}:{reaction.CreateAt.ToString(CultureInfo.InvariantCulture)}";
        var at = Timestamp(reaction.CreateAt, _context.Time);
        await _context.Sink.IngestAsync(new BridgeEvent
        {
            NetworkId = _network.Id,
            ChannelId = channel.ConfiguredId,
            NativeId = nativeId,
            Kind = BridgeEventKind.Reaction,
            Sender = await PersonAsync(reaction.UserId, null, ct),
            TargetNativeId = reaction.PostId,
            ReactionKey = EmojiMap.FromShortcode(reaction.EmojiName),
            Timestamp = at,
        }, ct);
        var owner = new ReactionOwner(_network.Id, reaction.PostId, reaction.UserId);
        var set = await _context.Reactions.GetReactionsAsync(owner, ct);
        if (!set.Keys.TryGetValue(reaction.EmojiName, out var known) || known != nativeId)
        {
            await _context.Reactions.PutReactionsAsync(owner, set.With(reaction.EmojiName, nativeId, at), ct);
        }
    }

    /// <summary>
    /// <c>reaction_removed</c>: the server sends it for any DELETE, whether or not the reaction existed, with the
    /// reaction as the request named it (no create_at). Only a reaction this bridge saw added is taken back; the
    /// removal's id is derived from the add's, so each add is removed at most once.
    /// </summary>
    private async Task IngestReactionRemovedAsync(MmReaction reaction, string channelId, CancellationToken ct)
    {
        if (OwnChannel(channelId) is not { } channel || IsOwnUser(reaction.UserId))
        {
            return;
        }
        var owner = new ReactionOwner(_network.Id, reaction.PostId, reaction.UserId);
        var set = await _context.Reactions.GetReactionsAsync(owner, ct);
        if (!set.Keys.TryGetValue(reaction.EmojiName, out var added))
        {
            _logger.LogDebug(MattermostLog.ReactionIgnored, "Removal of :{Emoji}: on {Post} by {User} ignored: no such reaction was seen", reaction.EmojiName, reaction.PostId, reaction.UserId);
            return;
        }
        var now = _context.Time.GetUtcNow();
        await _context.Sink.IngestAsync(new BridgeEvent
        {
            NetworkId = _network.Id,
            ChannelId = channel.ConfiguredId,
            NativeId = added + ":removed",
            Kind = BridgeEventKind.ReactionRemoved,
            Sender = await PersonAsync(reaction.UserId, null, ct),
            TargetNativeId = reaction.PostId,
            ReactionKey = EmojiMap.FromShortcode(reaction.EmojiName),
            Timestamp = now,
        }, ct);
        await _context.Reactions.PutReactionsAsync(owner, set.Without(reaction.EmojiName, now), ct);
    }

    /// <summary>
    /// A Mattermost time (milliseconds since 1970) as a time; one outside the calendar counts as absent (now). It used
    /// to throw, and a post that throws is retried by every catch-up: one bad timestamp stalled the channel for good.
    /// </summary>
    internal static DateTimeOffset Timestamp(long milliseconds, TimeProvider time) =>
        milliseconds is >= -62_135_596_800_000 and <= 253_402_300_799_999 ? DateTimeOffset.FromUnixTimeMilliseconds(milliseconds) : time.GetUtcNow();

    internal static string ReactionNativeId(string postId, string userId, string emojiName) => $"{postId}:{userId}:{emojiName}";

    private Task<PersonRef> PersonAsync(MmPost post, CancellationToken ct)
    {
        // Other integrations' webhook posts carry the name they want shown.
        var overrideName = post.Prop("from_webhook") == "true" ? post.Prop("override_username") : null;
        return PersonAsync(post.UserId, overrideName, ct);
    }

    private async Task<PersonRef> PersonAsync(string userId, string? overrideName, CancellationToken ct)
    {
        if (!_users.TryGetValue(userId, out var user))
        {
            try
            {
                user = await _api.GetUserAsync(userId, AdminToken, ct);
                _users[userId] = user;
            }
            catch (MattermostApiException e)
            {
                _logger.LogDebug(MattermostLog.InboundFailed, "Could not look up Mattermost user {UserId}: {Error}", userId, e.Message);
            }
        }
        return new PersonRef
        {
            NetworkId = _network.Id,
            UserId = userId,
            DisplayName = overrideName ?? user?.NameShownToMembers(_facts?.FullNamesShown == true) ?? userId,
            Handle = overrideName ?? (user is { Username.Length: > 0 } ? user.Username : null),
            Organisation = _network.Organisation.Length > 0 ? _network.Organisation : null,
            Avatar = AvatarOf(user),
            // The server's drawn default (last_picture_update 0 after DELETE /users/{id}/image): no picture of their own.
            AvatarRemoved = user is { LastPictureUpdate: <= 0 },
        };
    }

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
        await _catchUpSlots.WaitAsync(ct);
        try
        {
            if (_byNative.GetValueOrDefault(nativeChannelId) is not { } channel)
            {
                ok = true; // unlinked meanwhile
                return;
            }

            var cursor = _cursors.GetValueOrDefault(channel.NativeId);
            var since = Math.Max(0, cursor - (long)_options.CatchUpSkew.TotalMilliseconds);
            var posts = await ChangedSinceAsync(channel.NativeId, since, ct);

            // Posts are handled in the order they were written, but the cursor counts update_at, which a later edit or
            // reaction moves far ahead of a post's place: after each post the cursor may only reach just short of the
            // oldest update_at still waiting, or a kill there would leave a newer post behind the saved cursor.
            var waitingFrom = new long[posts.Count + 1];
            waitingFrom[posts.Count] = long.MaxValue;
            for (var i = posts.Count - 1; i >= 0; i--)
            {
                waitingFrom[i] = Math.Min(posts[i].UpdateAt, waitingFrom[i + 1]);
            }

            for (var i = 0; i < posts.Count; i++)
            {
                var post = posts[i];
                checkedPosts++;
                await CatchUpPostAsync(post, channel, ct);
                // Each cursor write is a store transaction; a cursor that lags only means re-reading a few posts
                // (duplicates, dropped by the core) after a kill, so it is written every few posts and at the end.
                if (i % CursorWriteEvery == CursorWriteEvery - 1 || i == posts.Count - 1)
                {
                    var safe = waitingFrom[i + 1] == long.MaxValue ? post.UpdateAt : Math.Min(post.UpdateAt, waitingFrom[i + 1] - 1);
                    await SaveCursorAsync(channel.NativeId, safe, ct, fromCatchUp: true);
                }
            }

            _frozenLanes.TryRemove(nativeChannelId, out _);
            ok = true;
        }
        finally
        {
            _catchUpSlots.Release();
            round.Finished(checkedPosts, ok);
        }
    }

    /// <summary>Channels whose catch-up reads the server at the same time.</summary>
    internal const int CatchUpsAtOnce = 4;

    /// <summary>Mattermost answers <c>posts?since=</c> with at most this many posts: the newest ones by create_at.</summary>
    internal const int SinceAnswerLimit = 1000;

    /// <summary>The largest page Mattermost gives (<c>per_page</c> is capped at 200).</summary>
    private const int PostsPageSize = 200;

    private const int CursorWriteEvery = 20;

    /// <summary>
    /// Every post of the channel changed after <paramref name="since"/>, in the order they were written. A full
    /// <c>since</c> answer holds only the newest changed posts: the older ones (a backlog that grew while catch-ups kept
    /// being cut short by restarts) are found by paging back through the channel to <paramref name="since"/>. Taking the
    /// capped answer as complete moved the cursor past them and lost them for good (the 100-kill crash storm).
    /// </summary>
    private async Task<List<MmPost>> ChangedSinceAsync(string nativeChannelId, long since, CancellationToken ct)
    {
        var list = await _api.GetPostsSinceAsync(nativeChannelId, since, AdminToken, ct);
        var changed = new Dictionary<string, MmPost>(StringComparer.Ordinal);
        foreach (var id in list.Order)
        {
            if (list.Posts.TryGetValue(id, out var post))
            {
                changed[id] = post;
            }
        }

        if (list.Order.Count >= SinceAnswerLimit && changed.Count > 0)
        {
            // Posts written before the oldest one answered were cut off. Pages (newest first) hold every post still
            // there; those written after `since` cover the cut-off ones. Deleted posts are not in pages: one written
            // and deleted in the gap was never shown anywhere, so nothing is owed for it.
            var cut = changed.Values.Min(p => p.CreateAt);
            var added = 0;
            for (var page = 0; ; page++)
            {
                var pageList = await _api.GetPostsPageAsync(nativeChannelId, page, PostsPageSize, AdminToken, ct);
                var onPage = pageList.Order.Where(pageList.Posts.ContainsKey).Select(id => pageList.Posts[id]).ToList();
                foreach (var post in onPage.Where(p => p.CreateAt <= cut && p.UpdateAt > since))
                {
                    if (changed.TryAdd(post.Id, post))
                    {
                        added++;
                    }
                }
                if (pageList.Order.Count < PostsPageSize || onPage.Count == 0 || onPage.Min(p => p.CreateAt) <= since)
                {
                    break;
                }
            }
            _logger.LogInformation(MattermostLog.CatchUpPaged, "Mattermost catch-up: more than {Limit} posts changed in {Channel} since {Since}; {Added} older post(s) found by paging",
                SinceAnswerLimit, nativeChannelId, since, added);
        }

        return [.. changed.Values.OrderBy(p => p.CreateAt).ThenBy(p => p.UpdateAt)];
    }

    private async Task CatchUpPostAsync(MmPost post, Startup.ResolvedChannel channel, CancellationToken ct)
    {
        if (post.Type.StartsWith("system_", StringComparison.Ordinal))
        {
            return;
        }
        if (IsOwn(post))
        {
            // Our puppets' posts are not bridged back, but people react to them: reactions made while we were away
            // are only found here (IngestReactionAsync drops the puppets' own).
            if (post.DeleteAt == 0)
            {
                foreach (var reaction in post.Metadata?.Reactions ?? [])
                {
                    await IngestReactionAsync(reaction, channel.NativeId, ct);
                }
            }
            return;
        }
        if (post.DeleteAt != 0)
        {
            await IngestDeleteAsync(post, ct);
            return;
        }
        if (post.EditAt != 0)
        {
            // The edit goes in before its post. A post seen before goes out edited as usual; a post first seen now goes
            // out with its edited text, and the edit ahead of it is skipped by the core (a channel's rows are delivered
            // in order, and an edit whose target was never delivered is dropped). Either way the edit's id is then
            // known, so neither the live post_edited behind this catch-up nor the next catch-up after a kill sends it
            // again. Noting "arrived edited" after the post's commit left a window where a kill doubled the edit.
            await IngestEditAsync(post, ct);
        }
        await _context.Sink.IngestAsync(await ToEventAsync(post, channel.ConfiguredId, ct), ct);
        foreach (var reaction in post.Metadata?.Reactions ?? [])
        {
            await IngestReactionAsync(reaction, channel.NativeId, ct);
        }
    }
}
