using System.Net;
using Bridge.Core.Connectors;
using Bridge.Core.Media;
using Bridge.Core.Model;
using Bridge.Core.Reactions;
using Bridge.Matrix.Client;
using Bridge.Matrix.Formatting;
using Bridge.Matrix.Puppets;
using Microsoft.Extensions.Logging;

namespace Bridge.Matrix.Connector;

/// <summary>Bridge → homeserver: puppets (registered, named, joined) and sends with idempotent transaction ids.</summary>
public sealed partial class MatrixConnector
{
    public async Task<DeliveryResult> DeliverAsync(DeliveryRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (!_ready)
        {
            return new DeliveryResult.RetryLater("homeserver not connected", null, CountsAsAttempt: false);
        }

        var e = request.Event;
        if (e.NetworkId == NetworkId && IsOwnUser(e.Sender.UserId))
        {
            return new DeliveryResult.Skipped("the bridge's own puppet");
        }

        if (IsClosedDirectRoom(request.Destination.ChannelId))
        {
            return new DeliveryResult.Rejected("the direct room has someone in it besides the two people");
        }

        try
        {
            var roomId = await _rooms.ResolveAsync(request.Destination.ChannelId, Client, cancellationToken);
            var puppet = await EnsurePuppetAsync(e.Sender, cancellationToken);
            await EnsureJoinedAsync(roomId, puppet, cancellationToken);
            if (await ThirdMemberOfDirectRoomAsync(roomId, puppet, cancellationToken) is { } third)
            {
                return new DeliveryResult.Rejected($"the direct room has someone in it besides the two people ({third})");
            }

            var txnId = request.IdempotencyKey;
            switch (e.Kind)
            {
                case BridgeEventKind.Message:
                    var (sent, senderNotice) = await SendMessageAsync(request, roomId, puppet, cancellationToken);
                    return new DeliveryResult.Delivered(sent, senderNotice);
                case BridgeEventKind.Edit when request.TargetNativeId is { } edited:
                    var edit = OutboundContent.Edit(request, edited, _options.LabelField, _formatter);
                    await ApplyMentionsAsync(edit, e.Mentions, cancellationToken);
                    if (EventSize.CanonicalBytes(edit) > EventSize.ContentBudget)
                    {
                        // An edit replaces one event: it cannot be cut into several.
                        return TooLarge(request, $"the edit is {EventSize.CanonicalBytes(edit)} bytes; Matrix events are limited to {EventSize.MaxEventBytes} and an edit cannot be split");
                    }

                    return DeliveryResult.Ok(await Client.SendEventAsync(roomId, "m.room.message", txnId, edit, puppet, e.Timestamp, cancellationToken));
                case BridgeEventKind.Reaction when request.TargetNativeId is { } reacted && e.ReactionKey is { } key:
                    return await ReactAsync(roomId, reacted, key, puppet, request, cancellationToken);
                case BridgeEventKind.ReactionRemoved when request.TargetNativeId is { } reacted && e.ReactionKey is { } key:
                    return await UnreactAsync(roomId, reacted, key, puppet, request, cancellationToken);
                case BridgeEventKind.Delete when request.TargetNativeId is { } deleted:
                    return DeliveryResult.Ok(await Client.RedactAsync(roomId, deleted, txnId, null, puppet, cancellationToken));
                default:
                    return new DeliveryResult.Skipped($"{e.Kind} without a known target on {NetworkId}");
            }
        }
        catch (MatrixApiException ex) when (ex.IsRateLimited)
        {
            // Only this channel waits: the delivery worker parks it and carries on with the others.
            var after = ex.RetryAfter is { } r && r > TimeSpan.Zero ? r : TimeSpan.FromSeconds(1);
            _logger.LogInformation(MatrixLog.RateLimited, "Rate limited by the homeserver for {Room}; retrying in {After}", request.Destination.ChannelId, after);
            return new DeliveryResult.RetryLater("rate limited (M_LIMIT_EXCEEDED)", after, CountsAsAttempt: false, Fault: NetworkFault.RateLimited);
        }
        catch (MatrixApiException ex) when (ex.Status == HttpStatusCode.RequestEntityTooLarge || ex.ErrCode == "M_TOO_LARGE")
        {
            return TooLarge(request, $"the homeserver refused it as too large ({(int)ex.Status} {ex.ErrCode}: {ex.Message})");
        }
        catch (MessageTooLargeException ex)
        {
            return TooLarge(request, ex.Message);
        }
        catch (MatrixApiException ex) when (ex.IsTransient)
        {
            // The homeserver's trouble, not the message's: waits without counting toward dead-lettering.
            return new DeliveryResult.RetryLater(ex.Message, ex.RetryAfter, Fault: NetworkFault.ServerError);
        }
        catch (MatrixApiException ex) when (ex.Status == HttpStatusCode.Forbidden)
        {
            // Most often a membership or power-level problem that an operator can fix (invite the bot); retried, then dead-lettered.
            return new DeliveryResult.RetryLater(ex.Message);
        }
        catch (MatrixApiException ex) when (ex.Status == HttpStatusCode.NotFound && request.Destination.ChannelId.StartsWith('#'))
        {
            return new DeliveryResult.RetryLater($"alias {request.Destination.ChannelId} not found: {ex.Message}");
        }
        catch (MatrixApiException ex)
        {
            _logger.LogWarning(MatrixLog.DeliveryFailed, "Homeserver rejected outbox {Id}: {Error}", request.OutboxId, ex.Message);
            return new DeliveryResult.Rejected(ex.Message);
        }
        catch (HttpRequestException ex)
        {
            EnsureConnecting();
            return new DeliveryResult.RetryLater("homeserver unreachable: " + ex.Message, null, CountsAsAttempt: false, Fault: NetworkFault.Unreachable);
        }
        catch (TaskCanceledException ex) when (!cancellationToken.IsCancellationRequested)
        {
            return new DeliveryResult.RetryLater("homeserver timed out: " + ex.Message);
        }
    }

    /// <summary>One annotation per (puppet, message, key): a key the puppet already shows is not sent again (Synapse refuses it).</summary>
    private async Task<DeliveryResult> ReactAsync(string roomId, string reacted, string key, string puppet, DeliveryRequest request, CancellationToken ct)
    {
        var owner = new ReactionOwner(NetworkId, reacted, puppet);
        var set = await _context.Reactions.GetReactionsAsync(owner, ct);
        if (set.Contains(key))
        {
            return new DeliveryResult.Skipped("reaction-duplicate: the puppet already shows this reaction");
        }

        string eventId;
        try
        {
            eventId = await Client.SendEventAsync(roomId, "m.reaction", request.IdempotencyKey, OutboundContent.Reaction(reacted, key), puppet, request.Event.Timestamp, ct);
        }
        catch (MatrixApiException ex) when (ex.ErrCode == "M_DUPLICATE_ANNOTATION")
        {
            return new DeliveryResult.Skipped("reaction-duplicate: the homeserver already has this reaction from the puppet");
        }

        await _context.Reactions.PutReactionsAsync(owner, set.With(key, eventId, request.Event.Timestamp), ct);
        return DeliveryResult.Ok(eventId);
    }

    /// <summary>A removal is the redaction of the puppet's own reaction event.</summary>
    private async Task<DeliveryResult> UnreactAsync(string roomId, string reacted, string key, string puppet, DeliveryRequest request, CancellationToken ct)
    {
        var owner = new ReactionOwner(NetworkId, reacted, puppet);
        var set = await _context.Reactions.GetReactionsAsync(owner, ct);
        if (!set.Keys.TryGetValue(key, out var reactionEvent) || reactionEvent.Length == 0)
        {
            return new DeliveryResult.Skipped("reaction-not-delivered: the puppet shows no such reaction here");
        }

        var redaction = await Client.RedactAsync(roomId, reactionEvent, request.IdempotencyKey, null, puppet, ct);
        await _context.Reactions.PutReactionsAsync(owner, set.Without(key, request.Event.Timestamp), ct);
        return DeliveryResult.Ok(redaction);
    }

    /// <summary>
    /// Sends the text (with a short notice for each attachment that could not cross), then each uploaded attachment as
    /// its own media event; a message of one file and a short text is one media event with the text as its caption
    /// (spec v1.10). Every send has a transaction id derived from the outbox id, so a retry after a partial failure
    /// re-sends nothing that already arrived. Returns the first event's id, and what the sender should be told.
    /// </summary>
    private async Task<(string EventId, string? SenderNotice)> SendMessageAsync(DeliveryRequest request, string roomId, string puppet, CancellationToken ct)
    {
        var e = request.Event;
        var uploaded = new List<(Attachment Attachment, string Mxc, long Size, string ContentType)>();
        var notices = new List<string>();
        var senderNotices = new List<string?>();
        foreach (var attachment in e.Attachments)
        {
            try
            {
                uploaded.Add(await UploadAsync(attachment, puppet, ct));
            }
            catch (MediaUnavailableException ex)
            {
                _logger.LogInformation(MatrixLog.AttachmentNotCopied, "Attachment {Name} not copied ({Failure}: {Error})", attachment.Name, ex.Failure, ex.Message);
                notices.Add(AttachmentNotice.InMessage(attachment, ex.Failure, _options.MaxAttachmentBytes));
                senderNotices.Add(AttachmentNotice.ToSender(attachment, NetworkId, ex.Failure, _options.MaxAttachmentBytes));
            }
        }
        var senderNotice = AttachmentNotice.Join(senderNotices);

        var root = request.ThreadRootNativeId;
        var content = OutboundContent.Message(request, _options.LabelField, notices, _formatter, root is null ? null : _threadTails.TailOf(root));
        await ApplyMentionsAsync(content, e.Mentions, ct);
        if (uploaded.Count == 1 && notices.Count == 0 && e.Text.Length > 0 && request.Translation is null
            && OutboundContent.Captioned(content, uploaded[0].Attachment, uploaded[0].Mxc, uploaded[0].Size, uploaded[0].ContentType, request.Label, _options.LabelField) is { } captioned
            && EventSize.CanonicalBytes(captioned) <= EventSize.MaxEventBytes)
        {
            var captionedId = await Client.SendEventAsync(roomId, "m.room.message", request.IdempotencyKey, captioned, puppet, e.Timestamp, ct);
            if (root is not null)
            {
                _threadTails.Advance(root, captionedId);
            }

            return (captionedId, senderNotice);
        }

        string? first = null;
        if (e.Text.Length > 0 || notices.Count > 0 || uploaded.Count == 0)
        {
            var parts = EventSize.SplitMessage(content, request.Label)
                ?? throw new MessageTooLargeException($"the message is {EventSize.CanonicalBytes(content)} bytes and cannot be cut into events of at most {EventSize.MaxEventBytes}");
            for (var i = 0; i < parts.Count; i++)
            {
                // Each part has its own transaction id, so a retry after a partial failure sends only what is missing.
                var txnId = i == 0 ? request.IdempotencyKey : $"{request.IdempotencyKey}-p{i}";
                var id = await SendInThreadAsync(roomId, txnId, parts[i], puppet, e.Timestamp, request.OutboxId, ct);
                first ??= id;
                if (root is not null)
                {
                    _threadTails.Advance(root, id);
                }
            }

            if (parts.Count > 1)
            {
                _logger.LogInformation(MatrixLog.TooLarge, "Outbox {Id} sent as {Parts} events: too large for one Matrix event", request.OutboxId, parts.Count);
            }
        }

        for (var i = 0; i < uploaded.Count; i++)
        {
            var (attachment, mxc, size, type) = uploaded[i];
            var id = await Client.SendEventAsync(roomId, "m.room.message", $"{request.IdempotencyKey}-a{i}",
                OutboundContent.Media(attachment, mxc, size, type, request.Label, _options.LabelField), puppet, e.Timestamp, ct);
            first ??= id;
        }

        return (first!, senderNotice);
    }

    /// <summary>Dead-letters with the reason, and asks the core to tell the sender (the only person who can do something about it).</summary>
    private DeliveryResult TooLarge(DeliveryRequest request, string reason)
    {
        _logger.LogWarning(MatrixLog.TooLarge, "Outbox {Id} not delivered to {Room}: {Reason}", request.OutboxId, request.Destination.ChannelId, reason);
        var what = request.Event.Kind == BridgeEventKind.Edit ? "edit" : "message";
        return new DeliveryResult.Rejected("too large for Matrix: " + reason,
            $"Your {what} was too large for network '{NetworkId}' and was not delivered there.");
    }

    /// <summary>A message that no split can bring under the event size limit.</summary>
    private sealed class MessageTooLargeException(string message) : Exception(message);

    /// <summary>
    /// Copies an attachment into the homeserver's media repository as the puppet, through the core's media path (the
    /// source network's connector fetches it with its own credentials, at most <c>maxAttachmentBytes</c>).
    /// </summary>
    private async Task<(Attachment Attachment, string Mxc, long Size, string ContentType)> UploadAsync(Attachment attachment, string puppet, CancellationToken ct)
    {
        await using var file = await _context.Media.ReadAsync(attachment, _options.MaxAttachmentBytes, ct);
        string mxc;
        try
        {
            await using var stream = file.OpenRead();
            mxc = await Client.UploadAsync(new StreamContent(stream), file.ContentType, attachment.Name, puppet, ct);
        }
        catch (MatrixApiException ex) when (ex.Status == System.Net.HttpStatusCode.RequestEntityTooLarge || ex.ErrCode == "M_TOO_LARGE")
        {
            // The homeserver's own max_upload_size is below the configured cap.
            throw new MediaUnavailableException(MediaFailure.TooLarge, ex.Message, ex);
        }
        return (attachment, mxc, file.Length, file.ContentType);
    }

    /// <summary>Registers the person's puppet once (durably remembered) and keeps its display name in sync.</summary>
    private async Task<string> EnsurePuppetAsync(PersonRef person, CancellationToken ct)
    {
        var localpart = await PuppetLocalpartAsync(person, ct);
        var userId = "@" + localpart + ":" + _options.ServerName;
        var wanted = string.IsNullOrWhiteSpace(person.DisplayName) ? PuppetSuffix.ReadableBase(person) is { Length: > 0 } b ? b : localpart : person.DisplayName;
        if (!_puppetNames.TryGetValue(localpart, out var current))
        {
            current = await _context.State.GetAsync(PuppetScope, localpart, ct);
            if (current is null)
            {
                await Client.RegisterAppserviceUserAsync(localpart, ct);
                current = "";
                await _context.State.SetAsync(PuppetScope, localpart, current, ct);
            }

            _puppetNames[localpart] = current;
        }

        if (current != wanted)
        {
            await Client.SetDisplayNameAsync(userId, wanted, ct);
            await _context.State.SetAsync(PuppetScope, localpart, wanted, ct);
            _puppetNames[localpart] = wanted;
        }

        await SyncAvatarAsync(person, localpart, userId, ct);
        await RememberPuppetPersonAsync(userId, person, ct);
        return userId;
    }

    /// <summary>
    /// The puppet's localpart, looked up by person key and never recomputed once given: a person keeps the id they got
    /// at first sight whatever they are called later. A person a previous version already made a puppet for (its
    /// display name is stored under the legacy localpart) keeps that puppet.
    /// </summary>
    private async Task<string> PuppetLocalpartAsync(PersonRef person, CancellationToken ct)
    {
        var key = PersonKeyPrefix + person.Key;
        if (_puppetIds.TryGetValue(person.Key, out var known))
        {
            return known;
        }

        var localpart = await _context.State.GetAsync(PuppetScope, key, ct);
        if (localpart is null)
        {
            var legacy = PuppetNaming.LegacyLocalpart(_options.PuppetPrefix, person.NetworkId, person.UserId);
            localpart = await _context.State.GetAsync(PuppetScope, legacy, ct) is not null
                ? legacy
                : PuppetNaming.Localpart(_options.PuppetPrefix, person);
            await _context.State.SetAsync(PuppetScope, key, localpart, ct);
        }

        _puppetIds[person.Key] = localpart;
        return localpart;
    }

    /// <summary>Joins the puppet to the room; where the room needs an invite, the bridge bot sends it first.</summary>
    private async Task EnsureJoinedAsync(string roomId, string userId, CancellationToken ct)
    {
        if (_joined.ContainsKey((roomId, userId)))
        {
            return;
        }

        try
        {
            await Client.JoinAsync(roomId, userId, ct);
        }
        catch (MatrixApiException ex) when (ex.Status == HttpStatusCode.Forbidden)
        {
            if (!_joined.ContainsKey((roomId, BotUserId)))
            {
                await Client.JoinAsync(roomId, null, ct);
                _joined[(roomId, BotUserId)] = 0;
            }

            try
            {
                await Client.InviteAsync(roomId, userId, null, ct);
            }
            catch (MatrixApiException invite) when (invite.Status == HttpStatusCode.Forbidden && invite.Message.Contains("already", StringComparison.OrdinalIgnoreCase))
            {
                // Invited or joined meanwhile.
            }

            await Client.JoinAsync(roomId, userId, ct);
        }

        _joined[(roomId, userId)] = 0;
    }
}
