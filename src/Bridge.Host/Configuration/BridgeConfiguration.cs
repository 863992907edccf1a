using System.Collections;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.FileProviders;

namespace Bridge.Host.Configuration;

/// <summary>
/// Builds the configuration: the YAML file (with <c>${NAME}</c> references to environment variables substituted), then
/// environment variables prefixed <c>BRIDGE_</c> (which win).
/// </summary>
internal static class BridgeConfiguration
{
    public const string EnvironmentPrefix = "BRIDGE_";

    /// <param name="environment">The environment variables to use; the process's own unless a test supplies them.</param>
    public static IConfigurationRoot Load(string path, bool reloadOnChange, IDictionary? environment = null)
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
            Environment = environment is null ? System.Environment.GetEnvironmentVariable : name => environment[name] as string,
        });
        builder.Add(new EnvironmentOverridesSource { Prefix = EnvironmentPrefix, Variables = environment is null ? System.Environment.GetEnvironmentVariables : () => environment });
        return builder.Build();
    }
}
