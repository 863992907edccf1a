using Bridge.Core.Reactions;
using Bridge.Core.Text;
using System.Net;
using System.Text.Json.Nodes;
using Bridge.Core.Connectors;
using Bridge.Core.Media;
using Bridge.Core.Model;
using Bridge.Mattermost.Api;
using Bridge.Mattermost.Puppets;
using Bridge.Mattermost.Startup;
using Bridge.Mattermost.Text;
using Microsoft.Extensions.Logging;

namespace Bridge.Mattermost;

public sealed partial class MattermostConnector
{
    private const int MaxFilesPerPost = 10; // PostFileidsMaxRunes = 300

    /// <summary>How far the server's clock (post times) may be behind the store's (queue times).</summary>
    private static readonly TimeSpan ClockSkewAllowance = TimeSpan.FromMinutes(1);

    /// <summary>Idempotency keys this run tried to post without a clear answer; a key leaves once posted or found.</summary>
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, byte> _postsInDoubt = new(StringComparer.Ordinal);

    /// <summary>Who a delivery posts as: a puppet (its own token) or the relay account.</summary>
    private sealed record Poster(string UserId, string Token, bool IsRelay);

    public async Task<DeliveryResult> DeliverAsync(DeliveryRequest request, CancellationToken cancellationToken)
    {
        if (_facts is not { } facts || !IsReady)
        {
            return new DeliveryResult.RetryLater("Mattermost not connected", CountsAsAttempt: false);
        }
        var channel = _byConfigured.GetValueOrDefault(request.Destination.ChannelId) ?? DirectChannel(request.Destination.ChannelId);
        if (channel is null)
        {
            return new DeliveryResult.Rejected($"channel '{request.Destination.ChannelId}' is not a linked Mattermost channel");
        }
        try
        {
            var poster = await DirectPosterAsync(request.Event.Sender, channel, cancellationToken) ?? await PosterAsync(request.Event.Sender, channel, cancellationToken);
            return request.Event.Kind switch
            {
                BridgeEventKind.Message => await PostMessageAsync(request, facts, channel, poster, cancellationToken),
                BridgeEventKind.Edit => await EditAsync(request, facts, poster, cancellationToken),
                BridgeEventKind.Delete => await DeleteAsync(request, poster, cancellationToken),
                BridgeEventKind.Reaction => await ReactAsync(request, poster, cancellationToken),
                BridgeEventKind.ReactionRemoved => await UnreactAsync(request, poster, cancellationToken),
                _ => new DeliveryResult.Skipped($"unsupported event kind {request.Event.Kind}"),
            };
        }
        catch (GuestsUnavailableException e)
        {
            // Never posted as a full member: the message waits for guests (and is dead-lettered with this reason if they never come).
            return new DeliveryResult.RetryLater(e.Message);
        }
        catch (MattermostApiException e) when (e.Status == HttpStatusCode.TooManyRequests)
        {
            // X-RateLimit-Reset / Retry-After longer than the client absorbs inline: the whole network waits that long.
            return new DeliveryResult.RetryLater("rate limited by Mattermost", e.RetryAfter ?? TimeSpan.FromSeconds(5), CountsAsAttempt: false, Fault: NetworkFault.RateLimited);
        }
        catch (MattermostApiException e) when (e.Status == HttpStatusCode.Unauthorized && !_relayMode)
        {
            // A puppet token revoked by an admin: mint a new one next time.
            await _puppets.InvalidateTokenAsync(request.Event.Sender, cancellationToken);
            return new DeliveryResult.RetryLater($"puppet token refused ({e.ErrorId})");
        }
        catch (MattermostApiException e) when (e.Status == HttpStatusCode.Forbidden && !_relayMode && request.Attempt < 2)
        {
            // Most likely an admin removed the puppet from the channel: join again on the next attempt.
            _puppets.ForgetMemberships();
            return new DeliveryResult.RetryLater($"forbidden ({e.ErrorId}); re-joining the puppet");
        }
        catch (Exception e) when (IsUnreachable(e) && !cancellationToken.IsCancellationRequested)
        {
            // A 5xx or no answer is the server's trouble, not the message's: it never counts toward dead-lettering.
            return e is MattermostApiException { IsTransient: true } server
                ? new DeliveryResult.RetryLater(server.Message, Fault: NetworkFault.ServerError)
                : new DeliveryResult.RetryLater($"Mattermost unreachable: {e.Message}", Fault: NetworkFault.Unreachable);
        }
        catch (MattermostApiException e)
        {
            _logger.LogWarning(MattermostLog.DeliveryFailed, "Mattermost rejected delivery of {Event} to {Channel}: {Error}", request.Event.NativeId, channel.ConfiguredId, e.Message);
            return new DeliveryResult.Rejected(e.Message);
        }
    }

    private async Task<Poster> PosterAsync(PersonRef sender, ResolvedChannel channel, CancellationToken ct)
    {
        if (!_relayMode)
        {
            try
            {
                var puppet = await _puppets.EnsureAsync(sender, channel.TeamId, channel.NativeId, AdminToken, ct);
                return new Poster(puppet.UserId, puppet.Token!, IsRelay: false);
            }
            catch (TokensForbiddenException e) when (_options.PuppetMode == PuppetMode.Auto)
            {
                await EnterRelayModeAsync(_facts!, e.Message, ct);
            }
        }
        var relay = _relay ?? throw new InvalidOperationException("relay identity missing");
        return new Poster(relay.UserId, relay.Token, IsRelay: true);
    }

    private async Task<DeliveryResult> PostMessageAsync(DeliveryRequest request, ServerFacts facts, ResolvedChannel channel, Poster poster, CancellationToken ct)
    {
        var ev = request.Event;
        // Matrix HTML and XMPP styling become Markdown here, from the text and HTML as the policy labelled them.
        var text = MentionNeutraliser.Neutralise(_formatter.Markdown(ev.Text, ev.Html, ev.TextFormat, string.IsNullOrEmpty(ev.Text) ? null : request.Label));
        text = await RenderMentionsAsync(text, ev.Mentions, ct);
        if (ev.MessageKind == MessageKind.Emote && text.Length > 0)
        {
            text = $"*{text}*";
        }
        var props = new JsonObject
        {
            [Tag("origin")] = ev.NetworkId,
            [Tag("event")] = ev.NativeId,
        };
        text = WithTranslation(text, request.Translation, props);
        if (request.Label is { Length: > 0 } label)
        {
            // The core's policy has already put the visible "[LABEL] " marker at the start of any non-empty text;
            // only a post without text (attachments alone) needs it here, or the channel would show it twice.
            if (string.IsNullOrEmpty(ev.Text))
            {
                text = $"[{label}]";
            }

            props["classification"] = label;
        }
        if (poster.IsRelay)
        {
            if (facts.UsernameOverride)
            {
                props["from_webhook"] = "true";
                props["override_username"] = ev.Sender.DisplayName;
                if (ev.Sender.AvatarUrl is { Length: > 0 } avatar)
                {
                    props["override_icon_url"] = avatar;
                }
            }
            else
            {
                text = $"**{ev.Sender.DisplayName}**: {text}";
            }
        }

        var fileIds = new List<string>();
        var senderNotices = new List<string?>();
        foreach (var attachment in ev.Attachments)
        {
            if (fileIds.Count == MaxFilesPerPost)
            {
                text = WithLine(text, $"[file \"{MentionNeutraliser.Neutralise(attachment.Name)}\" not delivered: a post holds at most {MaxFilesPerPost} files]");
                continue;
            }
            var (uploaded, failure) = await TryUploadAsync(attachment, channel, poster, ct);
            if (uploaded is null)
            {
                text = WithLine(text, MentionNeutraliser.Neutralise(AttachmentNotice.InMessage(attachment, failure, _options.MaxAttachmentBytes)));
                senderNotices.Add(AttachmentNotice.ToSender(attachment, NetworkId, failure, _options.MaxAttachmentBytes));
            }
            else
            {
                fileIds.Add(uploaded);
            }
        }

        // Mattermost has one reply form, the thread: a message in a thread goes under the copy of its root, and a reply
        // elsewhere (a Matrix rich reply, an XMPP XEP-0461 reply) under the root of the post it answers.
        var rootId = await RootIdAsync(request.ThreadRootNativeId ?? request.ReplyToNativeId, ct);
        var parts = MessageSplitter.Split(text, facts.MaxPostSize);
        string? firstId = null;
        for (var i = 0; i < parts.Count; i++)
        {
            var key = parts.Count == 1 ? request.IdempotencyKey : $"{request.IdempotencyKey}:{i}";
            var partProps = (JsonObject)props.DeepClone();
            partProps[Tag("key")] = key;
            if (parts.Count > 1)
            {
                partProps[Tag("part")] = $"{i + 1}/{parts.Count}";
            }
            var id = await FindEarlierPostAsync(request, channel.NativeId, key, ct)
                     ?? await CreatePostInThreadAsync(new JsonObject
                     {
                         ["channel_id"] = channel.NativeId,
                         ["message"] = parts[i],
                         ["root_id"] = rootId ?? "",
                         ["pending_post_id"] = key,
                         ["props"] = partProps,
                         ["file_ids"] = i == 0 ? new JsonArray([.. fileIds.Select(f => (JsonNode?)JsonValue.Create(f))]) : new JsonArray(),
                     }, key, poster, ct);
            firstId ??= id;
        }
        return new DeliveryResult.Delivered(firstId!, AttachmentNotice.Join(senderNotices));
    }

    /// <summary>
    /// A translated post: the translation, then the original as a quoted block (neutralised like any text), and the
    /// original with both languages in the post's props. An untranslated one only says so in its props.
    /// </summary>
    private string WithTranslation(string text, MessageTranslation? translation, JsonObject? props)
    {
        switch (translation)
        {
            case { Translated: true } t:
                var original = MentionNeutraliser.Neutralise(t.OriginalText);
                var quoted = string.Join("\n", original.Split('\n').Select(line => "> " + line));
                props?.Add(Tag("translation"), new JsonObject
                {
                    ["original"] = t.OriginalText,
                    ["source_language"] = t.SourceLanguage,
                    ["language"] = t.TargetLanguage,
                    ["engine"] = t.Engine,
                });
                return $"{text}\n\n*Original ({t.SourceLanguage}), translated to {t.TargetLanguage} by machine:*\n{quoted}";
            case { Translated: false } u:
                props?.Add(Tag("translation"), new JsonObject { ["untranslated"] = true, ["source_language"] = u.SourceLanguage });
                return text;
            default:
                return text;
        }
    }

    /// <summary>
    /// The post an earlier attempt may already have made for this key, looked for only where one can exist, so the
    /// server's 30-second <c>pending_post_id</c> memory (gone after its restart, or for an older post) is never what
    /// stands between a retry and a second post:
    /// a post this run tried without a clear answer (a lost answer, a timeout, a 5xx, none of which the core counts
    /// as an attempt) is looked up on its own; a row queued before this run started may have been posted by a run
    /// killed before the core recorded it, and is found in the channel's index read once for the whole backlog; a row
    /// queued by this run and never tried by it cannot have a post anywhere, so nothing is asked (a post-outage backlog
    /// goes out at full speed).
    /// </summary>
    private async Task<string?> FindEarlierPostAsync(DeliveryRequest request, string channelId, string key, CancellationToken ct)
    {
        if (_postsInDoubt.ContainsKey(key))
        {
            return await FindPostByKeyAsync(channelId, key, request.Event.Timestamp, ct);
        }

        if (request.QueuedAt is { } queuedAt)
        {
            return queuedAt < _startedAt
                ? await _earlierRunPosts.FindAsync(channelId, key, (queuedAt - ClockSkewAllowance).ToUnixTimeMilliseconds(), ct)
                : null;
        }

        // When the row was queued is not known: as before, after a failed attempt.
        return request.Attempt > 0 ? await FindPostByKeyAsync(channelId, key, request.Event.Timestamp, ct) : null;
    }

    /// <summary>Posts, keeping the key "in doubt" unless the server clearly answered (created, or refused with a 4xx).</summary>
    private async Task<string> CreatePostAsync(JsonObject body, string key, Poster poster, CancellationToken ct)
    {
        _postsInDoubt[key] = 0;
        try
        {
            var id = (await _api.CreatePostAsync(body, poster.Token, ct)).Id;
            _postsInDoubt.TryRemove(key, out _);
            return id;
        }
        catch (MattermostApiException e) when (!e.IsTransient)
        {
            _postsInDoubt.TryRemove(key, out _); // refused: nothing was posted
            throw;
        }
    }

    private async Task<string?> FindPostByKeyAsync(string channelId, string key, DateTimeOffset origin, CancellationToken ct)
    {
        var since = origin.AddMinutes(-10).ToUnixTimeMilliseconds();
        var list = await _api.GetPostsSinceAsync(channelId, Math.Max(0, since), AdminToken, ct);
        return list.Posts.Values.FirstOrDefault(p => p.Prop(Tag("key")) == key && p.DeleteAt == 0)?.Id;
    }

    /// <summary>Mattermost threads are flat: a reply to a reply goes to the thread's root.</summary>
    private async Task<string?> RootIdAsync(string? replyTo, CancellationToken ct)
    {
        if (string.IsNullOrEmpty(replyTo))
        {
            return null;
        }
        try
        {
            var parent = await _api.GetPostAsync(replyTo, AdminToken, ct);
            return parent.RootId.Length > 0 ? parent.RootId : parent.Id;
        }
        catch (MattermostApiException e) when (e.Status is HttpStatusCode.NotFound or HttpStatusCode.Forbidden or HttpStatusCode.BadRequest)
        {
            return null;
        }
    }

    private static string WithLine(string text, string line) => text.Length == 0 ? line : text + "\n" + line;

    /// <summary>
    /// Copies a file into this server as the poster, through the core's media path (the source network's connector
    /// fetches it with its own credentials); the file id, or why it cannot cross. Server errors of this server's upload
    /// are the delivery's to retry, so only the source's and the cap's failures are answered here.
    /// </summary>
    private async Task<(string? FileId, MediaFailure Failure)> TryUploadAsync(Attachment attachment, ResolvedChannel channel, Poster poster, CancellationToken ct)
    {
        MediaFile file;
        try
        {
            file = await _context.Media.ReadAsync(attachment, _options.MaxAttachmentBytes, ct);
        }
        catch (MediaUnavailableException e)
        {
            _logger.LogWarning(MattermostLog.AttachmentNotCopied, "Attachment {Name} not copied ({Failure}: {Error})", attachment.Name, e.Failure, e.Message);
            return (null, e.Failure);
        }
        await using (file)
        {
            try
            {
                var info = await _api.UploadFileAsync(channel.NativeId, attachment.Name, file.ContentType, file.OpenRead, poster.Token, ct);
                return (info.Id, MediaFailure.Unavailable);
            }
            catch (MattermostApiException e) when (e.Status == HttpStatusCode.RequestEntityTooLarge)
            {
                // The server's own FileSettings.MaxFileSize is below the configured cap.
                _logger.LogWarning(MattermostLog.AttachmentNotCopied, "Attachment {Name} refused by the server as too large ({Error})", attachment.Name, e.Message);
                return (null, MediaFailure.TooLarge);
            }
        }
    }

    private async Task<DeliveryResult> EditAsync(DeliveryRequest request, ServerFacts facts, Poster poster, CancellationToken ct)
    {
        if (request.TargetNativeId is not { } target)
        {
            return new DeliveryResult.Skipped("edit of a message never delivered here");
        }
        var text = MentionNeutraliser.Neutralise(_formatter.Markdown(request.Event.Text, request.Event.Html, request.Event.TextFormat, request.Label));
        text = await RenderMentionsAsync(text, request.Event.Mentions, ct);
        // A patch with props would replace all of them (classification included): an edit updates the message only.
        text = WithTranslation(text, request.Translation, props: null);
        if (poster.IsRelay && !facts.UsernameOverride)
        {
            text = $"**{request.Event.Sender.DisplayName}**: {text}";
        }
        // An edit replaces the first part only; a longer edit is cut at the limit rather than re-threaded, and the sender is told.
        var parts = MessageSplitter.Split(text, facts.MaxPostSize);
        var first = parts[0];
        MmPost patched;
        try
        {
            patched = await _api.PatchPostAsync(target, new JsonObject { ["message"] = first }, poster.Token, ct);
        }
        catch (MattermostApiException e) when (e.Status == HttpStatusCode.Forbidden)
        {
            // Posted under another identity (e.g. before a switch to relay mode): the admin may edit others' posts.
            patched = await _api.PatchPostAsync(target, new JsonObject { ["message"] = first }, AdminToken, ct);
        }
        return parts.Count == 1
            ? DeliveryResult.Ok($"{patched.Id}:{patched.EditAt}")
            : new DeliveryResult.Delivered($"{patched.Id}:{patched.EditAt}",
                $"Your edit was too long for network '{_network.Id}': only its first {facts.MaxPostSize} characters were delivered there.");
    }

    private async Task<DeliveryResult> DeleteAsync(DeliveryRequest request, Poster poster, CancellationToken ct)
    {
        if (request.TargetNativeId is not { } target)
        {
            return new DeliveryResult.Skipped("delete of a message never delivered here");
        }
        try
        {
            await _api.DeletePostAsync(target, poster.Token, ct);
        }
        catch (MattermostApiException e) when (e.Status == HttpStatusCode.NotFound)
        {
            // already gone
        }
        catch (MattermostApiException e) when (e.Status == HttpStatusCode.Forbidden)
        {
            await _api.DeletePostAsync(target, AdminToken, ct);
        }
        return DeliveryResult.Ok($"{target}:deleted");
    }

    /// <summary>
    /// What a reaction or its removal needs here: the post it names, a puppet with a token of its own (the server only
    /// lets the reacting user add or remove a reaction), and a Mattermost emoji name. Null with the reason when missing.
    /// </summary>
    private static DeliveryResult.Skipped? ReactionTarget(DeliveryRequest request, Poster poster, out string target, out string name)
    {
        (target, name) = ("", "");
        if (request.TargetNativeId is not { } post)
        {
            return new DeliveryResult.Skipped(request.Event.Kind == BridgeEventKind.ReactionRemoved
                ? "reaction removal on a message never delivered here" : "reaction to a message never delivered here");
        }
        if (poster.IsRelay)
        {
            return new DeliveryResult.Skipped("relay mode: Mattermost reactions need a per-person token");
        }
        if (EmojiMap.ToShortcode(request.Event.ReactionKey ?? "") is not { } shortcode)
        {
            return new DeliveryResult.Skipped($"no Mattermost emoji for '{request.Event.ReactionKey}'");
        }
        (target, name) = (post, shortcode);
        return null;
    }

    private async Task<DeliveryResult> ReactAsync(DeliveryRequest request, Poster poster, CancellationToken ct)
    {
        if (ReactionTarget(request, poster, out var target, out var name) is { } skipped)
        {
            return skipped;
        }
        await _api.SaveReactionAsync(poster.UserId, target, name, poster.Token, ct);
        var nativeId = ReactionNativeId(target, poster.UserId, name);
        var owner = new ReactionOwner(_network.Id, target, poster.UserId);
        var set = await _context.Reactions.GetReactionsAsync(owner, ct);
        await _context.Reactions.PutReactionsAsync(owner, set.With(name, nativeId, request.Event.Timestamp), ct);
        return DeliveryResult.Ok(nativeId);
    }

    /// <summary>Takes back the puppet's reaction (DELETE as the puppet: only the reacting user may remove their own).</summary>
    private async Task<DeliveryResult> UnreactAsync(DeliveryRequest request, Poster poster, CancellationToken ct)
    {
        if (ReactionTarget(request, poster, out var target, out var name) is { } skipped)
        {
            return skipped;
        }
        var owner = new ReactionOwner(_network.Id, target, poster.UserId);
        var set = await _context.Reactions.GetReactionsAsync(owner, ct);
        if (!set.Contains(name))
        {
            return new DeliveryResult.Skipped("reaction-not-delivered: the puppet shows no such reaction here");
        }
        await _api.DeleteReactionAsync(poster.UserId, target, name, poster.Token, ct);
        await _context.Reactions.PutReactionsAsync(owner, set.Without(name, request.Event.Timestamp), ct);
        return DeliveryResult.Ok($"{ReactionNativeId(target, poster.UserId, name)}:removed:{request.OutboxId.ToString(System.Globalization.CultureInfo.InvariantCulture)}");
    }

    public async Task NotifySenderAsync(ChannelRef channel, PersonRef person, string notice, CancellationToken cancellationToken)
    {
        if (!_byConfigured.TryGetValue(channel.ChannelId, out var resolved))
        {
            return;
        }
        try
        {
            await _api.CreateEphemeralPostAsync(person.UserId, resolved.NativeId, notice, AdminToken, cancellationToken);
        }
        catch (Exception e) when (e is MattermostApiException or HttpRequestException)
        {
            _logger.LogWarning(MattermostLog.DeliveryFailed, "Could not notify {Person} on Mattermost: {Error}", person.Key, e.Message);
        }
    }
}
