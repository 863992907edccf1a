using Bridge.Core.Configuration;
using Bridge.Core.Connectors;
using Bridge.Core.Delivery;
using Bridge.Core.Storage;
using Bridge.Core.Telemetry;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Bridge.Core.Runtime;

/// <summary>
/// Starts and stops the bridge in the right order: schema, connectors, one delivery worker per network.
/// Stopping drains: workers finish the delivery in flight, then connectors leave their rooms, then the store closes.
/// </summary>
public sealed class BridgeRuntime : IHostedService
{
    private readonly IBridgeStore _store;
    private readonly BridgeTopology _topology;
    private readonly IEnumerable<INetworkConnectorFactory> _factories;
    private readonly IConfiguration _configuration;
    private readonly ConnectorRegistry _registry;
    private readonly DeliverySignals _signals;
    private readonly DeliveryOptions _deliveryOptions;
    private readonly IEventSink _sink;
    private readonly ILoggerFactory _loggerFactory;
    private readonly ILogger<BridgeRuntime> _logger;
    private readonly IServiceProvider _services;
    private readonly TimeProvider _time;
    private readonly BridgeMetrics? _metrics;
    private readonly CancellationTokenSource _stopping = new();
    private readonly CancellationTokenSource _abortDeliveries = new();
    private readonly List<Task> _workers = [];
    private readonly Delivery.Fairness.LimitsOptions _limits;
    private readonly Delivery.Waits.NetworkWaits _waits;
    private readonly LeaderFence? _fence;

    public BridgeRuntime(IBridgeStore store, BridgeTopology topology, IEnumerable<INetworkConnectorFactory> factories, IConfiguration configuration,
        ConnectorRegistry registry, DeliverySignals signals, DeliveryOptions deliveryOptions, IEventSink sink, ILoggerFactory loggerFactory,
        IServiceProvider services, TimeProvider? time = null, BridgeMetrics? metrics = null, Delivery.Fairness.LimitsOptions? limits = null,
        Delivery.Waits.NetworkWaits? waits = null, LeaderFence? fence = null)
    {
        _fence = fence;
        _waits = waits ?? new Delivery.Waits.NetworkWaits(time);
        _limits = limits ?? new Delivery.Fairness.LimitsOptions();
        _metrics = metrics;
        _store = store;
        _topology = topology;
        _factories = factories;
        _configuration = configuration;
        _registry = registry;
        _signals = signals;
        _deliveryOptions = deliveryOptions;
        _sink = sink;
        _loggerFactory = loggerFactory;
        _logger = loggerFactory.CreateLogger<BridgeRuntime>();
        _services = services;
        _time = time ?? TimeProvider.System;
    }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        try
        {
            await StartCoreAsync(cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // SIGTERM while starting is a clean stop, not a failed start: what started is stopped by StopAsync, which
            // the host calls next, and nothing is logged at error level.
            _logger.LogInformation(RuntimeLog.StartCancelled, "Stop requested while the bridge was starting: {Started} of {Networks} connectors started",
                _workers.Count, _topology.Networks.Count);
        }
    }

    private async Task StartCoreAsync(CancellationToken cancellationToken)
    {
        await _store.MigrateAsync(cancellationToken);
        // Links made through the admin API join the file's before any connector reads which rooms to join.
        if (_services.GetService(typeof(Links.LinkManager)) is Links.LinkManager links)
        {
            await links.LoadAsync(cancellationToken);
        }

        if (_services.GetService(typeof(Direct.DirectMessages)) is Direct.DirectMessages direct)
        {
            await direct.LoadAsync(cancellationToken);
        }

        var context = new ConnectorContext
        {
            Sink = _sink,
            State = _store,
            Topology = _topology,
            LoggerFactory = _loggerFactory,
            Time = _time,
            WakeDeliveries = _signals.Signal,
            Services = _services,
            Media = new Media.MediaReader(_registry, _loggerFactory.CreateLogger<Media.MediaReader>()),
            Secrets = _services.GetService(typeof(Security.SecretProtector)) as Security.SecretProtector ?? Security.SecretProtector.None,
            Typing = _services.GetService(typeof(Policy.ISharingPolicy)) is Policy.ISharingPolicy policy
                ? new Typing.TypingRelay(_topology, policy, _registry, _loggerFactory.CreateLogger<Typing.TypingRelay>())
                : Bridge.Core.Typing.NoTyping.Instance,
        };
        foreach (var network in _topology.Networks)
        {
            var factory = _factories.FirstOrDefault(f => f.Kind == network.Kind)
                          ?? throw new InvalidOperationException($"no connector is registered for kind '{network.Kind}' (network '{network.Id}')");
            var section = _configuration.GetSection($"networks:{network.Id}");
            _registry.Add(factory.Create(network, section, context));
        }

        foreach (var connector in _registry.All)
        {
            await connector.StartAsync(cancellationToken);
            _logger.LogInformation(RuntimeLog.ConnectorStarted, "Connector {Network} ({Kind}) started", connector.NetworkId, connector.Kind);
            // Translation, when configured, sits between the policy's outbox row and the connector: one place.
            var deliverer = _services.GetService(typeof(Translation.TranslationStage)) is Translation.TranslationStage stage
                ? new Translation.TranslatingConnector(connector, stage)
                : connector;
            var worker = new NetworkDeliveryWorker(deliverer, _store, _signals, _deliveryOptions, _loggerFactory.CreateLogger("Bridge.Delivery." + connector.NetworkId), _time, _metrics, _registry, _limits, _waits, _topology, _fence);
            _workers.Add(Task.Run(() => worker.RunAsync(_stopping.Token, _abortDeliveries.Token), CancellationToken.None));
        }

        _logger.LogInformation(RuntimeLog.Started, "Bridge started: {Networks} networks, {Links} links", _topology.Networks.Count, _topology.Links.Count);
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        _logger.LogInformation(RuntimeLog.Stopping, "Bridge stopping: draining deliveries in flight");
        await _stopping.CancelAsync();

        // The deliveries in flight finish and are recorded (see NetworkDeliveryWorker.RunAsync); only the host's stop
        // deadline or the drain bound cuts them short.
        _abortDeliveries.CancelAfter(_deliveryOptions.StopDrainTimeout);
        await using (cancellationToken.Register(() => _abortDeliveries.Cancel()))
        {
            await Task.WhenAll(_workers).WaitAsync(cancellationToken).ContinueWith(_ => { }, TaskScheduler.Default);
        }

        foreach (var connector in _registry.All)
        {
            try
            {
                await connector.StopAsync(cancellationToken);
                await connector.DisposeAsync();
            }
            catch (Exception ex)
            {
                _logger.LogWarning(RuntimeLog.StopFailed, ex, "Connector {Network} did not stop cleanly", connector.NetworkId);
            }
        }

        _logger.LogInformation(RuntimeLog.Stopped, "Bridge stopped");
        _stopping.Dispose();
        _abortDeliveries.Dispose();
    }
}

internal static class RuntimeLog
{
    public static readonly EventId Started = new(100, nameof(Started));
    public static readonly EventId ConnectorStarted = new(101, nameof(ConnectorStarted));
    public static readonly EventId Stopping = new(102, nameof(Stopping));
    public static readonly EventId Stopped = new(103, nameof(Stopped));
    public static readonly EventId StopFailed = new(104, nameof(StopFailed));
    public static readonly EventId StartCancelled = new(105, nameof(StartCancelled));
}
