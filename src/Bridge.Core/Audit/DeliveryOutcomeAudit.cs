using Bridge.Core.Model;
using Bridge.Core.Storage;

namespace Bridge.Core.Audit;

/// <summary>
/// Follow-up records for a decision whose delivery did not happen: the router's <c>decision</c> record says what the
/// policy allowed; an <c>outcome</c> record (same event key, link and destination) says the delivery was then skipped
/// or dead-lettered, and why. A delivery that succeeds gets no record (the outbox says so), which keeps the trail's
/// size per message unchanged.
/// </summary>
public static class DeliveryOutcomeAudit
{
    public const string Kind = "outcome";
    public const string Skipped = "skipped";
    public const string DeadLettered = "dead-lettered";

    /// <summary>Reasons are connector and server text: bounded so that one odd error cannot bloat the trail.</summary>
    private const int MaxReasonLength = 500;

    public static AuditDraft For(DateTimeOffset at, string linkId, string originNetwork, string originNativeId, ChannelRef destination,
        string? label, string? sourcePerson, string outcome, string reason)
    {
        ArgumentNullException.ThrowIfNull(destination);
        reason ??= "";
        return new AuditDraft
        {
            At = at,
            Kind = Kind,
            LinkId = linkId,
            EventKey = $"{originNetwork}/{originNativeId}",
            SourceNetwork = originNetwork,
            SourcePerson = sourcePerson ?? "",
            Destination = destination.ToString(),
            Decision = outcome,
            RuleId = reason.Length > MaxReasonLength ? reason[..MaxReasonLength] : reason,
            Label = label ?? "",
        };
    }

    public static AuditDraft For(DateTimeOffset at, OutboxItem item, string outcome, string reason)
    {
        ArgumentNullException.ThrowIfNull(item);
        return For(at, item.LinkId, item.Event.NetworkId, item.Event.NativeId, item.Destination, item.Label, item.Event.Sender.UserId, outcome, reason);
    }
}
