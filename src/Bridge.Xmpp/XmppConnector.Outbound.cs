using System.Text;
using System.Xml;
using System.Xml.Linq;
using Bridge.Core.Connectors;
using Bridge.Core.Media;
using Bridge.Core.Model;
using Bridge.Xmpp.Muc;
using Bridge.Xmpp.Protocol;
using Bridge.Xmpp.Stream;
using Microsoft.Extensions.Logging;

namespace Bridge.Xmpp;

internal sealed partial class XmppConnector
{
    private const int MaxNickLength = 48;

    /// <summary>The puppet JID of a person: XEP-0106-escaped person key under the component domain.</summary>
    internal Jid PuppetJid(PersonRef person) => new(JidEscaping.PuppetLocalPart(person.Key), _botJid.Domain, null);

    internal static string NickFor(PersonRef person)
    {
        var name = CleanText(person.DisplayName).Trim();
        if (name.Length == 0)
        {
            // The person's handle, never their user id: that may be a hidden id, or a JID their room does not show.
            name = CleanText(person.Handle ?? "").Trim();
        }

        name = string.Concat(name.Where(c => !char.IsControl(c) && c != '\u00a0'));
        if (name.Length > MaxNickLength)
        {
            name = name[..MaxNickLength].TrimEnd();
        }

        return name.Length == 0 ? "someone" : name;
    }

    /// <summary>
    /// The nick a person's puppet asks for in <paramref name="room"/>: their name, or, when it reads like the nick of a
    /// real person of the room (same <see cref="NickSkeleton"/>), their name marked with their network, so nobody
    /// can pass for someone else there.
    /// </summary>
    internal string PuppetNickFor(RoomState room, PersonRef person)
    {
        var nick = NickFor(person);
        lock (_gate)
        {
            if (!room.RealNickSkeletons.Contains(NickSkeleton.Of(nick)))
            {
                return nick;
            }
        }

        var marker = " (" + CleanText(person.NetworkId) + ")";
        var head = nick.Length + marker.Length > MaxNickLength ? nick[..Math.Max(1, MaxNickLength - marker.Length)].TrimEnd() : nick;
        return head + marker;
    }

    public async Task<DeliveryResult> DeliverAsync(DeliveryRequest request, CancellationToken cancellationToken)
    {
        var prepared = await PrepareSendAsync(request, cancellationToken);
        return prepared.Send is { } send ? (await SendPreparedAsync([send], cancellationToken))[0] : prepared.Answer!;
    }

    /// <summary>
    /// How many messages of one sender may be on their way into one room at once (<c>sendWindow</c>); one into a direct
    /// chat (sent one by one) or a room that lately refused or lost a message.
    /// </summary>
    public int MaxRunInto(string channelId) =>
        _roomsByChannel.TryGetValue(channelId, out var room) && room.SendsOneAtATimeUntil <= _context.Time.GetUtcNow() ? _options.SendWindow : 1;

    /// <summary>
    /// Sends a run of one sender's messages into one room without waiting for each reflection: the room takes the
    /// component stream's stanzas in order, and refuses a puppet's message only for the puppet's state there, which the
    /// rest of the run shares. After a room refused or did not reflect a message it gets one at a time again for a while.
    /// </summary>
    public async Task<IReadOnlyList<DeliveryResult>> DeliverRunAsync(IReadOnlyList<DeliveryRequest> run, CancellationToken cancellationToken)
    {
        var sends = new List<PreparedSend>(run.Count);
        foreach (var request in run)
        {
            var prepared = await PrepareSendAsync(request, cancellationToken);
            if (prepared.Send is not { } send)
            {
                if (sends.Count == 0)
                {
                    return [prepared.Answer!];
                }

                break; // answered on its own when the core hands it over again
            }

            if (sends.Count > 0 && (send.Occupancy != sends[0].Occupancy || send.Stream != sends[0].Stream))
            {
                break;
            }

            sends.Add(send);
            if (send.Room.SendsOneAtATimeUntil > _context.Time.GetUtcNow())
            {
                break;
            }
        }

        return await SendPreparedAsync(sends, cancellationToken);
    }

    /// <summary>A message ready to leave: its stanza checked and serialised, its puppet in the room.</summary>
    private sealed record PreparedSend(ComponentStream Stream, DeliveryRequest Request, RoomState Room, Occupancy Occupancy, string MessageId, string Text,
        Bridge.Core.Reactions.ReactionOwner? ReactionOwner, Bridge.Core.Reactions.ReactionSet? ReactionSet, IReadOnlyList<string?> SenderNotices);

    /// <summary>Either a message ready to send, or the answer for a request that is not sent (now or at all).</summary>
    private readonly record struct Prepared(PreparedSend? Send, DeliveryResult? Answer)
    {
        public static implicit operator Prepared(DeliveryResult answer) => new(null, answer);
    }

    /// <summary>
    /// Everything before a room message leaves: the room ready, a send cut short by an earlier run looked for, the puppet
    /// joined with its name and picture, files uploaded, the stanza built, checked and serialised (once: the text is what
    /// is written).
    /// </summary>
    private async Task<Prepared> PrepareSendAsync(DeliveryRequest request, CancellationToken cancellationToken)
    {
        var stream = _stream;
        if (!_ready || stream is null)
        {
            return new DeliveryResult.RetryLater("XMPP component not connected or rooms not joined yet", TimeSpan.FromSeconds(1), CountsAsAttempt: false);
        }

        if (!_roomsByChannel.TryGetValue(request.Destination.ChannelId, out var room) && IsDirectChannel(request.Destination.ChannelId))
        {
            return await DeliverDirectAsync(request, stream, cancellationToken);
        }

        if (room is null)
        {
            return new DeliveryResult.Rejected($"'{request.Destination.ChannelId}' is not a room of XMPP network {_network.Id}");
        }

        if (room.CatchingUp)
        {
            // Only this room waits for its catch-up (which learns what of ours is already in it); the others go on.
            return new DeliveryResult.RetryLater($"{room.Key} is still catching up", TimeSpan.FromMilliseconds(100), CountsAsAttempt: false);
        }

        var ev = request.Event;
        if (ev.NetworkId == _network.Id)
        {
            return new DeliveryResult.Skipped("the sender is on this network; no puppet is made for them");
        }

        var messageId = request.IdempotencyKey;
        if (!_sentStanzaIds.TryGet(messageId, out _) && room.ArchiveAvailable != false)
        {
            try
            {
                if (!await LookForSendFromBeforeAsync(room, messageId, cancellationToken))
                {
                    return new DeliveryResult.RetryLater($"could not tell whether {room.Key} already has it", TimeSpan.FromSeconds(2));
                }
            }
            catch (XmppStreamClosedException ex)
            {
                return new DeliveryResult.RetryLater("connection lost: " + ex.Message, TimeSpan.FromSeconds(1), CountsAsAttempt: false);
            }
        }

        if (_sentStanzaIds.TryGet(messageId, out var alreadySent))
        {
            // Seen in the room (live or in the archive after a restart) although the attempt was not recorded as done.
            return DeliveryResult.Ok(alreadySent);
        }

        var puppet = PuppetJid(ev.Sender);
        RememberPuppetPerson(puppet, ev.Sender);
        await RememberDirectPuppetAsync(puppet, ev.Sender, cancellationToken);
        var occupancy = GetOccupancy(puppet, room, PuppetNickFor(room, ev.Sender), isBot: false);
        try
        {
            await EnsureJoinedAsync(occupancy, cancellationToken);
            await FollowDisplayNameAsync(occupancy, cancellationToken);
            await FollowAvatarAsync(occupancy, ev.Sender, cancellationToken);
        }
        catch (JoinFailedException ex) when (ex.Permanent)
        {
            return new DeliveryResult.Rejected(ex.Message);
        }
        catch (JoinFailedException ex)
        {
            return new DeliveryResult.RetryLater(ex.Message, TimeSpan.FromSeconds(2));
        }
        catch (XmppStreamClosedException ex)
        {
            return new DeliveryResult.RetryLater("connection lost: " + ex.Message, TimeSpan.FromSeconds(1), CountsAsAttempt: false);
        }

        if (ev.Kind == BridgeEventKind.Edit && request.TargetNativeId is { } editTarget && !room.NativeToMessageId.Contains(editTarget))
        {
            // Our message from before a restart: its message id was saved when it was delivered.
            try
            {
                if (await _context.State.GetAsync(_stateScope, SentIdKey(room, editTarget), cancellationToken) is { } savedId)
                {
                    room.NativeToMessageId.Set(editTarget, savedId);
                }
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                _logger.LogWarning(XmppLog.StateFailed, ex, "Could not look up the message id of {NativeId} in {Room}", editTarget, room.Key);
            }
        }

        // XEP-0444 has no "remove one": every reactions stanza is the puppet's whole set on that message.
        Bridge.Core.Reactions.ReactionOwner? reactionOwner = null;
        Bridge.Core.Reactions.ReactionSet? reactionSet = null;
        if (ev.Kind is BridgeEventKind.Reaction or BridgeEventKind.ReactionRemoved && request.TargetNativeId is { } reacted && !string.IsNullOrEmpty(ev.ReactionKey))
        {
            var key = CleanText(ev.ReactionKey);
            reactionOwner = new Bridge.Core.Reactions.ReactionOwner(_network.Id, reacted, ev.Sender.Key);
            var known = await _context.Reactions.GetReactionsAsync(reactionOwner, cancellationToken);
            if (ev.Kind == BridgeEventKind.Reaction ? known.Contains(key) : !known.Contains(key))
            {
                return new DeliveryResult.Skipped(ev.Kind == BridgeEventKind.Reaction
                    ? "reaction-duplicate: the puppet already shows this reaction"
                    : "reaction-not-delivered: the puppet shows no such reaction here");
            }

            reactionSet = ev.Kind == BridgeEventKind.Reaction ? known.With(key, "", ev.Timestamp) : known.Without(key, ev.Timestamp);
        }

        var files = new List<Uri>();
        var fileNotices = new List<string>();
        var senderNotices = new List<string?>();
        if (ev.Kind == BridgeEventKind.Message)
        {
            foreach (var attachment in ev.Attachments)
            {
                try
                {
                    files.Add((await UploadAsync(attachment, puppet, cancellationToken)).Get);
                }
                catch (MediaUnavailableException ex)
                {
                    _logger.LogInformation(XmppLog.AttachmentNotCopied, "Attachment {Name} not copied to {Room} ({Failure}: {Error})", attachment.Name, room.Key, ex.Failure, ex.Message);
                    var cap = _options.MaxAttachmentBytes;
                    if (ex.Failure == MediaFailure.TooLarge && _uploadService is { IsCompletedSuccessfully: true } known && known.Result?.MaxFileSize is { } serviceMax)
                    {
                        cap = Math.Min(cap, serviceMax);
                    }
                    fileNotices.Add(AttachmentNotice.InMessage(attachment, ex.Failure, cap));
                    senderNotices.Add(AttachmentNotice.ToSender(attachment, _network.Id, ex.Failure, cap));
                }
                catch (XmppStreamClosedException ex)
                {
                    return new DeliveryResult.RetryLater("connection lost: " + ex.Message, TimeSpan.FromSeconds(1), CountsAsAttempt: false);
                }
            }
        }

        var stanza = BuildMessage(request, room, puppet, messageId, reactionSet, files, fileNotices, out var skipReason);
        if (stanza is null)
        {
            return new DeliveryResult.Skipped(skipReason!);
        }

        // Prosody closes a component's stream on a stanza over component_stanza_size_limit (512 KiB by default) and
        // ejabberd's stock listeners take 256 KiB: a bigger stanza would cut every room off, again at each retry. No
        // other network hands over a text this large (Matrix events are at most 64 KiB, Mattermost posts 16,383
        // characters), so it is refused with the sender told rather than split; only text that XML escaping inflates
        // ('&' becomes "&amp;") or an XMPP-to-XMPP message near the client limit reaches it.
        string text;
        try
        {
            text = ComponentStream.Serialize(stanza, _botJid.Domain, int.MaxValue);
        }
        catch (StanzaRejectedException ex)
        {
            _logger.LogWarning(XmppLog.StanzaRejected, "Outbox {OutboxId} not sent to {Room}: {Reason}", request.OutboxId, room.Key, ex.Message);
            return new DeliveryResult.Rejected(ex.Message);
        }

        var stanzaBytes = Encoding.UTF8.GetByteCount(text);
        if (stanzaBytes > _options.MaxStanzaBytes)
        {
            _logger.LogWarning(XmppLog.StanzaRejected, "Outbox {OutboxId} not sent to {Room}: {Bytes} bytes is over the {Max}-byte stanza limit",
                request.OutboxId, room.Key, stanzaBytes, _options.MaxStanzaBytes);
            var what = ev.Kind == BridgeEventKind.Edit ? "edit" : "message";
            return new DeliveryResult.Rejected($"too large for XMPP: the stanza is {stanzaBytes} bytes, over the {_options.MaxStanzaBytes}-byte limit (xmpp maxStanzaBytes)",
                $"Your {what} was too large for network '{_network.Id}' and was not delivered there.");
        }

        return new Prepared(new PreparedSend(stream, request, room, occupancy, messageId, text, reactionOwner, reactionSet, senderNotices), null);
    }

    /// <summary>
    /// Marks the sends (one store write for all), writes them in order and waits for each reflection: the room's
    /// stanza-id is the native id. One result per send for the sends, or a prefix of them when the stream failed part way.
    /// </summary>
    private async Task<IReadOnlyList<DeliveryResult>> SendPreparedAsync(IReadOnlyList<PreparedSend> sends, CancellationToken cancellationToken)
    {
        if (!await MarkSendsAsync(sends.Select(s => s.MessageId).ToList(), cancellationToken))
        {
            return [new DeliveryResult.RetryLater("the send could not be marked in the store", TimeSpan.FromSeconds(2))];
        }

        var stream = sends[0].Stream;
        var reflections = new TaskCompletionSource<XElement>[sends.Count];
        for (var i = 0; i < sends.Count; i++)
        {
            reflections[i] = new TaskCompletionSource<XElement>(TaskCreationOptions.RunContinuationsAsynchronously);
            _pendingSends[sends[i].MessageId] = reflections[i];
        }

        var results = new List<DeliveryResult>(sends.Count);
        var sentAt = _context.Time.GetUtcNow();
        var waiting = System.Diagnostics.Stopwatch.StartNew();
        try
        {
            try
            {
                await stream.SendSerializedAsync(sends.Count == 1 ? sends[0].Text : string.Concat(sends.Select(s => s.Text)), cancellationToken);
            }
            catch (XmppStreamClosedException ex)
            {
                // Part of it may have gone out: each is looked for in the archive before it is sent again.
                foreach (var send in sends)
                {
                    SendUnconfirmed(send.MessageId, sentAt);
                }

                return [new DeliveryResult.RetryLater("connection lost: " + ex.Message, TimeSpan.FromSeconds(1), CountsAsAttempt: false)];
            }

            foreach (var (send, reflection) in sends.Zip(reflections))
            {
                try
                {
                    var left = _options.SendTimeout - waiting.Elapsed;
                    var echo = await reflection.Task.WaitAsync(left > TimeSpan.Zero ? left : TimeSpan.Zero, cancellationToken);
                    results.Add(await ConfirmedAsync(send, echo, cancellationToken));
                }
                catch (TimeoutException)
                {
                    SendUnconfirmed(send.MessageId, sentAt);
                    OneAtATimeFor(send.Room);
                    results.Add(new DeliveryResult.RetryLater($"{send.Room.Key} did not reflect the message within {_options.SendTimeout}"));
                }
                catch (XmppStreamClosedException ex)
                {
                    SendUnconfirmed(send.MessageId, sentAt);
                    results.Add(new DeliveryResult.RetryLater("connection lost: " + ex.Message, TimeSpan.FromSeconds(1), CountsAsAttempt: false));
                }
            }

            return results;
        }
        catch (Exception) when (results.Count < sends.Count)
        {
            // Cut short (a stop, the attempt's time up): what has no answer yet is looked for before it is sent again,
            // and what the room already confirmed is answered, so the core records it instead of asking again.
            foreach (var send in sends.Skip(results.Count))
            {
                SendUnconfirmed(send.MessageId, sentAt);
            }

            if (results.Count > 0)
            {
                return results;
            }

            throw;
        }
        finally
        {
            for (var i = 0; i < sends.Count; i++)
            {
                _pendingSends.TryRemove(new KeyValuePair<string, TaskCompletionSource<XElement>>(sends[i].MessageId, reflections[i]));
            }
        }
    }

    /// <summary>After a room refused or lost a message, its next runs are one message long for a while.</summary>
    private void OneAtATimeFor(RoomState room)
    {
        var until = _context.Time.GetUtcNow() + OneAtATimeAfterTrouble;
        if (until > room.SendsOneAtATimeUntil)
        {
            room.SendsOneAtATimeUntil = until;
        }
    }

    private static readonly TimeSpan OneAtATimeAfterTrouble = TimeSpan.FromMinutes(5);

    /// <summary>What the room's reflection (or error) says about one send.</summary>
    private async Task<DeliveryResult> ConfirmedAsync(PreparedSend send, XElement echo, CancellationToken cancellationToken)
    {
        var room = send.Room;
        if ((string?)echo.Attribute("type") == "error")
        {
            var condition = StanzaErrorCondition(echo);
            if (condition is "resource-constraint" or "policy-violation" && room.SendsOneAtATimeUntil != DateTimeOffset.MaxValue)
            {
                // A refusal for rate or size (mod_muc_limits, a slow mode) may take the next, shorter message: runs could
                // reorder this room, so it gets one message at a time for as long as this process runs.
                room.SendsOneAtATimeUntil = DateTimeOffset.MaxValue;
                _logger.LogWarning(XmppLog.StanzaRejected, "{Room} refused a message ({Condition}): sending into it one message at a time from now on; set sendWindow: 1 for network {Network} if its service limits rates",
                    room.Key, condition, _network.Id);
            }
            else
            {
                OneAtATimeFor(room);
            }

            return OnSendError(send.Occupancy, condition);
        }

        var messageId = send.MessageId;
        var stanzaId = echo.Elements(Ns.StanzaId + "stanza-id")
            .FirstOrDefault(e => string.Equals((string?)e.Attribute("by"), room.Key, StringComparison.OrdinalIgnoreCase))?.Attribute("id")?.Value;
        if (stanzaId is null && _sentStanzaIds.TryGet(messageId, out var fromArchive))
        {
            stanzaId = fromArchive;
        }

        var nativeId = stanzaId ?? messageId;
        _sentStanzaIds.Set(messageId, nativeId);
        room.NativeToMessageId.Set(nativeId, messageId);
        room.MessageIdToNative.Set(messageId, nativeId);
        if (nativeId != messageId && send.Request.Event.Kind == BridgeEventKind.Message)
        {
            _idMapWrites.Enqueue((SentIdKey(room, nativeId), messageId));

            // People's replies and reactions name our message by its id: saved so they map once the cache forgot it.
            _idMapWrites.Enqueue((MessageIdKey(room, messageId), nativeId));
        }

        if (send.ReactionOwner is not null && send.ReactionSet is not null)
        {
            await _context.Reactions.PutReactionsAsync(send.ReactionOwner, send.ReactionSet, cancellationToken);
        }

        return new DeliveryResult.Delivered(nativeId, AttachmentNotice.Join(send.SenderNotices));
    }

    private DeliveryResult OnSendError(Occupancy occupancy, string condition)
    {
        switch (condition)
        {
            case "not-acceptable" or "item-not-found" or "not-allowed" when !occupancy.IsBot:
                // The room no longer has our puppet (restart, kick): join again before the next attempt.
                lock (_gate)
                {
                    if (occupancy.State == OccupancyState.Joined)
                    {
                        occupancy.State = OccupancyState.Absent;
                    }
                }

                return new DeliveryResult.RetryLater($"{occupancy.Room.Key} refused the message ({condition}); re-joining", TimeSpan.FromMilliseconds(200));
            case "resource-constraint" or "policy-violation" or "service-unavailable" or "remote-server-timeout" or "internal-server-error":
                return new DeliveryResult.RetryLater($"{occupancy.Room.Key} refused the message for now ({condition})", TimeSpan.FromSeconds(2));
            default:
                return new DeliveryResult.Rejected($"{occupancy.Room.Key} refused the message: {condition}");
        }
    }

    /// <summary>
    /// RFC 6121 (5.2.3) allows one &lt;body/&gt; per language: a translated message says its language on the stanza
    /// (<c>xml:lang</c>) and carries the original as a second body in the sender's language, so clients pick theirs.
    /// </summary>
    private static void AddOriginal(XElement message, DeliveryRequest request, string prefix)
    {
        if (request.Translation is not { Translated: true } t)
        {
            return;
        }

        message.SetAttributeValue(XNamespace.Xml + "lang", t.TargetLanguage);
        message.Add(new XElement(Ns.Component + "body", new XAttribute(XNamespace.Xml + "lang", t.SourceLanguage), prefix + CleanText(t.OriginalText)));
    }

    private XElement? BuildMessage(DeliveryRequest request, RoomState room, Jid puppet, string messageId, Bridge.Core.Reactions.ReactionSet? reactionSet,
        IReadOnlyList<Uri> files, IReadOnlyList<string> fileNotices, out string? skipReason)
    {
        skipReason = null;
        var ev = request.Event;
        var message = new XElement(Ns.Component + "message",
            new XAttribute("from", puppet.ToString()),
            new XAttribute("to", room.Key),
            new XAttribute("type", "groupchat"),
            new XAttribute("id", messageId));
        // The core's policy has already put the visible "[LABEL] " marker at the start of any non-empty text; only a
        // message without text (attachments alone) needs it here, or the destination would show it twice.
        var labelPrefix = request.Label is { Length: > 0 } label && string.IsNullOrEmpty(ev.Text) ? $"[{CleanText(label)}] " : "";
        // Markdown and HTML become XEP-0393 styling here, from the text and HTML as the policy labelled them.
        var text = CleanText(_formatter.Styling(ev.Text, ev.Html, ev.TextFormat, string.IsNullOrEmpty(ev.Text) ? null : request.Label));
        if (ev.Kind == BridgeEventKind.Message && (files.Count > 0 || fileNotices.Count > 0))
        {
            // Each uploaded file's GET URL on its own line; a message of one file alone is exactly its URL, which
            // clients (with the matching out-of-band element) show inline.
            var lines = fileNotices.Select(CleanText).Concat(files.Select(f => f.AbsoluteUri));
            text = string.Join("\n", text.Length == 0 ? lines : lines.Prepend(text));
        }

        var mentioned = RenderMentions(request, room, ref text);

        switch (ev.Kind)
        {
            case BridgeEventKind.Message:
                var head = labelPrefix + (ev.MessageKind == MessageKind.Emote ? "/me " : "");
                message.Add(new XElement(Ns.Component + "body", head + text));
                AddOriginal(message, request, labelPrefix + (ev.MessageKind == MessageKind.Emote ? "/me " : ""));
                if (request.ReplyToNativeId is { } replyTo)
                {
                    message.Add(new XElement(Ns.Reply + "reply", new XAttribute("id", replyTo)));
                }

                AddThread(message, request);
                AddReferences(message, room, head + text, head.Length, mentioned);

                foreach (var file in files)
                {
                    message.Add(new XElement(Ns.Oob + "x", new XElement(Ns.Oob + "url", file.AbsoluteUri)));
                }

                break;
            case BridgeEventKind.Edit:
                var original = request.TargetNativeId is { } editTarget
                    ? room.NativeToMessageId.TryGet(editTarget, out var originalId) ? originalId
                    : editTarget.StartsWith(OwnIdPrefix, StringComparison.Ordinal) ? editTarget : null
                    : null;
                var editHead = labelPrefix + (original is null ? "* " : "") + (ev.MessageKind == MessageKind.Emote ? "/me " : "");
                message.Add(new XElement(Ns.Component + "body", editHead + text));
                AddReferences(message, room, editHead + text, editHead.Length, mentioned);
                AddOriginal(message, request, labelPrefix + (original is null ? "* " : "") + (ev.MessageKind == MessageKind.Emote ? "/me " : ""));
                if (original is not null)
                {
                    // XEP-0308 names the corrected message by its 'id' attribute, which for our puppets is ours.
                    message.Add(new XElement(Ns.Correct + "replace", new XAttribute("id", original)));
                }

                break;
            case BridgeEventKind.Delete:
                if (request.TargetNativeId is not { } deleteTarget)
                {
                    skipReason = "the retracted message was never delivered here";
                    return null;
                }

                // XEP-0424 in a MUC names the message by the room's stanza-id (our native id).
                message.Add(
                    new XElement(Ns.Retract + "retract", new XAttribute("id", deleteTarget)),
                    new XElement(Ns.Fallback + "fallback", new XAttribute("for", Ns.Retract.NamespaceName)),
                    new XElement(Ns.Component + "body", "This person attempted to retract a previous message, but it's unsupported by your client."),
                    new XElement(Ns.Hints + "store"));
                break;
            case BridgeEventKind.Reaction or BridgeEventKind.ReactionRemoved:
                if (request.TargetNativeId is not { } reactionTarget || reactionSet is null)
                {
                    skipReason = "the message reacted to was never delivered here";
                    return null;
                }

                // The whole set, in a stable order: a second reaction adds to the first instead of replacing it.
                message.Add(
                    new XElement(Ns.Reactions + "reactions", new XAttribute("id", reactionTarget),
                        reactionSet.Keys.Keys.Order(StringComparer.Ordinal).Select(k => new XElement(Ns.Reactions + "reaction", k))),
                    new XElement(Ns.Hints + "store"));
                break;
            default:
                skipReason = $"{ev.Kind} is not expressed on XMPP";
                return null;
        }

        message.Add(new XElement(Ns.StanzaId + "origin-id", new XAttribute("id", messageId)));
        AddSecurityLabel(message, request.Label);
        return message;
    }

    /// <summary>The XEP-0258 label of a delivery (room or direct chat), when it has one.</summary>
    internal static void AddSecurityLabel(XElement message, string? label)
    {
        if (label is { Length: > 0 } structured)
        {
            message.Add(new XElement(Ns.SecLabel + "securitylabel",
                new XElement(Ns.SecLabel + "displaymarking", CleanText(structured)),
                new XElement(Ns.SecLabel + "label")));
        }
    }

    /// <summary>Drops characters XML 1.0 cannot carry (control characters, lone surrogates) from text of other networks.</summary>
    internal static string CleanText(string value)
    {
        if (value.All(c => XmlConvert.IsXmlChar(c) || char.IsSurrogate(c)) && !value.Any(char.IsSurrogate))
        {
            return value;
        }

        var sb = new StringBuilder(value.Length);
        for (var i = 0; i < value.Length; i++)
        {
            var c = value[i];
            if (char.IsHighSurrogate(c) && i + 1 < value.Length && char.IsLowSurrogate(value[i + 1]))
            {
                sb.Append(c).Append(value[i + 1]);
                i++;
            }
            else if (XmlConvert.IsXmlChar(c))
            {
                sb.Append(c);
            }
        }

        return sb.ToString();
    }

    public async Task NotifySenderAsync(ChannelRef channel, PersonRef person, string notice, CancellationToken cancellationToken)
    {
        if (!_roomsByChannel.TryGetValue(channel.ChannelId, out var room))
        {
            return;
        }

        string nick;
        lock (_gate)
        {
            var publicJids = room.RealJidsPublic;
            nick = room.Occupants.FirstOrDefault(o => _identity.Names(person.UserId, room.Key, publicJids, o.Key, o.Value)).Key
                ?? person.DisplayName;
        }

        // A MUC private message from the bridge bot: only that person sees it.
        var message = new XElement(Ns.Component + "message",
            new XAttribute("from", _botJid.ToString()),
            new XAttribute("to", $"{room.Key}/{nick}"),
            new XAttribute("type", "chat"),
            new XAttribute("id", NextId("notice")),
            new XElement(Ns.Component + "body", CleanText(notice)),
            new XElement(Ns.MucUser + "x"));
        await SendAsync(message, cancellationToken);
    }
}
