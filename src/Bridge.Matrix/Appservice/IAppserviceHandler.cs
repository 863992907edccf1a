using System.Text.Json.Nodes;

namespace Bridge.Matrix.Appservice;

/// <summary>What the appservice listener asks of the connector once a request is authenticated and well-formed.</summary>
internal interface IAppserviceHandler
{
    /// <summary>
    /// Processes a transaction; returns only when its events are durable. Throwing makes the listener answer 500 (the
    /// homeserver retries). <paramref name="ephemeral"/> (typing) is never stored and never a reason to throw.
    /// </summary>
    Task HandleTransactionAsync(string txnId, byte[] body, JsonArray events, JsonArray ephemeral, CancellationToken cancellationToken);

    /// <summary>User query: true if the user exists (or was created now).</summary>
    Task<bool> QueryUserAsync(string userId, CancellationToken cancellationToken);

    /// <summary>Alias query: true if the alias exists (or was created now).</summary>
    Task<bool> QueryAliasAsync(string alias, CancellationToken cancellationToken);
}
