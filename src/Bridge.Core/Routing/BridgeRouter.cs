using System.Diagnostics;
using Bridge.Core.Audit;
using Bridge.Core.Configuration;
using Bridge.Core.Connectors;
using Bridge.Core.Delivery;
using Bridge.Core.Model;
using Bridge.Core.Policy;
using Bridge.Core.Policy.Labels;
using Bridge.Core.Storage;
using Bridge.Core.Telemetry;
using Microsoft.Extensions.Logging;

namespace Bridge.Core.Routing;

/// <summary>
/// The hub: takes an event from a connector, drops duplicates and echoes, asks the policy about every destination,
/// and commits the outbox rows and audit records in one transaction before returning.
/// </summary>
public sealed class BridgeRouter : IEventSink
{
    private readonly IBridgeStore _store;
    private readonly BridgeTopology _topology;
    private readonly ISharingPolicy _policy;
    private readonly DeliverySignals _signals;
    private readonly ConnectorRegistry _connectors;
    private readonly AuditOptions _auditOptions;
    private readonly ILogger<BridgeRouter> _logger;
    private readonly TimeProvider _time;
    private readonly BridgeMetrics? _metrics;
    private readonly SenderNoticeLimiter _noticeLimiter;

    public BridgeRouter(IBridgeStore store, BridgeTopology topology, ISharingPolicy policy, DeliverySignals signals,
        ConnectorRegistry connectors, AuditOptions auditOptions, ILogger<BridgeRouter> logger, TimeProvider? time = null, BridgeMetrics? metrics = null)
    {
        _metrics = metrics;
        _noticeLimiter = new SenderNoticeLimiter(time);
        _store = store;
        _topology = topology;
        _policy = policy;
        _signals = signals;
        _connectors = connectors;
        _auditOptions = auditOptions;
        _logger = logger;
        _time = time ?? TimeProvider.System;
    }

    /// <summary>
    /// R-K6: no puppet's name shows a classification marker, so the outbound sender's display name is stripped of
    /// markers (bracket tokens, label words in parentheses, a leading label banner). The name never labels the message.
    /// A name that was nothing but markers becomes the user id (stripped too), else "unnamed".
    /// </summary>
    private BridgeEvent WithoutMarkersInName(BridgeEvent e)
    {
        var labels = _policy switch
        {
            ReloadableSharingPolicy reloadable => reloadable.Current.Labels,
            CompiledPolicy compiled => compiled.Labels,
            _ => LabelOrder.None,
        };
        var name = e.Sender.DisplayName;
        if (!labels.IsEnabled || string.IsNullOrEmpty(name))
        {
            return e;
        }

        var classifier = labels.Classifier;
        var stripped = StripAll(classifier, name);
        if (stripped.Length == 0)
        {
            // The handle before the user id: it is what the person's room shows, the id may be an opaque one.
            stripped = StripAll(classifier, e.Sender.Handle ?? e.Sender.UserId) is { Length: > 0 } id ? id : "unnamed";
        }

        return stripped == name ? e : e with { Sender = e.Sender with { DisplayName = stripped } };
    }

    private static string StripAll(LabelClassifier classifier, string name)
    {
        // Stripping can uncover another marker ("SECRET: [CUI] Bob"): repeat until nothing changes (bounded).
        for (var i = 0; i < 4; i++)
        {
            var next = classifier.StripMarkers(name);
            if (next == name)
            {
                break;
            }

            name = next;
        }

        return name;
    }

    public async Task<IngestOutcome> IngestAsync(BridgeEvent bridgeEvent, CancellationToken cancellationToken)
    {
        using var span = BridgeTracing.Source.StartActivity("bridge.ingest", ActivityKind.Consumer);
        span?.SetTag("bridge.network", bridgeEvent.NetworkId);
        span?.SetTag("bridge.kind", bridgeEvent.Kind.ToString());
        var outcome = await IngestCoreAsync(bridgeEvent, cancellationToken);
        span?.SetTag("bridge.outcome", outcome.ToString());
        CountIngested(bridgeEvent.NetworkId, outcome);
        return outcome;
    }

    private void CountIngested(string network, IngestOutcome outcome) =>
        _metrics?.Ingested(network, outcome switch
        {
            IngestOutcome.Accepted => "accepted",
            IngestOutcome.Duplicate => "duplicate",
            IngestOutcome.Echo => "echo",
            _ => "not_linked",
        });

    private async Task<IngestOutcome> IngestCoreAsync(BridgeEvent bridgeEvent, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(bridgeEvent);
        // The links are read once and routed with: a link removed while the echo check awaits must not turn an event
        // into one stored as seen with no decision recorded.
        var links = LinksOf(bridgeEvent);
        if (links.Count == 0)
        {
            return IngestOutcome.NotLinked;
        }

        if (await _store.IsDeliveredNativeIdAsync(bridgeEvent.NetworkId, bridgeEvent.NativeId, cancellationToken))
        {
            return IngestOutcome.Echo;
        }

        var routed = Route(bridgeEvent, links);
        var committing = _time.GetTimestamp();
        var committed = await _store.IngestAsync(routed.Sender, routed.Outbox, routed.Audit, cancellationToken);
        _metrics?.Stage(BridgeTracing.Stages.Commit, routed.Sender.NetworkId, _time.GetElapsedTime(committing));
        if (!committed)
        {
            return IngestOutcome.Duplicate;
        }

        AfterCommit(routed);
        return IngestOutcome.Accepted;
    }

    /// <summary>
    /// The events of one source batch (a Matrix appservice transaction) in ONE store transaction: each is routed and
    /// decided for every destination exactly as <see cref="IngestAsync"/> does, in order, so their outbox rows and audit
    /// records follow each other as if ingested one by one; echoes and duplicates (in the store or earlier in the batch)
    /// write nothing. Returns once the whole batch is durable; when it throws, none of it is stored.
    /// </summary>
    public async Task<IReadOnlyList<IngestOutcome>> IngestBatchAsync(IReadOnlyList<BridgeEvent> events, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(events);
        using var span = BridgeTracing.Source.StartActivity("bridge.ingest", ActivityKind.Consumer);
        span?.SetTag("bridge.batch", events.Count);
        var outcomes = new IngestOutcome[events.Count];
        var routed = new List<(int Index, Routed Event)>(events.Count);
        for (var i = 0; i < events.Count; i++)
        {
            ArgumentNullException.ThrowIfNull(events[i]);
            var links = LinksOf(events[i]);
            if (links.Count == 0)
            {
                outcomes[i] = IngestOutcome.NotLinked;
            }
            else if (await _store.IsDeliveredNativeIdAsync(events[i].NetworkId, events[i].NativeId, cancellationToken))
            {
                // Our own delivery coming back: not routed (no policy work, no decision, no stage timings), as one at a
                // time. The store checks again inside the batch's transaction.
                outcomes[i] = IngestOutcome.Echo;
            }
            else
            {
                routed.Add((i, Route(events[i], links)));
            }
        }

        if (routed.Count > 0)
        {
            var committing = _time.GetTimestamp();
            var stored = await _store.IngestBatchAsync([.. routed.Select(r => new IngestDraft(r.Event.Sender, r.Event.Outbox, r.Event.Audit))], cancellationToken);
            var took = _time.GetElapsedTime(committing);
            for (var j = 0; j < routed.Count; j++)
            {
                var (index, e) = routed[j];
                // Each event waited for the batch's one commit: that is its commit stage.
                _metrics?.Stage(BridgeTracing.Stages.Commit, e.Sender.NetworkId, took);
                outcomes[index] = stored[j] switch
                {
                    IngestStored.Stored => IngestOutcome.Accepted,
                    IngestStored.Echo => IngestOutcome.Echo,
                    _ => IngestOutcome.Duplicate,
                };
                if (outcomes[index] == IngestOutcome.Accepted)
                {
                    AfterCommit(e);
                }
            }
        }

        for (var i = 0; i < events.Count; i++)
        {
            CountIngested(events[i].NetworkId, outcomes[i]);
        }

        return outcomes;
    }

    /// <summary>The links of the event's channel, read once per event; empty (and logged) when it is in none.</summary>
    private IReadOnlyList<LinkDefinition> LinksOf(BridgeEvent bridgeEvent)
    {
        var links = _topology.LinksFor(bridgeEvent.Channel);
        if (links.Count == 0)
        {
            _logger.LogDebug(RouterLog.NotLinked, "Event {NativeId} in unlinked channel {Channel} ignored", bridgeEvent.NativeId, bridgeEvent.Channel);
        }

        return links;
    }

    /// <summary>One event routed: the policy's decision for every destination, as outbox rows and audit records.</summary>
    private sealed record Routed(BridgeEvent Sender, List<OutboxDraft> Outbox, List<AuditDraft> Audit, List<string> Notices);

    private Routed Route(BridgeEvent bridgeEvent, IReadOnlyList<LinkDefinition> links)
    {
        var source = _topology.GetNetwork(bridgeEvent.NetworkId);
        var sender = WithoutMarkersInName(RouteTargets.WithSourceOrganisation(bridgeEvent, source));

        var routing = _time.GetTimestamp();
        var outbox = new List<OutboxDraft>();
        var audit = new List<AuditDraft>();
        var notices = new List<string>();
        var now = _time.GetUtcNow();
        var contentHash = AuditChain.HashContent(sender.Text + "\n" + sender.Html);
        foreach (var (link, destination, destinationNetwork) in RouteTargets.For(_topology, links, sender.Channel))
        {
            PolicyDecision decision;
            try
            {
                var context = new PolicyContext(sender, link, source, destination, destinationNetwork);
                decision = link.Source == LinkSource.Direct
                    ? Direct.DirectLinkPolicy.Decide(_policy, _topology, context) // every link joining the two networks rules a DM
                    : _policy.Decide(context);
            }
            catch (Exception ex)
            {
                // A policy that cannot decide must fail closed, never open.
                _logger.LogError(RouterLog.PolicyFailed, ex, "Policy failed for {NativeId} toward {Destination}; blocking", sender.NativeId, destination);
                decision = new PolicyDecision { Verdict = PolicyVerdict.Block, Event = sender, RuleId = "policy-error", Reason = "policy evaluation failed" };
            }

            // R-K2: an edit that raises the label above this destination's clearance must not leave the earlier,
            // lower copy standing there: retract it. The retraction goes through this destination's ordered outbox,
            // so it follows the original; where the original never arrived the worker skips it like any edit.
            var retract = IsRetraction(sender, decision);
            audit.Add(new AuditDraft
            {
                At = now,
                Kind = "decision",
                LinkId = link.Id,
                EventKey = $"{sender.NetworkId}/{sender.NativeId}",
                SourceNetwork = sender.NetworkId,
                SourcePerson = sender.Sender.UserId,
                Destination = destination.ToString(),
                Decision = retract ? "retracted" : decision.Verdict switch
                {
                    PolicyVerdict.Deliver => "delivered",
                    PolicyVerdict.DeliverModified => "redacted",
                    _ => "blocked",
                },
                RuleId = decision.RuleId,
                Label = decision.Label ?? "",
                ContentHash = contentHash,
                Content = _auditOptions.RecordContent ? sender.Text : null,
            });

            if (decision.SenderNotice is { Length: > 0 } notice && !notices.Contains(notice))
            {
                notices.Add(notice);
            }

            if (decision.Verdict != PolicyVerdict.Block)
            {
                outbox.Add(new OutboxDraft(link.Id, destination, decision.Event, decision.Label));
            }
            else if (retract)
            {
                // No label on the retraction: the raised label is exactly what this destination may not learn.
                outbox.Add(new OutboxDraft(link.Id, destination, Retraction(sender), null));
            }
        }

        _metrics?.Stage(BridgeTracing.Stages.Route, sender.NetworkId, _time.GetElapsedTime(routing));
        return new Routed(sender, outbox, audit, notices);
    }

    /// <summary>Once durable: the destinations' workers woken, the sender told of the policy's notices.</summary>
    private void AfterCommit(Routed routed)
    {
        var sender = routed.Sender;
        foreach (var destination in routed.Outbox.Select(o => o.Destination).Distinct())
        {
            _signals.Signal(destination.NetworkId, destination.ChannelId);
        }

        var notices = routed.Notices;
        if (notices.Count > 0)
        {
            var window = (_policy as INoticeSettingsSource)?.NoticeSettings.Window ?? NoticeSettings.Default.Window;
            if (_noticeLimiter.TryAcquire(sender.NetworkId, sender.Sender.UserId, window))
            {
                _ = NotifySenderAsync(sender, notices);
            }
            else
            {
                _logger.LogDebug(RouterLog.NoticeSuppressed, "Notice to {Person} on {Network} suppressed: one was sent within {Window}",
                    sender.Sender.UserId, sender.NetworkId, window);
            }
        }
    }

    /// <summary>An edit blocked because its label is above the destination's clearance.</summary>
    internal static bool IsRetraction(BridgeEvent e, PolicyDecision decision) =>
        e.Kind == BridgeEventKind.Edit && e.TargetNativeId is not null && decision.Verdict == PolicyVerdict.Block &&
        string.Equals(decision.RuleId, "clearance", StringComparison.Ordinal);

    /// <summary>The delete that takes back the copy an edit targets: nothing of the edit's content goes with it.</summary>
    internal static BridgeEvent Retraction(BridgeEvent edit) => edit with
    {
        Kind = BridgeEventKind.Delete,
        Text = "",
        Html = null,
        Attachments = [],
        ReactionKey = null,
        ReplyToNativeId = null,
        ThreadRootNativeId = null,
        StructuredLabels = [],
    };

    private async Task NotifySenderAsync(BridgeEvent e, List<string> notices)
    {
        var connector = _connectors.Find(e.NetworkId);
        if (connector is null)
        {
            return;
        }

        try
        {
            await connector.NotifySenderAsync(e.Channel, e.Sender, string.Join(" ", notices), CancellationToken.None);
        }
        catch (Exception ex)
        {
            _logger.LogWarning(RouterLog.NoticeFailed, ex, "Could not tell {Person} on {Network} about a policy decision", e.Sender.UserId, e.NetworkId);
        }
    }
}

/// <summary>Audit trail options. Bound from <c>audit:</c>.</summary>
public sealed class AuditOptions
{
    /// <summary>Record message text in the audit trail (off by default: only a hash is kept).</summary>
    public bool RecordContent { get; set; }

    /// <summary>
    /// The HMAC-SHA256 key of the audit chain, base64 (at least 32 bytes). With a key, a rewrite of the whole trail
    /// with recomputed hashes is detected; verifying needs the same secret key. Unset: a plain SHA-256 chain.
    /// </summary>
    public string? Key { get; set; }

    /// <summary>A file holding <see cref="Key"/> (base64 text); set one of the two.</summary>
    public string? KeyFile { get; set; }

    /// <summary>Earlier audit keys (base64), kept only to verify the records they MACed after a rotation.</summary>
    public List<string> RetiredKeys { get; set; } = [];

    /// <summary>Files holding earlier audit keys.</summary>
    public List<string> RetiredKeyFiles { get; set; } = [];

    /// <summary>Reads the keys (validated: errors name the key, never contain it).</summary>
    public Audit.AuditKeyRing ReadKeys(List<Connectors.ConfigError> errors)
    {
        ArgumentNullException.ThrowIfNull(errors);
        var current = Security.KeyMaterial.Read(Key, KeyFile, "audit:key", "audit:keyFile", Audit.AuditKey.MinimumBytes, errors);
        var retired = new List<Audit.AuditKey>();
        for (var i = 0; i < RetiredKeys.Count; i++)
        {
            if (Security.KeyMaterial.Decode(RetiredKeys[i], $"audit:retiredKeys:{i}", Audit.AuditKey.MinimumBytes, errors) is { } bytes)
            {
                retired.Add(new Audit.AuditKey(bytes));
            }
        }

        for (var i = 0; i < RetiredKeyFiles.Count; i++)
        {
            if (Security.KeyMaterial.ReadFile(RetiredKeyFiles[i], $"audit:retiredKeyFiles:{i}", Audit.AuditKey.MinimumBytes, errors) is { } bytes)
            {
                retired.Add(new Audit.AuditKey(bytes));
            }
        }

        return new Audit.AuditKeyRing(current is null ? null : new Audit.AuditKey(current), retired);
    }
}

internal static class RouterLog
{
    public static readonly EventId NotLinked = new(2001, nameof(NotLinked));
    public static readonly EventId PolicyFailed = new(2002, nameof(PolicyFailed));
    public static readonly EventId NoticeFailed = new(2003, nameof(NoticeFailed));
    public static readonly EventId NoticeSuppressed = new(2004, nameof(NoticeSuppressed));
}
