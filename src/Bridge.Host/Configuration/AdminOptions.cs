using System.Net;
using Bridge.Core.Connectors;
using Bridge.Host.Admin.Access;

namespace Bridge.Host.Configuration;

/// <summary>The admin HTTP API (<c>admin:</c>).</summary>
internal sealed class AdminOptions
{
    /// <summary>Where the admin HTTP API listens, e.g. <c>http://127.0.0.1:9480</c>; empty turns it off.</summary>
    public string Listen { get; set; } = "";

    /// <summary>
    /// Bearer tokens by name (the name is what the audit trail records as who made a change): each a
    /// <c>hash</c> (<c>sha256:&lt;hex&gt;</c>, from <c>bridge admin hash-token</c>) and a <c>role</c> (<c>viewer</c> or <c>operator</c>).
    /// </summary>
    public Dictionary<string, AdminTokenOptions> Tokens { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>
    /// Validates the tokens and the binding. A listener beyond loopback without a token is an error: a configuration
    /// mistake must never open the bridge's controls to the network.
    /// </summary>
    public AdminTokens Validate(List<ConfigError> errors)
    {
        ArgumentNullException.ThrowIfNull(errors);
        var tokens = new List<(string, TokenHash, AdminRole)>();
        foreach (var (name, token) in Tokens.OrderBy(t => t.Key, StringComparer.Ordinal))
        {
            var hash = TokenHash.Parse(token.Hash, out var problem);
            if (hash is null)
            {
                errors.Add(new ConfigError($"admin:tokens:{name}:hash", problem!));
            }

            AdminRole? role = token.Role?.Trim().ToLowerInvariant() switch
            {
                "viewer" => AdminRole.Viewer,
                "operator" => AdminRole.Operator,
                _ => null,
            };
            if (role is null)
            {
                errors.Add(new ConfigError($"admin:tokens:{name}:role", $"'{token.Role}' is not a role: use viewer (read) or operator (read and change)"));
            }

            if (hash is not null && role is { } r)
            {
                tokens.Add((name, hash, r));
            }
        }

        if (Listen.Length > 0)
        {
            // Kestrel takes * and + for "every address"; Uri does not: read them as the wildcard they are.
            var parsable = System.Text.RegularExpressions.Regex.Replace(Listen, @"^(https?://)[*+](?=[:/]|$)", "${1}0.0.0.0");
            if (!Uri.TryCreate(parsable, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
            {
                errors.Add(new ConfigError("admin:listen", $"'{Listen}' is not an http(s) URL such as http://127.0.0.1:9480"));
            }
            else if (!IsLoopback(uri) && Tokens.Count == 0)
            {
                errors.Add(new ConfigError("admin:tokens",
                    $"required: admin:listen ({Listen}) is reachable beyond this machine, so the admin API needs at least one token " +
                    "(bridge admin hash-token --generate); or listen on 127.0.0.1"));
            }
        }

        return new AdminTokens(tokens);
    }

    /// <summary>True when the listener only accepts connections from this machine (127.0.0.0/8, ::1, localhost).</summary>
    public static bool IsLoopback(Uri uri)
    {
        ArgumentNullException.ThrowIfNull(uri);
        var host = uri.Host.Trim('[', ']');
        if (host.Equals("localhost", StringComparison.OrdinalIgnoreCase))
        {
            return true;
        }

        // Wildcards (*, +, 0.0.0.0, ::) and names bind beyond loopback.
        return IPAddress.TryParse(host, out var address) && IPAddress.IsLoopback(address);
    }
}

/// <summary>One admin API token (<c>admin:tokens:&lt;name&gt;</c>).</summary>
internal sealed class AdminTokenOptions
{
    /// <summary><c>sha256:&lt;64 hex digits&gt;</c>: the SHA-256 of the token (never the token itself).</summary>
    public string? Hash { get; set; }

    /// <summary><c>viewer</c> (read) or <c>operator</c> (read and change).</summary>
    public string? Role { get; set; }
}
