using Bridge.Core.Audit;
using Bridge.Core.Configuration;
using Bridge.Core.Connectors;
using Bridge.Core.Delivery;
using Bridge.Core.Model;
using Bridge.Core.Policy;
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

    public BridgeRouter(IBridgeStore store, BridgeTopology topology, ISharingPolicy policy, DeliverySignals signals,
        ConnectorRegistry connectors, AuditOptions auditOptions, ILogger<BridgeRouter> logger, TimeProvider? time = null, BridgeMetrics? metrics = null)
    {
        _metrics = metrics;
        _store = store;
        _topology = topology;
        _policy = policy;
        _signals = signals;
        _connectors = connectors;
        _auditOptions = auditOptions;
        _logger = logger;
        _time = time ?? TimeProvider.System;
    }

    public async Task<IngestOutcome> IngestAsync(BridgeEvent bridgeEvent, CancellationToken cancellationToken)
    {
        var outcome = await IngestCoreAsync(bridgeEvent, cancellationToken);
        _metrics?.Ingested(bridgeEvent.NetworkId, outcome switch
        {
            IngestOutcome.Accepted => "accepted",
            IngestOutcome.Duplicate => "duplicate",
            IngestOutcome.Echo => "echo",
            _ => "not_linked",
        });
        return outcome;
    }

    private async Task<IngestOutcome> IngestCoreAsync(BridgeEvent bridgeEvent, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(bridgeEvent);
        var links = _topology.LinksFor(bridgeEvent.Channel);
        if (links.Count == 0)
        {
            _logger.LogDebug(RouterLog.NotLinked, "Event {NativeId} in unlinked channel {Channel} ignored", bridgeEvent.NativeId, bridgeEvent.Channel);
            return IngestOutcome.NotLinked;
        }

        if (await _store.IsDeliveredNativeIdAsync(bridgeEvent.NetworkId, bridgeEvent.NativeId, cancellationToken))
        {
            return IngestOutcome.Echo;
        }

        var source = _topology.GetNetwork(bridgeEvent.NetworkId);
        var sender = string.IsNullOrEmpty(bridgeEvent.Sender.Organisation)
            ? bridgeEvent with { Sender = bridgeEvent.Sender with { Organisation = source.Organisation } }
            : bridgeEvent;

        var outbox = new List<OutboxDraft>();
        var audit = new List<AuditDraft>();
        var notices = new List<string>();
        var now = _time.GetUtcNow();
        var contentHash = AuditChain.HashContent(sender.Text + "\n" + sender.Html);
        foreach (var link in links)
        {
            foreach (var destination in link.Endpoints)
            {
                if (destination == sender.Channel || !_topology.TryGetNetwork(destination.NetworkId, out var destinationNetwork))
                {
                    continue;
                }

                PolicyDecision decision;
                try
                {
                    decision = _policy.Decide(new PolicyContext(sender, link, source, destination, destinationNetwork));
                }
                catch (Exception ex)
                {
                    // A policy that cannot decide must fail closed, never open.
                    _logger.LogError(RouterLog.PolicyFailed, ex, "Policy failed for {NativeId} toward {Destination}; blocking", sender.NativeId, destination);
                    decision = new PolicyDecision { Verdict = PolicyVerdict.Block, Event = sender, RuleId = "policy-error", Reason = "policy evaluation failed" };
                }

                audit.Add(new AuditDraft
                {
                    At = now,
                    Kind = "decision",
                    LinkId = link.Id,
                    EventKey = $"{sender.NetworkId}/{sender.NativeId}",
                    SourceNetwork = sender.NetworkId,
                    SourcePerson = sender.Sender.UserId,
                    Destination = destination.ToString(),
                    Decision = decision.Verdict switch
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
            }
        }

        if (!await _store.IngestAsync(sender, outbox, audit, cancellationToken))
        {
            return IngestOutcome.Duplicate;
        }

        foreach (var network in outbox.Select(o => o.Destination.NetworkId).Distinct(StringComparer.Ordinal))
        {
            _signals.Signal(network);
        }

        if (notices.Count > 0)
        {
            _ = NotifySenderAsync(sender, notices);
        }

        return IngestOutcome.Accepted;
    }

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
}
