using Bridge.Core.Audit;
using Bridge.Core.Storage;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Primitives;

namespace Bridge.Core.Policy;

/// <summary>
/// Reloads the policy when the configuration changes (or when the host asks, e.g. on SIGHUP), writes the
/// <c>policy-reload</c> audit record and logs the outcome. A refused policy leaves the previous one in force.
/// </summary>
public sealed class PolicyReloader : IDisposable
{
    private readonly ReloadableSharingPolicy _policy;
    private readonly IConfiguration _configuration;
    private readonly IBridgeStore _store;
    private readonly ILogger<PolicyReloader> _logger;
    private readonly TimeProvider _time;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private IDisposable? _watch;

    public PolicyReloader(ReloadableSharingPolicy policy, IConfiguration configuration, IBridgeStore store, ILogger<PolicyReloader> logger, TimeProvider? time = null)
    {
        _policy = policy;
        _configuration = configuration;
        _store = store;
        _logger = logger;
        _time = time ?? TimeProvider.System;
    }

    /// <summary>Reloads on every configuration change token until disposed.</summary>
    public void Watch()
    {
        _watch ??= ChangeToken.OnChange(_configuration.GetReloadToken, () => _ = ReloadAsync(CancellationToken.None));
    }

    /// <summary>Reloads now. Unchanged policies are neither audited nor logged above debug (change tokens fire for any edit).</summary>
    public async Task<PolicyReloadResult> ReloadAsync(CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            var result = _policy.TryReload(_configuration);
            switch (result.Status)
            {
                case PolicyReloadStatus.Accepted:
                    _logger.LogInformation(PolicyLog.Reloaded, "Sharing policy reloaded ({Previous} -> {Current})", Short(result.PreviousFingerprint), Short(result.CurrentFingerprint));
                    break;
                case PolicyReloadStatus.Refused:
                    _logger.LogWarning(PolicyLog.Refused, "Sharing policy change refused, the previous policy stays in force: {Reason}", result.Reason);
                    break;
                default:
                    _logger.LogDebug(PolicyLog.Unchanged, "Configuration changed; sharing policy unchanged");
                    return result;
            }

            try
            {
                await _store.AppendAuditAsync([PolicyAudit.Reload(result, _time.GetUtcNow())], cancellationToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                _logger.LogError(PolicyLog.AuditFailed, ex, "Could not write the policy-reload audit record");
            }

            return result;
        }
        finally
        {
            _gate.Release();
        }
    }

    public void Dispose()
    {
        _watch?.Dispose();
        _gate.Dispose();
    }

    private static string Short(string fingerprint) => fingerprint[..12];
}

internal static class PolicyLog
{
    public static readonly EventId Reloaded = new(2101, nameof(Reloaded));
    public static readonly EventId Refused = new(2102, nameof(Refused));
    public static readonly EventId Unchanged = new(2103, nameof(Unchanged));
    public static readonly EventId AuditFailed = new(2104, nameof(AuditFailed));
    public static readonly EventId SignalFailed = new(2105, nameof(SignalFailed));
}
