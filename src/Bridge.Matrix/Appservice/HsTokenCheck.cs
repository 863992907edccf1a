using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;

namespace Bridge.Matrix.Appservice;

/// <summary>Authenticates the homeserver: <c>Authorization: Bearer</c> or the legacy <c>?access_token=</c>, compared in constant time.</summary>
internal sealed class HsTokenCheck(string hsToken)
{
    private readonly byte[] _expected = SHA256.HashData(Encoding.UTF8.GetBytes(hsToken));

    public enum Outcome
    {
        Ok,
        Missing,
        Wrong,
    }

    public Outcome Check(HttpRequest request)
    {
        string? header = null;
        var authorization = request.Headers.Authorization.ToString();
        if (authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            header = authorization["Bearer ".Length..].Trim();
        }

        var query = request.Query.TryGetValue("access_token", out var q) ? q.ToString() : null;
        if (string.IsNullOrEmpty(header) && string.IsNullOrEmpty(query))
        {
            return Outcome.Missing;
        }

        // When both are sent they must both be right (the spec asks that they match).
        var headerOk = string.IsNullOrEmpty(header) || Matches(header);
        var queryOk = string.IsNullOrEmpty(query) || Matches(query);
        return headerOk && queryOk ? Outcome.Ok : Outcome.Wrong;
    }

    private bool Matches(string token)
    {
        // Hashing first gives equal-length inputs, so the comparison time reveals nothing about the token.
        var actual = SHA256.HashData(Encoding.UTF8.GetBytes(token));
        return CryptographicOperations.FixedTimeEquals(actual, _expected);
    }
}
