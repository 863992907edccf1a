namespace Bridge.Core.Connectors;

/// <summary>
/// A connector whose network keeps the order of what one sender sends back to back and answers each send on its own
/// (an XMPP component stream into a MUC: the room takes one stream's stanzas in the order they arrive) may be handed a
/// run of messages at once. It sends the whole run before waiting for any answer, so a burst into one room is not held
/// to one network round trip per message.
/// </summary>
/// <remarks>
/// The core hands over only rows that cannot change each other's outcome: consecutive rows of one channel from one sender,
/// plain messages that name no other message (no edit, reaction, reply or thread, whose ids come from the rows before
/// them). A network refuses such messages for the sender's state in the room (not an occupant, no voice, banned), which
/// is the same for every message of the run, so a refused message refuses the rest of its run too and order holds. A
/// server that refuses for rate (a room throttle) can refuse one message and take the next: the connector then sends
/// that room one at a time for a while, and the core logs the inversion (<c>OrderInverted</c>).
/// </remarks>
public interface IRunDelivery
{
    /// <summary>
    /// The longest run the core may hand over into <paramref name="channelId"/> now; 1 sends one message at a time (a
    /// direct chat, a room that refused a message lately), and the core then does not collect a run at all.
    /// </summary>
    int MaxRunInto(string channelId);

    /// <summary>
    /// Delivers <paramref name="run"/> in order: one result per delivery, in order, for the run or a prefix of it (at
    /// least the first). Rows it returns no result for were not sent; the core hands them over again.
    /// </summary>
    Task<IReadOnlyList<DeliveryResult>> DeliverRunAsync(IReadOnlyList<DeliveryRequest> run, CancellationToken cancellationToken);
}
