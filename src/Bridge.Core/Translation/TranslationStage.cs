using System.Diagnostics;
using Bridge.Core.Audit;
using Bridge.Core.Configuration;
using Bridge.Core.Connectors;
using Bridge.Core.Model;
using Bridge.Core.Policy.Labels;
using Bridge.Core.Storage;
using Bridge.Core.Telemetry;
using Microsoft.Extensions.Logging;

namespace Bridge.Core.Translation;

/// <summary>
/// Translates one delivery for its destination, after the policy decided on the original and before the connector
/// sends it. Never blocks delivery: an engine that fails or runs past the time budget, or a translation that lost or
/// moved a marker, leaves the original to be delivered, marked untranslated. Every translation attempt the engine
/// answered (or failed) is an audit record naming the engine, the language pair and the hash of both texts.
/// </summary>
public sealed class TranslationStage : IAsyncDisposable
{
    private readonly TranslationOptions _options;
    private readonly BridgeTopology _topology;
    private readonly IReadOnlyDictionary<string, ITranslationEngine> _engines;
    private readonly Dictionary<string, SemaphoreSlim> _slots;
    private readonly Dictionary<(string Network, string User), string> _people;
    private readonly IBridgeStore _store;
    private readonly Func<LabelClassifier?> _classifier;
    private readonly TranslationCache _cache;
    private readonly ILogger _logger;
    private readonly BridgeMetrics? _metrics;
    private readonly TimeProvider _time;

    public TranslationStage(TranslationOptions options, BridgeTopology topology, IReadOnlyDictionary<string, ITranslationEngine> engines, IBridgeStore store,
        Func<LabelClassifier?> classifier, TranslationHealth health, ILogger logger, BridgeMetrics? metrics = null, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        _topology = topology;
        _engines = engines;
        _store = store;
        _classifier = classifier;
        Health = health;
        _logger = logger;
        _metrics = metrics;
        _time = time ?? TimeProvider.System;
        _cache = new TranslationCache(options.CacheSize);
        _slots = engines.ToDictionary(kv => kv.Key,
            kv => new SemaphoreSlim(Math.Max(1, options.Engines.TryGetValue(kv.Key, out var o) ? o.MaxConcurrency : 1)), StringComparer.Ordinal);
        metrics?.ObserveTranslationEngines(() => engines.Keys.Select(id => (id, !health.IsOut(id))));
        _people = [];
        foreach (var person in options.People)
        {
            if (LanguageCode.TryNormalise(person.Language, out var code))
            {
                _people[(person.Network, person.User)] = code;
            }
        }
    }

    public TranslationHealth Health { get; }

    /// <summary>The languages of one delivery (null when either is unknown or they are the same language) and the engine id.</summary>
    public (string From, string To, string Engine)? PlanFor(string linkId, BridgeEvent e, ChannelRef destination)
    {
        ArgumentNullException.ThrowIfNull(e);
        var link = _topology.Links.FirstOrDefault(l => string.Equals(l.Id, linkId, StringComparison.Ordinal));
        if (link is null)
        {
            return null;
        }

        var from = (_people.TryGetValue((e.NetworkId, e.Sender.UserId), out var personal) ? personal : null)
                   ?? LanguageOf(link, e.Channel);
        var to = LanguageOf(link, destination);
        var engine = link.TranslationEngine ?? _options.DefaultEngine;
        if (from is null || to is null || engine is null || LanguageCode.Primary(from) == LanguageCode.Primary(to))
        {
            return null;
        }

        return (from, to, engine);
    }

    private string? LanguageOf(LinkDefinition link, ChannelRef channel) =>
        link.Languages.TryGetValue(channel, out var language) ? language
        : _topology.TryGetNetwork(channel.NetworkId, out var network) ? network.Language
        : null;

    /// <summary>The request as the destination should receive it: translated, or the original marked untranslated, or unchanged.</summary>
    public async Task<DeliveryRequest> ApplyAsync(DeliveryRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var e = request.Event;
        // Reactions, deletes and attachment-only posts carry no text to translate; names are never translated.
        if (e.Kind is not (BridgeEventKind.Message or BridgeEventKind.Edit) || string.IsNullOrWhiteSpace(e.Text) || request.Translation is not null)
        {
            return request;
        }

        if (PlanFor(request.LinkId, e, request.Destination) is not { } plan)
        {
            return request;
        }

        var (from, to, engineId) = plan;
        var guarded = MarkerGuard.Protect(e.Text, _classifier());
        if (guarded is null)
        {
            return await UntranslatedAsync(request, plan, "the text holds the placeholder characters ⟦ ⟧", engineFault: false);
        }

        if (guarded.NothingToTranslate)
        {
            return request;
        }

        if (!_engines.TryGetValue(engineId, out var engine))
        {
            return await UntranslatedAsync(request, plan, $"engine '{engineId}' is not configured", engineFault: false);
        }

        var cached = _cache.TryGet(engineId, from, to, guarded.Text, out var raw);
        if (!cached)
        {
            var started = Stopwatch.GetTimestamp();
            var slot = _slots[engineId];
            using var budget = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            budget.CancelAfter(_options.Timeout);
            var entered = false;
            try
            {
                await slot.WaitAsync(budget.Token);
                entered = true;
                // WaitAsync: an engine that ignores cancellation still cannot hold the delivery past the budget.
                raw = await engine.TranslateAsync(guarded.Text, from, to, budget.Token).WaitAsync(budget.Token);
                _metrics?.Translated(engineId, "translated", Stopwatch.GetElapsedTime(started));
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                throw;
            }
            catch (OperationCanceledException)
            {
                _metrics?.Translated(engineId, "timeout", Stopwatch.GetElapsedTime(started));
                return await UntranslatedAsync(request, plan, $"engine {engineId} exceeded the time budget of {_options.Timeout.TotalSeconds:0.###} s", engineFault: true);
            }
            catch (Exception ex)
            {
                _metrics?.Translated(engineId, "failed", Stopwatch.GetElapsedTime(started));
                return await UntranslatedAsync(request, plan, $"engine {engineId} failed: {ex.GetType().Name}: {ex.Message}", engineFault: true);
            }
            finally
            {
                if (entered)
                {
                    slot.Release();
                }
            }

            Health.Succeeded(engineId);
        }

        var translated = MarkerGuard.Restore(guarded, raw, out var problem);
        if (translated is null)
        {
            return await UntranslatedAsync(request, plan, problem!, engineFault: false);
        }

        if (_classifier() is { } classifier && classifier.Labels.IsEnabled &&
            classifier.Classify([], [translated], [], 0) != classifier.Classify([], [e.Text], [], 0))
        {
            // Policy first: the label read from what the reader will see must be the one decided on the original.
            return await UntranslatedAsync(request, plan, "the translation reads as another label than the original", engineFault: false);
        }

        if (!cached)
        {
            _cache.Add(engineId, from, to, guarded.Text, raw);
            await AuditAsync(request, plan, "translated", "", translated);
        }

        _logger.LogDebug(TranslationLog.Translated, "Outbox {Id} to {Destination} translated {From}>{To} by {Engine}{Cached}",
            request.OutboxId, request.Destination, from, to, engineId, cached ? " (cached)" : "");
        return request with
        {
            Event = e with { Text = translated, Html = null },
            Translation = new MessageTranslation(e.Text, e.Html, from, to, engineId, Translated: true),
        };
    }

    private async Task<DeliveryRequest> UntranslatedAsync(DeliveryRequest request, (string From, string To, string Engine) plan, string reason, bool engineFault)
    {
        if (engineFault)
        {
            Health.Failed(plan.Engine, reason);
        }
        else
        {
            _metrics?.Translated(plan.Engine, "rejected", TimeSpan.Zero);
        }

        _logger.LogWarning(TranslationLog.Untranslated, "Outbox {Id} to {Destination} delivered untranslated ({From}>{To}): {Reason}",
            request.OutboxId, request.Destination, plan.From, plan.To, reason);
        await AuditAsync(request, plan, "untranslated", reason, null);
        var e = request.Event;
        return request with { Translation = new MessageTranslation(e.Text, e.Html, plan.From, plan.To, plan.Engine, Translated: false, reason) };
    }

    private async Task AuditAsync(DeliveryRequest request, (string From, string To, string Engine) plan, string decision, string reason, string? translated)
    {
        var e = request.Event;
        var hashes = "original:" + AuditChain.HashContent(e.Text) + (translated is null ? "" : " translated:" + AuditChain.HashContent(translated));
        var rule = $"{plan.Engine} {plan.From}>{plan.To}" + (reason.Length > 0 ? ": " + reason : "");
        var draft = new AuditDraft
        {
            At = _time.GetUtcNow(),
            Kind = "translation",
            LinkId = request.LinkId,
            EventKey = $"{e.NetworkId}/{e.NativeId}",
            SourceNetwork = e.NetworkId,
            SourcePerson = e.Sender.UserId,
            Destination = request.Destination.ToString(),
            Decision = decision,
            RuleId = rule.Length > 500 ? rule[..500] : rule,
            Label = request.Label ?? "",
            ContentHash = hashes,
        };
        try
        {
            await _store.AppendAuditAsync([draft], CancellationToken.None);
        }
        catch (Exception ex)
        {
            // The audit is best effort here: the delivery itself is recorded by the router's decision record.
            _logger.LogError(TranslationLog.AuditFailed, ex, "Could not record the translation of outbox {Id} in the audit trail", request.OutboxId);
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var engine in _engines.Values)
        {
            await engine.DisposeAsync();
        }

        foreach (var slot in _slots.Values)
        {
            slot.Dispose();
        }
    }
}

/// <summary>Delivers through <paramref name="inner"/> after the translation stage: the one place translation joins the delivery path.</summary>
internal sealed class TranslatingConnector(INetworkConnector inner, TranslationStage stage) : INetworkConnector
{
    public string NetworkId => inner.NetworkId;

    public NetworkKind Kind => inner.Kind;

    public bool IsReady => inner.IsReady;

    public string? DegradedReason => inner.DegradedReason;

    // The worker degrades what the network cannot show from these: they are the network's, not the interface's defaults.
    public Connectors.Capabilities.NetworkCapabilities Capabilities => inner.Capabilities;

    public bool CanShowReaction(string key) => inner.CanShowReaction(key);

    public Task StartAsync(CancellationToken cancellationToken) => inner.StartAsync(cancellationToken);

    public Task StopAsync(CancellationToken cancellationToken) => inner.StopAsync(cancellationToken);

    public async Task<DeliveryResult> DeliverAsync(DeliveryRequest request, CancellationToken cancellationToken) =>
        await inner.DeliverAsync(await stage.ApplyAsync(request, cancellationToken), cancellationToken);

    public Task NotifySenderAsync(ChannelRef channel, PersonRef person, string notice, CancellationToken cancellationToken) =>
        inner.NotifySenderAsync(channel, person, notice, cancellationToken);

    public ValueTask DisposeAsync() => ValueTask.CompletedTask; // the runtime disposes the connector itself
}

internal static class TranslationLog
{
    public static readonly EventId Translated = new(3201, nameof(Translated));
    public static readonly EventId Untranslated = new(3202, nameof(Untranslated));
    public static readonly EventId AuditFailed = new(3203, nameof(AuditFailed));
    public static readonly EventId PipelineStarted = new(3204, nameof(PipelineStarted));
}
