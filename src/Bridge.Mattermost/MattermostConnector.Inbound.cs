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
                if (data["user"]?.Deserialize(MmJson.Info<MmUser>()) is { Id.Length: > 0 } user)
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

    /// <summary>A live <c>posted</c> event that goes to the core: a person's post (not ours, not a system post) still there.</summary>
    private bool CrossesLive(MmPost post) => !IsOwn(post) && !post.Type.StartsWith("system_", StringComparison.Ordinal) && post.DeleteAt == 0;

    private async Task IngestPostAsync(MmPost post, CancellationToken ct)
    {
        if (OwnChannel(post.ChannelId) is not { } channel)
        {
            return;
        }
        if (CrossesLive(post))
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
            // The server's drawn default (last_picture_update 0, or -time on current servers, after DELETE
            // /users/{id}/image): no picture of their own.
            AvatarRemoved = user is { LastPictureUpdate: <= 0 },
        };
    }

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
    private Task<List<MmPost>> ChangedSinceAsync(string nativeChannelId, long since, CancellationToken ct) => ChangedSinceAsync(nativeChannelId, since, AdminToken, ct);

    /// <inheritdoc cref="ChangedSinceAsync(string, long, CancellationToken)"/>
    /// <param name="token">Whose reading: the bridge account's for linked channels, a puppet's for its direct channels.</param>
    private async Task<List<MmPost>> ChangedSinceAsync(string nativeChannelId, long since, string token, CancellationToken ct)
    {
        var list = await _api.GetPostsSinceAsync(nativeChannelId, since, token, ct);
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
                var pageList = await _api.GetPostsPageAsync(nativeChannelId, page, PostsPageSize, token, ct);
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
