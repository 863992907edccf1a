using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.FileProviders;

namespace Bridge.Host.Configuration;

/// <summary>Builds the configuration: the YAML file, then environment variables prefixed <c>BRIDGE_</c> (which win).</summary>
internal static class BridgeConfiguration
{
    public const string EnvironmentPrefix = "BRIDGE_";

    public static IConfigurationRoot Load(string path, bool reloadOnChange)
    {
        var full = Path.GetFullPath(path);
        if (!File.Exists(full))
        {
            throw new FileNotFoundException($"configuration file '{path}' does not exist", full);
        }

        var builder = new ConfigurationBuilder();
        builder.Add(new YamlConfigurationSource
        {
            FileProvider = new PhysicalFileProvider(Path.GetDirectoryName(full)!) { UsePollingFileWatcher = false },
            Path = Path.GetFileName(full),
            Optional = false,
            ReloadOnChange = false, // the provider watches itself: see YamlConfigurationProvider
            WatchForChanges = reloadOnChange,
            ReloadDelay = 250,
        });
        builder.AddEnvironmentVariables(EnvironmentPrefix);
        return builder.Build();
    }
}
