using Bridge.Core.Connectors;
using Bridge.Host.Composition;
using Bridge.Host.Configuration;
using Microsoft.Extensions.Configuration;

namespace Bridge.Host.Cli;

/// <summary>Loads and validates configuration for a verb, printing every problem with the key it concerns.</summary>
internal static class ConfigLoading
{
    public static (IConfigurationRoot? Root, HostSettings? Settings) Load(FileInfo file, bool reloadOnChange, TextWriter errorOut)
    {
        var root = LoadRoot(file, reloadOnChange, errorOut);
        if (root is null)
        {
            return (null, null);
        }

        var (settings, errors) = SettingsReader.Read(root, BridgeHostFactory.ConnectorFactories());
        if (errors.Count > 0 || settings is null)
        {
            Print(errorOut, file, errors);
            (root as IDisposable)?.Dispose();
            return (null, null);
        }

        return (root, settings);
    }

    /// <summary>Only the <c>database:</c> section (for the audit verbs, which must work even when the rest is broken).</summary>
    public static DatabaseOptions? LoadDatabase(FileInfo file, TextWriter errorOut)
    {
        var root = LoadRoot(file, reloadOnChange: false, errorOut);
        if (root is null)
        {
            return null;
        }

        try
        {
            var errors = new List<ConfigError>();
            var database = SettingsReader.ReadDatabase(root, errors);
            if (errors.Count > 0 || database is null)
            {
                Print(errorOut, file, errors);
                return null;
            }

            return database;
        }
        finally
        {
            (root as IDisposable)?.Dispose();
        }
    }

    private static IConfigurationRoot? LoadRoot(FileInfo file, bool reloadOnChange, TextWriter errorOut)
    {
        try
        {
            return BridgeConfiguration.Load(file.FullName, reloadOnChange);
        }
        catch (Exception ex) when (ex is FileNotFoundException or FormatException or InvalidDataException or IOException)
        {
            // The file provider wraps the parser's message (which names the line); show the innermost.
            var inner = ex;
            while (inner.InnerException is not null)
            {
                inner = inner.InnerException;
            }

            errorOut.WriteLine($"error: {file.FullName}: {inner.Message}");
            return null;
        }
    }

    public static void Print(TextWriter errorOut, FileInfo file, IReadOnlyList<ConfigError> errors)
    {
        errorOut.WriteLine($"error: {file.FullName} has {errors.Count} problem(s):");
        foreach (var e in errors)
        {
            errorOut.WriteLine($"  {e.Key}: {e.Message}");
        }
    }
}
