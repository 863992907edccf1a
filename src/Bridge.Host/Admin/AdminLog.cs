using Microsoft.Extensions.Logging;

namespace Bridge.Host.Admin;

/// <summary>The admin API's log event ids (900–949).</summary>
internal static class AdminLog
{
    public static readonly EventId Listening = new(900, "AdminListening");
    public static readonly EventId Unauthenticated = new(901, nameof(Unauthenticated));
    public static readonly EventId Forbidden = new(902, nameof(Forbidden));
    public static readonly EventId AuditFailed = new(903, "AdminAuditFailed");
    public static readonly EventId Changed = new(904, "AdminChange");
    public static readonly EventId ChangeRefused = new(905, "AdminChangeRefused");
    public static readonly EventId ApplyFailed = new(906, "AdminApplyFailed");
}
