using System.Runtime.InteropServices;
using Bridge.Core.Configuration;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Bridge.Core.Policy;

/// <summary>Registers the reloadable sharing policy for a host.</summary>
public static class PolicyServiceCollectionExtensions
{
    /// <summary>
    /// Registers <paramref name="initial"/> (compiled at start with <see cref="ReloadableSharingPolicy.Load"/>; a host
    /// refuses to start when that reports errors) as the <see cref="ISharingPolicy"/>, with a <see cref="PolicyReloader"/>
    /// and a hosted service that reloads on configuration change tokens and on SIGHUP.
    /// Needs <see cref="IConfiguration"/>, <see cref="Storage.IBridgeStore"/> and logging registered.
    /// </summary>
    public static IServiceCollection AddSharingPolicy(this IServiceCollection services, CompiledPolicy initial, BridgeTopology topology)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddSingleton(new ReloadableSharingPolicy(initial, topology));
        services.AddSingleton<ISharingPolicy>(sp => sp.GetRequiredService<ReloadableSharingPolicy>());
        services.AddSingleton(sp => new PolicyReloader(
            sp.GetRequiredService<ReloadableSharingPolicy>(),
            sp.GetRequiredService<IConfiguration>(),
            sp.GetRequiredService<Storage.IBridgeStore>(),
            sp.GetRequiredService<ILogger<PolicyReloader>>(),
            sp.GetService<TimeProvider>()));
        services.AddHostedService<PolicyReloadService>();
        return services;
    }
}

/// <summary>
/// Reloads the policy while the host runs: on every configuration change token (a file provider with
/// reloadOnChange), and on SIGHUP, which first re-reads the configuration sources.
/// </summary>
internal sealed class PolicyReloadService : IHostedService, IDisposable
{
    private readonly PolicyReloader _reloader;
    private readonly IConfiguration _configuration;
    private readonly ILogger<PolicyReloadService> _logger;
    private PosixSignalRegistration? _sighup;

    public PolicyReloadService(PolicyReloader reloader, IConfiguration configuration, ILogger<PolicyReloadService> logger)
    {
        _reloader = reloader;
        _configuration = configuration;
        _logger = logger;
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _reloader.Watch();
        if (!OperatingSystem.IsWindows())
        {
            _sighup = PosixSignalRegistration.Create(PosixSignal.SIGHUP, context =>
            {
                context.Cancel = true; // SIGHUP means "reload", not "terminate"
                _ = ReloadFromSignalAsync();
            });
        }

        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        _sighup?.Dispose();
        _sighup = null;
        return Task.CompletedTask;
    }

    public void Dispose() => _sighup?.Dispose();

    private async Task ReloadFromSignalAsync()
    {
        try
        {
            // Re-reading the sources fires the change token, which reloads; the explicit reload covers sources without one.
            (_configuration as IConfigurationRoot)?.Reload();
            await _reloader.ReloadAsync(CancellationToken.None);
        }
        catch (Exception ex)
        {
            _logger.LogError(PolicyLog.SignalFailed, ex, "Reloading the configuration on SIGHUP failed; the policy in force is unchanged");
        }
    }
}
