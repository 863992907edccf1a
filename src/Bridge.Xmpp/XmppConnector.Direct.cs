using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Xml.Linq;
using Bridge.Core.Connectors;
using Bridge.Core.Direct;
using Bridge.Core.Model;
using Bridge.Xmpp.Protocol;
using Bridge.Xmpp.Stream;
using Microsoft.Extensions.Logging;

namespace Bridge.Xmpp;

/// <summary>
/// Direct chats (<see cref="DirectMessages"/>). An XMPP person who sends a <c>type="chat"</c> message to a puppet JID
/// under the component's domain asks the core to open a portal to the person the puppet stands for; replies come back
/// as chat messages from that puppet JID to the person's bare JID. A DM's channel id is
/// <c>{person bare JID}|{puppet bare JID}</c>, so one person chatting with several puppets has one channel per puppet.
/// Puppet JIDs are derived from a lossy escape of the person's key, so the person each puppet stands for is kept in
/// the store as the puppet first speaks. Corrections (XEP-0308) and retractions (XEP-0424) cross both ways; reactions
/// and files in a DM do not yet.
/// </summary>
internal sealed partial class XmppConnector : IDirectMessageConnector
{
    private static readonly EventId DirectChat = new(4050, "XmppDirectChat");
    private long _directOutsidersRefused;
    private readonly ConcurrentDictionary<string, PersonRef> _directPuppets = new(StringComparer.OrdinalIgnoreCase);

    private DirectMessages? Direct => _context.Services?.GetService(typeof(DirectMessages)) as DirectMessages;

    private string DirectPuppetScope => "xmpp:" + _network.Id + ":direct-puppets";

    private static string DirectChannelOf(string personBare, string puppetBare) => personBare.ToLowerInvariant() + "|" + puppetBare.ToLowerInvariant();

    private bool IsDirectChannel(string channelId) => channelId.Contains('|', StringComparison.Ordinal) && Direct?.Find(new ChannelRef(_network.Id, channelId)) is not null;

    /// <summary>Keeps (once per run and puppet) which person a puppet JID stands for, so a chat to it finds the person after a restart.</summary>
    private async Task RememberDirectPuppetAsync(Jid puppet, PersonRef person, CancellationToken ct)
    {
        if (_directPuppets.TryGetValue(puppet.BareString, out var known) && known.Key == person.Key)
        {
            return;
        }

        var stored = new PersonRef { NetworkId = person.NetworkId, UserId = person.UserId, DisplayName = person.DisplayName };
        await _context.State.SetAsync(DirectPuppetScope, puppet.BareString.ToLowerInvariant(), JsonSerializer.Serialize(stored, StateJson.Default.PersonRef), ct);
        _directPuppets[puppet.BareString] = stored;
    }

    private async Task<PersonRef?> DirectPuppetPersonAsync(string puppetBare, CancellationToken ct)
    {
        if (_directPuppets.TryGetValue(puppetBare, out var known))
        {
            return known;
        }

        return await _context.State.GetAsync(DirectPuppetScope, puppetBare.ToLowerInvariant(), ct) is { } json ? JsonSerializer.Deserialize(json, StateJson.Default.PersonRef) : null;
    }

    public async Task<string> OpenDirectAsync(PersonRef local, PersonRef remote, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(local);
        ArgumentNullException.ThrowIfNull(remote);
        if (!IsDirectAccount(local.UserId, _options.DirectDomains()) || !Jid.TryParse(local.UserId, out var person))
        {
            throw new InvalidOperationException($"'{local.UserId}' is not an XMPP account that takes part in direct chats");
        }

        var puppet = PuppetJid(remote);
        await RememberDirectPuppetAsync(puppet, remote, cancellationToken);
        return DirectChannelOf(person.Value.BareString, puppet.BareString);
    }

    /// <summary>
    /// A person a direct chat may reach: a plain bare JID (a local part, no resource, so never a room occupant's
    /// <c>room@muc/nick</c> id) on one of <paramref name="domains"/>.
    /// </summary>
    internal static bool IsDirectAccount(string userId, IReadOnlyList<string> domains) =>
        Jid.TryParse(userId, out var jid) && jid.Value is { Local.Length: > 0, IsBare: true } bare
        && domains.Contains(bare.Domain, StringComparer.OrdinalIgnoreCase);

    /// <summary>Whether a chat from <paramref name="from"/> may open or speak in a direct chat: an account of an allowed domain.</summary>
    internal static bool IsDirectInitiator(Jid from, IReadOnlyList<string> domains) =>
        from.Local is { Length: > 0 } && domains.Contains(from.Domain, StringComparer.OrdinalIgnoreCase);

    /// <summary>The event a chat message of a direct chat makes, with its XEP-0258 labels read as in rooms.</summary>
    internal static BridgeEvent DirectChatEvent(XElement message, Jid from, string networkId, string channelId, DateTimeOffset now)
    {
        var ns = message.Name.Namespace;
        var body = (string?)message.Element(ns + "body");
        var retract = message.Element(Ns.Retract + "retract");
        var id = (string?)message.Attribute("id");
        var nativeId = id is { Length: > 0 } ? $"{from.BareString}/{id}" : "chat-" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(message.ToString())))[..24];
        var ev = new BridgeEvent
        {
            NetworkId = networkId,
            ChannelId = channelId,
            NativeId = nativeId,
            Kind = BridgeEventKind.Message,
            Sender = new PersonRef { NetworkId = networkId, UserId = from.BareString, DisplayName = from.Local ?? from.BareString, Handle = from.Local ?? from.BareString },
            Text = CleanText(body ?? ""),
            TextFormat = TextFormat.Styling,
            Timestamp = now,
            StructuredLabels = SecurityLabelsOf(message),
        };
        if (retract is not null && (string?)retract.Attribute("id") is { Length: > 0 } retracted)
        {
            ev = ev with { Kind = BridgeEventKind.Delete, Text = "", TargetNativeId = $"{from.BareString}/{retracted}" };
        }
        else if (message.Element(Ns.Correct + "replace") is { } replace && (string?)replace.Attribute("id") is { Length: > 0 } replaced)
        {
            ev = ev with { Kind = BridgeEventKind.Edit, TargetNativeId = $"{from.BareString}/{replaced}" };
        }

        return ev;
    }

    public Task DirectPortalInForceAsync(DirectPortal portal, CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>
    /// A chat message to a puppet JID: a message, correction or retraction of a DM in force, or the first message of a new
    /// one. Returns false when it is not for a puppet (the caller goes on as before).
    /// </summary>
    private async Task<bool> HandleDirectChatAsync(XElement message, Jid from, Jid to, CancellationToken ct)
    {
        if ((string?)message.Attribute("type") != "chat" || to.Local is null || !string.Equals(to.Domain, _botJid.Domain, StringComparison.OrdinalIgnoreCase)
            || string.Equals(from.Domain, _botJid.Domain, StringComparison.OrdinalIgnoreCase) || from.Local is null || Direct is not { } dms)
        {
            return false;
        }

        if (!dms.IsEnabled(_network.Id))
        {
            _logger.LogDebug(DirectChat, "Chat message from {From} to {Puppet} ignored: direct messages are off on this network", from.BareString, to.BareString);
            return true;
        }

        if (!IsDirectInitiator(from, _options.DirectDomains()))
        {
            var refused = Interlocked.Increment(ref _directOutsidersRefused);
            _logger.LogDebug(DirectChat, "Chat message from {From} to {Puppet} ignored ({Count} so far): its domain is not in directMessagesFrom", from.BareString, to.BareString, refused);
            return true;
        }

        var ns = message.Name.Namespace;
        var body = (string?)message.Element(ns + "body");
        var retract = message.Element(Ns.Retract + "retract");
        if (body is null && retract is null)
        {
            return true; // chat states, receipts: nothing to carry
        }

        var channelId = DirectChannelOf(from.BareString, to.BareString);
        var sender = new PersonRef { NetworkId = _network.Id, UserId = from.BareString, DisplayName = from.Local, Handle = from.Local };
        if (dms.Find(new ChannelRef(_network.Id, channelId)) is null)
        {
            if (retract is not null || message.Element(Ns.Correct + "replace") is not null)
            {
                return true;
            }

            if (await DirectPuppetPersonAsync(to.BareString, ct) is not { } target)
            {
                _logger.LogInformation(DirectChat, "Chat message from {From} to {Puppet} dropped: the puppet stands for nobody known", from.BareString, to.BareString);
                return true;
            }

            // Direct messages off on the puppet's person's network: remote input that could never open a chat does
            // not reach the core (no audit row, no lock), as when they are off on this network.
            if (!dms.IsEnabled(target.NetworkId))
            {
                _logger.LogDebug(DirectChat, "Chat message from {From} to {Puppet} ignored: direct messages are off on network {Network}", from.BareString, to.BareString, target.NetworkId);
                return true;
            }

            var opening = await dms.OpenAsync(sender, channelId, target, ct);
            if (!opening.Opened)
            {
                _logger.LogInformation(DirectChat, "Chat message from {From} to {Puppet} does not cross: {Reason}", from.BareString, to.BareString, opening.Refusal);
                return true;
            }
        }

        var ev = DirectChatEvent(message, from, _network.Id, channelId, _context.Time.GetUtcNow());
        await _context.Sink.IngestAsync(ev, ct);
        return true;
    }

    /// <summary>Into a DM: a chat message (or correction, retraction) from the sender's puppet JID to the person's bare JID.</summary>
    private async Task<DeliveryResult> DeliverDirectAsync(DeliveryRequest request, ComponentStream stream, CancellationToken ct)
    {
        var ev = request.Event;
        var bar = request.Destination.ChannelId.IndexOf('|', StringComparison.Ordinal);
        var personBare = request.Destination.ChannelId[..bar];
        var puppet = PuppetJid(ev.Sender);
        if (!string.Equals(puppet.BareString, request.Destination.ChannelId[(bar + 1)..], StringComparison.OrdinalIgnoreCase))
        {
            return new DeliveryResult.Rejected("only the two people of a direct chat speak in it");
        }

        await RememberDirectPuppetAsync(puppet, ev.Sender, ct);
        var messageId = request.IdempotencyKey;
        var message = new XElement(Ns.Component + "message",
            new XAttribute("type", "chat"), new XAttribute("id", messageId), new XAttribute("from", puppet.ToString()), new XAttribute("to", personBare));
        switch (ev.Kind)
        {
            case BridgeEventKind.Message or BridgeEventKind.Edit:
                var text = CleanText(_formatter.Styling(ev.Text, ev.Html, ev.TextFormat, string.IsNullOrEmpty(ev.Text) ? null : request.Label));
                foreach (var attachment in ev.Attachments)
                {
                    text += (text.Length > 0 ? "\n" : "") + $"[file not carried in a direct chat: {CleanText(attachment.Name)}]";
                }

                message.Add(new XElement(Ns.Component + "body", text));
                if (ev.Kind == BridgeEventKind.Edit)
                {
                    if (request.TargetNativeId is not { } target)
                    {
                        return new DeliveryResult.Skipped("the corrected message never reached this chat");
                    }

                    message.Add(new XElement(Ns.Correct + "replace", new XAttribute("id", target)));
                }

                break;
            case BridgeEventKind.Delete when request.TargetNativeId is { } retracted:
                message.Add(new XElement(Ns.Retract + "retract", new XAttribute("id", retracted)),
                    new XElement(Ns.Fallback + "fallback", new XAttribute("for", Ns.Retract.NamespaceName)),
                    new XElement(Ns.Component + "body", "This person attempted to retract a previous message, but it's unsupported by your client."));
                break;
            default:
                return new DeliveryResult.Skipped($"{ev.Kind} is not carried in an XMPP direct chat");
        }

        message.Add(new XElement(Ns.StanzaId + "origin-id", new XAttribute("id", messageId)), new XElement(Ns.Hints + "store"));
        AddSecurityLabel(message, request.Label);
        try
        {
            await stream.SendAsync(message, ct);
        }
        catch (XmppStreamClosedException ex)
        {
            return new DeliveryResult.RetryLater("connection lost: " + ex.Message, TimeSpan.FromSeconds(1), CountsAsAttempt: false);
        }

        return DeliveryResult.Ok(messageId);
    }
}
