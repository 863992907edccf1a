using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using Bridge.Matrix.Configuration;
using Bridge.Matrix.Connector;
using Microsoft.Extensions.Configuration;

namespace Bridge.Matrix.Registration;

/// <summary>
/// Writes the appservice registration a homeserver loads, from the bridge's Matrix settings: fresh random tokens,
/// exclusive user and alias namespaces derived from the puppet prefix and server name. Called by
/// <c>bridge generate-registration --config FILE --out registration.yaml</c>.
/// </summary>
public static class RegistrationGenerator
{
    /// <summary>Renders the YAML for the given settings with new tokens.</summary>
    public static string Render(MatrixOptions options, string? asToken = null, string? hsToken = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        var url = options.AppserviceUrl ?? options.Listen;
        var prefix = Regex.Escape(options.PuppetPrefix);
        var server = Regex.Escape(options.ServerName);
        var sb = new StringBuilder();
        sb.AppendLine("# Appservice registration for the bridge. Load it in the homeserver (see docs/matrix.md).");
        sb.AppendLine("# The tokens are secrets: keep this file readable only by the homeserver and the bridge.");
        sb.AppendLine("id: " + Quote(options.AppserviceId));
        sb.AppendLine("url: " + Quote(url));
        sb.AppendLine("as_token: " + Quote(asToken ?? NewToken()));
        sb.AppendLine("hs_token: " + Quote(hsToken ?? NewToken()));
        sb.AppendLine("sender_localpart: " + Quote(options.BotLocalpart));
        sb.AppendLine("rate_limited: false");
        sb.AppendLine("# Typing (m.typing) in transactions: the spec's key (v1.13) and MSC2409's unstable one, which Synapse reads.");
        sb.AppendLine("receive_ephemeral: true");
        sb.AppendLine("de.sorunome.msc2409.push_ephemeral: true");
        sb.AppendLine("namespaces:");
        sb.AppendLine("  users:");
        sb.AppendLine("    - exclusive: true");
        sb.AppendLine("      regex: " + Quote("@" + prefix + ".*:" + server));
        if (!options.BotLocalpart.StartsWith(options.PuppetPrefix, StringComparison.Ordinal))
        {
            sb.AppendLine("    - exclusive: true");
            sb.AppendLine("      regex: " + Quote("@" + Regex.Escape(options.BotLocalpart) + ":" + server));
        }

        sb.AppendLine("  aliases:");
        sb.AppendLine("    - exclusive: true");
        sb.AppendLine("      regex: " + Quote("#" + prefix + ".*:" + server));
        sb.AppendLine("  rooms: []");
        return sb.ToString();
    }

    /// <summary>
    /// Writes a registration to <paramref name="outPath"/>. Refuses to replace a file that already holds tokens
    /// (the homeserver would still be using them) unless <paramref name="force"/> is set.
    /// </summary>
    public static async Task<GenerateResult> GenerateAsync(MatrixOptions options, string outPath, bool force, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = options.Validate("matrix", requireTokens: false);
        if (errors.Count > 0)
        {
            return new GenerateResult(false, string.Join("; ", errors));
        }

        if (File.Exists(outPath) && !force)
        {
            var existing = await File.ReadAllTextAsync(outPath, cancellationToken);
            if (existing.Contains("as_token", StringComparison.Ordinal) || existing.Contains("hs_token", StringComparison.Ordinal))
            {
                return new GenerateResult(false,
                    $"'{outPath}' already holds appservice tokens that the homeserver may be using; pass --force to replace them");
            }
        }

        var directory = Path.GetDirectoryName(Path.GetFullPath(outPath));
        if (directory is not null)
        {
            Directory.CreateDirectory(directory);
        }

        // Write then move, so a crash never leaves a half-written registration behind.
        var temp = outPath + ".tmp";
        await File.WriteAllTextAsync(temp, Render(options), cancellationToken);
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(temp, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead);
        }

        File.Move(temp, outPath, overwrite: true);
        return new GenerateResult(true, $"wrote {outPath}");
    }

    /// <summary>
    /// The <c>generate-registration</c> verb's whole job: finds the Matrix network in the bridge configuration
    /// (<paramref name="networkId"/> picks one when several are configured), then writes its registration.
    /// </summary>
    public static async Task<GenerateResult> GenerateFromConfigurationAsync(IConfiguration configuration, string? networkId, string outPath,
        bool force, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var matrixNetworks = configuration.GetSection("networks").GetChildren()
            .Where(n => string.Equals(n["kind"], "matrix", StringComparison.OrdinalIgnoreCase))
            .ToList();
        if (networkId is not null)
        {
            matrixNetworks = [.. matrixNetworks.Where(n => n.Key == networkId)];
        }

        switch (matrixNetworks.Count)
        {
            case 0:
                return new GenerateResult(false, networkId is null
                    ? "no network of kind 'matrix' is configured"
                    : $"network '{networkId}' is not configured with kind 'matrix'");
            case > 1:
                return new GenerateResult(false, "several Matrix networks are configured; choose one with --network: "
                    + string.Join(", ", matrixNetworks.Select(n => n.Key)));
            default:
                var section = matrixNetworks[0];
                var options = MatrixConnectorFactory.Bind(section);
                var target = outPath;
                var result = await GenerateAsync(options, target, force, cancellationToken);
                if (result.Success && options.RegistrationFile is { } configured
                    && !string.Equals(Path.GetFullPath(configured), Path.GetFullPath(target), StringComparison.Ordinal))
                {
                    return result with
                    {
                        Message = result.Message + $" (note: networks:{section.Key}:matrix:registrationFile points at {configured})",
                    };
                }

                return result;
        }
    }

    internal static string NewToken() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));

    private static string Quote(string value) => "'" + value.Replace("'", "''", StringComparison.Ordinal) + "'";
}

/// <summary>Outcome of <see cref="RegistrationGenerator.GenerateAsync"/>: success and a message for the operator.</summary>
public sealed record GenerateResult(bool Success, string Message);
