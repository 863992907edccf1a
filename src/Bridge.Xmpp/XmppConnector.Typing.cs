using System.Xml.Linq;
using Bridge.Core.Model;
using Bridge.Core.Typing;
using Bridge.Xmpp.Muc;
using Bridge.Xmpp.Protocol;

namespace Bridge.Xmpp;

/// <summary>
/// Typing with XEP-0085 chat states in the room: a person's <c>&lt;composing/&gt;</c> (typing) and
/// <c>&lt;paused/&gt;</c>, <c>&lt;active/&gt;</c>, <c>&lt;inactive/&gt;</c>, <c>&lt;gone/&gt;</c> (stopped) without a body go to
/// the core's typing relay, never to the outbox; a puppet that is already in the room sends them with a no-store hint.
/// </summary>
internal sealed partial class XmppConnector : ITypingTarget
{
    private static readonly string[] StoppedStates = ["paused", "active", "inactive", "gone"];

    /// <summary>
    /// True when a live groupchat message is only a chat state (no body, nothing else the bridge carries): reported as
    /// typing (our own puppets' states are ignored) and not bridged as a message.
    /// </summary>
    private bool TryRelayTyping(RoomState room, Jid from, XElement message)
    {
        var ns = message.Name.Namespace;
        var state = message.Elements().FirstOrDefault(e => e.Name.Namespace == Ns.ChatStates);
        if (state is null || message.Element(ns + "body") is not null
            || message.Elements().Any(e => e.Name.Namespace == Ns.Reactions || e.Name.Namespace == Ns.Retract || e.Name.Namespace == Ns.RetractLegacy
                || e.Name.Namespace == Ns.Fasten || e.Name.Namespace == Ns.Correct || e.Name.Namespace == Ns.Mam))
        {
            return false;
        }
        if (from.Resource is not { } nick || IsOurNick(room, nick))
        {
            return true;
        }
        bool typing;
        if (state.Name.LocalName == "composing")
        {
            typing = true;
        }
        else if (StoppedStates.Contains(state.Name.LocalName))
        {
            typing = false;
        }
        else
        {
            return true; // an unknown state: nothing to show
        }
        var occupantId = (string?)message.Element(Ns.OccupantId + "occupant-id")?.Attribute("id");
        OccupantInfo? known;
        lock (_gate)
        {
            known = room.Occupants.GetValueOrDefault(nick);
        }
        var userId = _identity.UserIdFor(room.Key, room.RealJidsPublic, nick, known, occupantId);
        _context.Typing.Typing(new ChannelRef(_network.Id, room.ChannelId),
            new PersonRef { NetworkId = _network.Id, UserId = userId, DisplayName = nick, Handle = nick }, typing);
        return true;
    }

    public async Task ShowTypingAsync(ChannelRef destination, PersonRef person, bool typing, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(person);
        var puppet = PuppetJid(person);
        Occupancy? occupancy;
        lock (_gate)
        {
            occupancy = _roomsByChannel.TryGetValue(destination.ChannelId, out var room)
                        && _occupancies.TryGetValue((puppet.BareString, room.Key), out var o) && o.State == OccupancyState.Joined
                ? o
                : null;
        }
        if (occupancy is null || _stream is not { } stream)
        {
            return; // the puppet is not in the room: typing never makes it join
        }
        await stream.SendAsync(new XElement(Ns.Component + "message",
            new XAttribute("type", "groupchat"),
            new XAttribute("from", occupancy.OccupantJid.ToString()),
            new XAttribute("to", occupancy.Room.Key),
            new XAttribute("id", NextId("typing")),
            new XElement(Ns.ChatStates + (typing ? "composing" : "paused")),
            new XElement(Ns.Hints + "no-store")), cancellationToken);
    }
}
