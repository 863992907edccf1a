using System.Collections.Concurrent;
using System.Globalization;
using System.Xml.Linq;
using Bridge.Core.Media;
using Bridge.Core.Model;
using Bridge.Xmpp.Muc;
using Bridge.Xmpp.Protocol;
using Bridge.Xmpp.Stream;
using Microsoft.Extensions.Logging;

namespace Bridge.Xmpp;

internal sealed partial class XmppConnector
{
    private const int ArchivePageSize = 100;

    /// <summary>Archived messages before the saved position read at start for our own recent origin-ids.</summary>
    private const int RecentOwnPageSize = 20;

    private readonly ConcurrentDictionary<string, RoomState> _archiveQueries = new(StringComparer.Ordinal);

    /// <summary>Archive queries that only establish a position: their results are not ingested.</summary>
    private readonly ConcurrentDictionary<string, RoomState> _recentOwnQueries = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, RoomState> _positionQueries = new(StringComparer.Ordinal);

    /// <summary>What the reader hands to the ingest worker, in arrival order.</summary>
    private abstract record InboundItem(RoomState Room);

    private sealed record InboundMessage(RoomState Room, BridgeEvent Event, string? StanzaId, bool Live) : InboundItem(Room)
    {
        /// <summary>The sender's message id of this message, kept (durably) so later corrections can be mapped after a restart.</summary>
        public string? MessageId { get; init; }

        /// <summary>
        /// The message id a correction, retraction or reaction names when it was not in memory (from before a restart, or
        /// evicted from the id cache): the worker looks it up in the saved map.
        /// </summary>
        public string? UnresolvedTargetOf { get; init; }

        /// <summary>The message id a reply names when it was not in memory: looked up like <see cref="UnresolvedTargetOf"/>.</summary>
        public string? UnresolvedReplyTo { get; init; }

        /// <summary>An XEP-0444 reactions stanza: the sender's full set of keys on the target (possibly empty).</summary>
        public IReadOnlyList<string>? ReactionSet { get; init; }
    }

    /// <summary>One of our own messages came back: nothing to ingest, but the room's position moves past it.</summary>
    private sealed record OwnReflection(RoomState Room, string? StanzaId) : InboundItem(Room)
    {
        /// <summary>Only a position (the archive's newest id when we first came): it must not move the position back.</summary>
        public bool PositionOnly { get; init; }
    }

    /// <summary>Live messages of the room are held from here until <see cref="CatchUpDone"/>, so the archive comes first.</summary>
    private sealed record CatchUpStart(RoomState Room) : InboundItem(Room);

    private sealed record CatchUpDone(RoomState Room) : InboundItem(Room);

    private async Task HandleMessageAsync(XElement message, CancellationToken cancellationToken)
    {
        var type = (string?)message.Attribute("type") ?? "normal";
        var id = (string?)message.Attribute("id");
        if (type == "error")
        {
            if (id is not null && _pendingSends.TryRemove(id, out var failed))
            {
                failed.TrySetResult(message);
            }

            return;
        }

        if (!Jid.TryParse((string?)message.Attribute("from"), out var from) || !Jid.TryParse((string?)message.Attribute("to"), out var to))
        {
            return;
        }

        RoomState? room;
        lock (_gate)
        {
            room = _roomsByJid.GetValueOrDefault(from.Value.BareString);
        }

        if (room is null && await HandleDirectChatAsync(message, from.Value, to.Value, cancellationToken))
        {
            return;
        }

        if (room is null)
        {
            _logger.LogDebug(XmppLog.Ignored, "Ignored a {Type} message from {From} (not a linked room)", type, from);
            return;
        }

        var toBot = to.Value.Local is null;
        if (message.Element(Ns.Mam + "result") is { } result)
        {
            if (_positionQueries.ContainsKey((string?)result.Attribute("queryid") ?? ""))
            {
                return; // the newest archived message, fetched only for its id
            }

            if (toBot && _recentOwnQueries.TryGetValue((string?)result.Attribute("queryid") ?? "", out var learning) && ReferenceEquals(learning, room))
            {
                LearnOwnArchived(room, result);
                return;
            }

            if (toBot && _archiveQueries.TryGetValue((string?)result.Attribute("queryid") ?? "", out var queried) && ReferenceEquals(queried, room))
            {
                await HandleArchivedAsync(room, result, cancellationToken);
            }

            return;
        }

        if (type != "groupchat")
        {
            return; // private messages to puppets are not bridged
        }

        // A send is confirmed by its reflection, whichever of our occupants' copies arrives first.
        if (id is not null && _pendingSends.TryRemove(id, out var pending))
        {
            pending.TrySetResult(message);
        }

        if (!toBot)
        {
            return; // every puppet gets its own copy: the room is read through the bot only
        }

        if (TryRelayTyping(room, from.Value, message))
        {
            return; // a chat state alone is typing: ephemeral, never a message
        }

        var codes = message.Elements(Ns.MucUser + "x").Elements(Ns.MucUser + "status").Select(s => (string?)s.Attribute("code")).ToList();
        if (codes.Contains("172"))
        {
            room.RealJidsPublic = true;
        }
        else if (codes.Contains("173") || codes.Contains("174"))
        {
            // The room became (semi-)anonymous: from now on real JIDs are no longer anyone's to show.
            room.RealJidsPublic = false;
        }

        var item = Classify(room, message, live: true, archiveStanzaId: null, archiveStamp: null);
        if (item is not null)
        {
            await _inbound.Writer.WriteAsync(item, cancellationToken);
        }
    }

    private async Task HandleArchivedAsync(RoomState room, XElement result, CancellationToken cancellationToken)
    {
        var forwarded = result.Element(Ns.Forward + "forwarded");
        var inner = forwarded?.Elements().FirstOrDefault(e => e.Name.LocalName == "message" && Ns.IsStanzaNamespace(e.Name.Namespace));
        if (inner is null)
        {
            return;
        }

        var stamp = ParseStamp((string?)forwarded!.Element(Ns.Delay + "delay")?.Attribute("stamp"));
        var item = Classify(room, inner, live: false, archiveStanzaId: (string?)result.Attribute("id"), archiveStamp: stamp);
        if (item is not null)
        {
            await _inbound.Writer.WriteAsync(item, cancellationToken);
        }
    }

    /// <summary>
    /// An archived message from before our saved position, fetched only so that our own recent sends are known again
    /// (their origin-ids) before anything is redelivered; nothing else in it is bridged (it was, before the restart).
    /// </summary>
    private void LearnOwnArchived(RoomState room, XElement result)
    {
        var inner = result.Element(Ns.Forward + "forwarded")?.Elements().FirstOrDefault(e => e.Name.LocalName == "message" && Ns.IsStanzaNamespace(e.Name.Namespace));
        if (inner is null || !Jid.TryParse((string?)inner.Attribute("from"), out var from) || from.Value.Resource is not { } nick)
        {
            return;
        }

        var ownId = (string?)inner.Element(Ns.StanzaId + "origin-id")?.Attribute("id") ?? (string?)inner.Attribute("id");
        if (IsOurNick(room, nick) || (ownId?.StartsWith(OwnIdPrefix, StringComparison.Ordinal) ?? false))
        {
            RememberOwn(room, ownId, (string?)result.Attribute("id"));
        }
    }

    private void RememberOwn(RoomState room, string? ownId, string? stanzaId)
    {
        if (ownId is not null && stanzaId is not null)
        {
            _sentStanzaIds.Set(ownId, stanzaId);
            room.NativeToMessageId.Set(stanzaId, ownId);
            room.MessageIdToNative.Set(ownId, stanzaId);
        }
    }

    /// <summary>
    /// What one room message (live, or the inner message of an archive result) becomes, without the ingest queue: the
    /// stanza-to-event translation on its own, for the fuzzer (tests/Bridge.Fuzz.Tests).
    /// </summary>
    internal BridgeEvent? Translate(RoomState room, XElement message, bool live, string? archiveStanzaId) =>
        Classify(room, message, live, archiveStanzaId, archiveStamp: null) is InboundMessage m ? m.Event : null;

    /// <summary>Turns one room message into what the ingest worker needs, or null for anything not to bridge.</summary>
    private InboundItem? Classify(RoomState room, XElement message, bool live, string? archiveStanzaId, DateTimeOffset? archiveStamp)
    {
        if (message.Element(message.Name.Namespace + "subject") is not null && message.Element(message.Name.Namespace + "body") is null)
        {
            room.ReplayingHistory = false; // the subject follows the history a join replays
            return null;
        }

        if (!Jid.TryParse((string?)message.Attribute("from"), out var from) || from.Value.Resource is not { } nick)
        {
            return null; // from the room itself (status messages): nobody to bridge
        }

        var ns = message.Name.Namespace;
        var id = (string?)message.Attribute("id");
        var originId = (string?)message.Element(Ns.StanzaId + "origin-id")?.Attribute("id");
        var stanzaId = archiveStanzaId ?? message.Elements(Ns.StanzaId + "stanza-id")
            .FirstOrDefault(e => string.Equals((string?)e.Attribute("by"), room.Key, StringComparison.OrdinalIgnoreCase))?.Attribute("id")?.Value;

        var ownId = originId ?? id;
        if (IsOurNick(room, nick) || (ownId?.StartsWith(OwnIdPrefix, StringComparison.Ordinal) ?? false))
        {
            RememberOwn(room, ownId, stanzaId);

            if (!live && ownId is not null && _pendingSends.TryRemove(ownId, out var pending))
            {
                pending.TrySetResult(message);
            }

            return new OwnReflection(room, stanzaId);
        }

        var delay = message.Element(Ns.Delay + "delay");
        if (live && delay is not null && !room.ReplayingHistory)
        {
            // History replayed by the room: catch-up goes through the archive instead, deduplicated.
            return null;
        }

        var body = (string?)message.Element(ns + "body");
        var kind = BridgeEventKind.Message;
        string? target = null, reactionKey = null, replyTo = null;
        string? unresolvedTarget = null, unresolvedReply = null;
        IReadOnlyList<string>? reactionSet = null;
        if ((string?)message.Element(Ns.Correct + "replace")?.Attribute("id") is { } replaced)
        {
            kind = BridgeEventKind.Edit;
            target = MapToNative(room, replaced, out unresolvedTarget);
        }
        else if ((string?)message.Element(Ns.Retract + "retract")?.Attribute("id") is { } retracted)
        {
            kind = BridgeEventKind.Delete;
            target = MapToNative(room, retracted, out unresolvedTarget);
        }
        else if (message.Elements(Ns.Fasten + "apply-to").FirstOrDefault(a => a.Element(Ns.RetractLegacy + "retract") is not null) is { } applyTo &&
                 (string?)applyTo.Attribute("id") is { } legacyRetracted)
        {
            kind = BridgeEventKind.Delete;
            target = MapToNative(room, legacyRetracted, out unresolvedTarget);
        }
        else if (message.Element(Ns.Reactions + "reactions") is { } reactions && (string?)reactions.Attribute("id") is { } reacted)
        {
            // XEP-0444: the stanza is the sender's whole set for that message (empty: all taken back). The ingest
            // worker turns it into adds and removals against the set kept for (message, person).
            reactionSet = [.. reactions.Elements(Ns.Reactions + "reaction").Select(r => r.Value.Trim()).Where(v => v.Length > 0).Distinct(StringComparer.Ordinal)];
            kind = BridgeEventKind.Reaction;
            target = MapToNative(room, reacted, out unresolvedTarget);
        }

        var oobUrls = message.Elements(Ns.Oob + "x").Select(x => ((string?)x.Element(Ns.Oob + "url"))?.Trim()).Where(u => !string.IsNullOrEmpty(u)).Select(u => u!).ToList();
        if (oobUrls.Count == 0 && body?.Trim() is { Length: > 0 } bare && !bare.Contains(' ', StringComparison.Ordinal) && !bare.Contains('\n', StringComparison.Ordinal)
            && Uri.TryCreate(bare, UriKind.Absolute, out var bareUrl) && IsFileHost(bareUrl))
        {
            oobUrls.Add(bare); // a client that shares an upload with the URL as the whole body and no out-of-band element
        }
        var attachments = oobUrls.Distinct(StringComparer.Ordinal).Select(ToAttachment).ToList();
        if (kind == BridgeEventKind.Message && string.IsNullOrEmpty(body) && attachments.Count == 0)
        {
            return null; // chat states, receipts and other payload-only messages
        }

        // The shared URL repeated in the body (clients send it so that others see a link) is the file, not text.
        var text = body is null ? "" : string.Join("\n", body.Split('\n').Where(line => !oobUrls.Contains(line.Trim(), StringComparer.Ordinal)));
        if (message.Element(Ns.Reply + "reply") is { } reply && (string?)reply.Attribute("id") is { } repliedTo)
        {
            replyTo = MapToNative(room, repliedTo, out unresolvedReply);
            text = StripFallback(message, text, Ns.Reply.NamespaceName);
        }

        if (kind is BridgeEventKind.Delete or BridgeEventKind.Reaction)
        {
            text = "";
        }

        var messageKind = MessageKind.Text;
        if (text.StartsWith("/me ", StringComparison.Ordinal))
        {
            messageKind = MessageKind.Emote;
            text = text[4..];
        }

        var labels = SecurityLabelsOf(message);

        var nativeId = stanzaId ?? id ?? $"{room.Key}/{nick}/{Guid.NewGuid():N}";
        if (id is not null)
        {
            room.MessageIdToNative.Set(id, nativeId);
            room.NativeToMessageId.Set(nativeId, id);
        }

        var occupantId = (string?)message.Element(Ns.OccupantId + "occupant-id")?.Attribute("id");
        OccupantInfo? known;
        lock (_gate)
        {
            known = room.Occupants.GetValueOrDefault(nick);
        }

        var userId = _identity.UserIdFor(room.Key, room.RealJidsPublic, nick, known, occupantId);

        var stamp = archiveStamp ?? ParseStamp((string?)delay?.Attribute("stamp")) ?? _context.Time.GetUtcNow();
        var bridgeEvent = new BridgeEvent
        {
            NetworkId = _network.Id,
            ChannelId = room.ChannelId,
            NativeId = nativeId,
            Kind = kind,
            MessageKind = messageKind,
            Sender = new PersonRef { NetworkId = _network.Id, UserId = userId, DisplayName = nick, Handle = nick, Avatar = OccupantAvatar(room, nick), AvatarRemoved = OccupantHasNoAvatar(room, nick) },
            Text = text,
            TextFormat = TextFormat.Styling,
            TargetNativeId = target,
            ReplyToNativeId = replyTo ?? (kind == BridgeEventKind.Message ? ThreadOf(message) : null),
            ThreadRootNativeId = kind == BridgeEventKind.Message ? ThreadOf(message) : null,
            Mentions = kind is BridgeEventKind.Message or BridgeEventKind.Edit ? ReadMentions(room, message, body ?? "") : [],
            ReactionKey = reactionKey,
            Timestamp = stamp,
            StructuredLabels = labels,
            Attachments = attachments,
        };
        return new InboundMessage(room, bridgeEvent, stanzaId, live)
        {
            MessageId = kind == BridgeEventKind.Message && id is not null && id != nativeId ? id : null,
            UnresolvedTargetOf = unresolvedTarget,
            UnresolvedReplyTo = unresolvedReply,
            ReactionSet = reactionSet,
        };
    }

    /// <summary>Every XEP-0258 label a message carries (room and direct chats alike), read by <see cref="SecurityLabelValue"/>.</summary>
    internal static List<string> SecurityLabelsOf(XElement message) => [.. message.Elements(Ns.SecLabel + "securitylabel").Select(SecurityLabelValue)];

    /// <summary>
    /// The structured label an XEP-0258 <c>&lt;securitylabel/&gt;</c> carries (R-S1, fail closed): its
    /// <c>&lt;displaymarking&gt;</c> when present (even empty), else the text of its <c>&lt;label&gt;</c> payload (an ESS
    /// security label or any other child's text, which names no label unless it is one), else
    /// <see cref="StructuredLabel.NotAString"/>. Every present <c>&lt;securitylabel&gt;</c> yields a value, so an empty or
    /// unreadable one ranks highest instead of being dropped.
    /// </summary>
    private static string SecurityLabelValue(XElement securityLabel)
    {
        if (securityLabel.Element(Ns.SecLabel + "displaymarking") is { } marking)
        {
            return marking.Value.Trim();
        }

        return securityLabel.Element(Ns.SecLabel + "label") is { } label && label.Value.Trim() is { Length: > 0 } payload
            ? payload
            : StructuredLabel.NotAString;
    }

    /// <summary>
    /// The file name an out-of-band URL shows. The URL is the sender's text: one that does not parse (a bad host, a
    /// stray control character) used to throw out of the translation, and the whole message, text and all, was dropped.
    /// </summary>
    private Attachment ToAttachment(string url)
    {
        var name = AttachmentName(url);
        var fetchable = Uri.TryCreate(url, UriKind.Absolute, out var uri) && IsFileHost(uri);
        return new Attachment
        {
            Name = name,
            ContentType = ContentTypeOf(name),
            // On this network's upload service: copied to the other networks. Elsewhere: a link, never fetched.
            Source = fetchable ? new MediaSource(_network.Id, url) : null,
            Url = fetchable ? null : url,
        };
    }

    private static string AttachmentName(string url) =>
        Path.GetFileName(Uri.TryCreate(url, UriKind.Absolute, out var uri) ? uri.AbsolutePath : url);

    /// <summary>
    /// The native id of the message <paramref name="id"/> names (XMPP references name message ids). When the in-memory
    /// map no longer holds it, <paramref name="unresolved"/> is the id, for the ingest worker to read from the saved map.
    /// </summary>
    private static string MapToNative(RoomState room, string id, out string? unresolved)
    {
        if (room.MessageIdToNative.TryGet(id, out var native))
        {
            unresolved = null;
            return native;
        }

        unresolved = id;
        return id;
    }

    /// <summary>Removes the fallback part of a body (XEP-0428), e.g. the quoted text a reply carries for old clients.</summary>
    private static string StripFallback(XElement message, string text, string forNamespace)
    {
        var range = message.Elements(Ns.Fallback + "fallback").Where(f => (string?)f.Attribute("for") == forNamespace)
            .Elements(Ns.Fallback + "body").FirstOrDefault();
        if (range is null && forNamespace == Ns.Reply.NamespaceName)
        {
            return StripUnmarkedQuote(text);
        }

        if (range is null ||
            !int.TryParse((string?)range.Attribute("start"), NumberStyles.Integer, CultureInfo.InvariantCulture, out var start) ||
            !int.TryParse((string?)range.Attribute("end"), NumberStyles.Integer, CultureInfo.InvariantCulture, out var end))
        {
            return text;
        }

        // Offsets count code points; convert to UTF-16 indexes.
        var runes = text.EnumerateRunes().ToList();
        if (start < 0 || end > runes.Count || start >= end)
        {
            return text;
        }

        return string.Concat(runes.Take(start).Concat(runes.Skip(end)).Select(r => r.ToString()));
    }

    /// <summary>
    /// A reply whose client quoted the parent without marking the fallback (XEP-0428): the leading "&gt; " lines are
    /// the client's, not the author's (classification rule R-K3), and must not carry the parent's text to networks that
    /// never received it. Kept when nothing else is left.
    /// </summary>
    private static string StripUnmarkedQuote(string text)
    {
        if (!text.StartsWith('>'))
        {
            return text;
        }

        var lines = text.Split('\n');
        var i = 0;
        while (i < lines.Length && lines[i].StartsWith('>'))
        {
            i++;
        }

        while (i < lines.Length && lines[i].Trim().Length == 0)
        {
            i++;
        }

        return i < lines.Length ? string.Join('\n', lines[i..]) : text;
    }

    private static DateTimeOffset? ParseStamp(string? stamp) =>
        DateTimeOffset.TryParse(stamp, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var value) ? value : null;
}
