using Bridge.Core.Audit;
using Bridge.Core.Connectors;
using Bridge.Core.Policy;
using Bridge.Core.Storage;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Bridge.Host.Configuration;

/// <summary>
/// A configuration file that is missing, unreadable, empty or lacks a top-level section it had when the daemon reloads is a refused policy change like any other:
/// logged, and written to the audit trail as a refused <c>policy-reload</c> (the policy in force stays in force).
/// </summary>
internal sealed class ConfigurationReloadFailures : IHostedService
{
    private static readonly EventId ReloadFailed = new(960, nameof(ReloadFailed));
    private static readonly EventId AuditFailed = new(961, nameof(AuditFailed));
    private static readonly EventId ApplyFailed = new(964, nameof(ApplyFailed));

    private readonly List<YamlConfigurationProvider> _providers;
    private readonly ReloadableSharingPolicy _policy;
    private readonly IBridgeStore _store;
    private readonly ILogger<ConfigurationReloadFailures> _logger;
    private readonly TimeProvider _time;

    public ConfigurationReloadFailures(IConfigurationRoot configuration, ReloadableSharingPolicy policy, IBridgeStore store,
        ILogger<ConfigurationReloadFailures> logger, TimeProvider time)
    {
        _providers = configuration.Providers.OfType<YamlConfigurationProvider>().ToList();
        _policy = policy;
        _store = store;
        _logger = logger;
        _time = time;
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        foreach (var p in _providers)
        {
            p.ReloadFailed += OnReloadFailed;
            p.ApplyFailed += OnApplyFailed;
        }

        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        foreach (var p in _providers)
        {
            p.ReloadFailed -= OnReloadFailed;
            p.ApplyFailed -= OnApplyFailed;
        }

        return Task.CompletedTask;
    }

    private void OnReloadFailed(string reason) => _ = RecordAsync(reason);

    private void OnApplyFailed(Exception ex) =>
        _logger.LogError(ApplyFailed, ex, "The configuration file changed and was read, but applying it failed; fix the file, or send SIGHUP to apply it again");

    private async Task RecordAsync(string reason)
    {
        _logger.LogWarning(ReloadFailed, "Configuration reload refused, the configuration and sharing policy in force stay: {Reason}", reason);
        var fingerprint = _policy.Current.Fingerprint;
        var result = new PolicyReloadResult(PolicyReloadStatus.Refused, fingerprint, fingerprint, [new ConfigError("configuration", reason)]);
        try
        {
            await _store.AppendAuditAsync([PolicyAudit.Reload(result, _time.GetUtcNow())], CancellationToken.None);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            _logger.LogError(AuditFailed, ex, "Could not write the policy-reload audit record");
        }
    }
}
