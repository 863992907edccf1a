using System.Security.Cryptography;
using System.Text;

namespace Bridge.Console.Tests;

/// <summary>Tokens for the daemon's admin API, and the <c>admin:</c> section that configures their hashes.</summary>
internal sealed class AdminTokens
{
    public string Operator { get; } = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));

    public string Viewer { get; } = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));

    public int Port { get; } = Bridge.Testing.FreePorts.Next();

    public Uri Url => new($"http://127.0.0.1:{Port}/");

    public string Yaml => $"""
        admin:
          listen: http://127.0.0.1:{Port}
          tokens:
            ops-team:
              hash: {Hash(Operator)}
              role: operator
            auditor:
              hash: {Hash(Viewer)}
              role: viewer
        """;

    private static string Hash(string token) => "sha256:" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(token)));
}
