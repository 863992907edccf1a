using Microsoft.Extensions.Logging;

namespace Bridge.Host.Admin.Console;

/// <summary>Event ids of the console (950–959).</summary>
internal static class ConsoleLog
{
    public static readonly EventId AuditVerified = new(950, nameof(AuditVerified));
    public static readonly EventId AuditBroken = new(951, nameof(AuditBroken));
    public static readonly EventId BadRequest = new(952, nameof(BadRequest));
}
