using Bridge.Core.Policy;
using Bridge.Host.Admin.Api;

namespace Bridge.Host.Admin.Console;

// The console's JSON answers, one record each (AdminJsonContext writes them); the property order is the order the
// page has always received.

/// <summary><c>/console/access.json</c>: whether the page must ask for a token first.</summary>
internal sealed record ConsoleAccessView(bool TokenRequired);

/// <summary><c>/api/console/overview</c>.</summary>
internal sealed record OverviewView(InstanceView Instance, DateTimeOffset At, IReadOnlyList<NetworkState> Networks, string? PolicyFingerprint, List<OverviewLinkView> Links);

internal sealed record OverviewLinkView(string Id, string Source, bool Paused, List<EndpointView> Endpoints, IReadOnlyList<DestinationPolicy> Policy);

/// <summary><c>/api/console/policy</c>.</summary>
internal sealed record PolicyAnswerView(string Link, IReadOnlyList<DestinationPolicy> Policy);

/// <summary><c>/api/console/audit</c>: the matching records, newest first.</summary>
internal sealed record AuditPageView(long Head, long ScannedFrom, bool Complete, List<AuditRecordView> Records)
{
    public static AuditPageView Of(AuditPage page) => new(page.Head, page.ScannedFrom, page.Complete, [.. page.Records.Select(r => new AuditRecordView(
        r.Sequence, r.Entry.At, r.Entry.Kind, r.Entry.LinkId, r.Entry.EventKey, r.Entry.SourceNetwork, r.Entry.SourcePerson, r.Entry.Destination,
        r.Entry.Decision, r.Entry.RuleId, r.Entry.Label))]);
}

/// <summary>One audit record as the console shows it: never its content, its hashes or its key.</summary>
internal sealed record AuditRecordView(
    long Seq, DateTimeOffset At, string Kind, string Link, string EventKey, string SourceNetwork, string SourcePerson, string Destination, string Decision, string Rule, string Label);

/// <summary><c>/api/console/audit/verify</c>.</summary>
internal sealed record AuditVerifyView(bool Ok, long Records, string? Head, long? KeyedFrom, long? FirstBroken, string? Problem);
