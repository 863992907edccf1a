using Bridge.Core.Storage;

namespace Bridge.Host.Admin;

/// <summary>The audit records the admin API writes: refused requests and every change, with who made it.</summary>
internal static class AdminAudit
{
    /// <summary>A refused request (<c>kind: admin-access</c>).</summary>
    public const string AccessKind = "admin-access";

    /// <summary>A change made through the API (<c>kind: admin-change</c>).</summary>
    public const string ChangeKind = "admin-change";

    /// <summary>
    /// <c>decision</c> unauthenticated / forbidden, <c>source_person</c> the token's name (empty without a valid one),
    /// <c>destination</c> the request ("POST /api/links"), <c>rule_id</c> the role it needed, <c>event_key</c> the peer address.
    /// </summary>
    public static AuditDraft Access(DateTimeOffset at, string decision, string tokenName, string target, string requiredRole, string peer) => new()
    {
        At = at,
        Kind = AccessKind,
        Decision = decision,
        SourcePerson = tokenName,
        Destination = target,
        RuleId = "role:" + requiredRole,
        EventKey = "peer/" + peer,
    };

    /// <summary>
    /// <c>decision</c> what was done (link-created, endpoint-removed, link-paused…), <c>link_id</c>, <c>source_person</c>
    /// the token's name, <c>destination</c> the endpoint concerned if any, <c>content</c> the details (JSON).
    /// </summary>
    public static AuditDraft Change(DateTimeOffset at, string decision, string tokenName, string linkId, string destination, string? details) => new()
    {
        At = at,
        Kind = ChangeKind,
        Decision = decision,
        SourcePerson = tokenName,
        LinkId = linkId,
        Destination = destination,
        RuleId = "admin",
        Content = details,
    };
}
