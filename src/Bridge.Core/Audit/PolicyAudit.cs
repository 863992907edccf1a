using Bridge.Core.Policy;
using Bridge.Core.Storage;

namespace Bridge.Core.Audit;

/// <summary>Audit records about the policy itself (as opposed to the per-event decisions the router writes).</summary>
public static class PolicyAudit
{
    public const string ReloadKind = "policy-reload";

    /// <summary>
    /// The record of a reload: <c>decision</c> is accepted / refused / unchanged, <c>content_hash</c> the fingerprint
    /// of the policy in force afterwards, <c>event_key</c> "policy/PREVIOUS..CURRENT" (12 hex digits each), and
    /// <c>content</c> the reason (the configuration errors of a refused policy: key paths and messages, no message content).
    /// </summary>
    public static AuditDraft Reload(PolicyReloadResult result, DateTimeOffset at)
    {
        ArgumentNullException.ThrowIfNull(result);
        return new AuditDraft
        {
            At = at,
            Kind = ReloadKind,
            EventKey = $"policy/{result.PreviousFingerprint[..12]}..{result.CurrentFingerprint[..12]}",
            Decision = result.Status.ToString().ToLowerInvariant(),
            RuleId = "policy",
            ContentHash = result.CurrentFingerprint,
            Content = result.Reason,
        };
    }
}
