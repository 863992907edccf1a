using System.CommandLine;

namespace Bridge.Host.Cli;

/// <summary><c>bridge check-config --config FILE</c>: validates and exits non-zero naming each offending key.</summary>
internal static class CheckConfigCommand
{
    public static Command Create()
    {
        var config = BridgeCli.ConfigOption();
        var command = new Command("check-config", "validate a configuration file and exit non-zero with a message naming each offending key");
        command.Options.Add(config);
        command.SetAction(async (parse, cancellationToken) =>
        {
            var file = parse.GetValue(config)!;
            var (root, settings) = ConfigLoading.Load(file, reloadOnChange: false, parse.InvocationConfiguration.Error);
            if (root is null || settings is null)
            {
                return 1;
            }

            (root as IDisposable)?.Dispose();
            foreach (var warning in settings.Warnings.Concat(await StoredLinkClashes.FindAsync(settings, cancellationToken)))
            {
                parse.InvocationConfiguration.Error.WriteLine($"warning: {warning.Key}: {warning.Message}");
            }

            parse.InvocationConfiguration.Output.WriteLine($"{file.FullName}: ok ({settings.Topology.Networks.Count} networks, {settings.Topology.Links.Count} links)");
            return 0;
        });
        return command;
    }
}
