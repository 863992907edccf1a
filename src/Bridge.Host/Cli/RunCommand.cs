using System.CommandLine;
using Bridge.Host.Composition;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Bridge.Host.Cli;

/// <summary><c>bridge run --config FILE</c>: the daemon.</summary>
internal static class RunCommand
{
    private static readonly EventId ConfigurationWarning = new(962, nameof(ConfigurationWarning));
    private static readonly EventId StoppedBeforeStart = new(963, nameof(StoppedBeforeStart));

    public static Command Create()
    {
        var config = BridgeCli.ConfigOption();
        var command = new Command("run", "run the bridge daemon");
        command.Options.Add(config);
        command.SetAction(async (parse, cancellationToken) =>
        {
            var file = parse.GetValue(config)!;
            var (root, settings) = ConfigLoading.Load(file, reloadOnChange: true, parse.InvocationConfiguration.Error);
            if (root is null || settings is null)
            {
                return 1;
            }

            using var host = BridgeHostFactory.Build(root, settings);
            var logger = host.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Bridge.Configuration");
            foreach (var warning in settings.Warnings)
            {
                logger.LogWarning(ConfigurationWarning, "{Key}: {Message}", warning.Key, warning.Message);
            }

            var role = host.Services.GetRequiredService<InstanceRole>();
            var lifetime = host.Services.GetRequiredService<IHostApplicationLifetime>();
            try
            {
                // The host handles SIGTERM/SIGINT itself and drains in StopAsync.
                await host.RunAsync(CancellationToken.None);
                return role.ExitCode;
            }
            catch (OperationCanceledException) when (lifetime.ApplicationStopping.IsCancellationRequested)
            {
                // SIGTERM while the start was still waiting (a standby waiting for the lease): a clean stop.
                logger.LogInformation(StoppedBeforeStart, "Stopped before the bridge started ({Role})", role.Current.Kind.ToString().ToLowerInvariant());
                return role.ExitCode;
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                await Console.Error.WriteLineAsync($"fatal: {ex.Message}");
                return 2;
            }
            finally
            {
                (root as IDisposable)?.Dispose();
                _ = cancellationToken;
            }
        });
        return command;
    }
}
