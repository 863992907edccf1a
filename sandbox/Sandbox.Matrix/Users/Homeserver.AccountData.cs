using System.Text.Json.Nodes;
using Sandbox.Matrix.Errors;
using Sandbox.Matrix.Users;

namespace Sandbox.Matrix.Hosting;

/// <summary>
/// Global client config ("account data", client-server API §Client Config): <c>GET</c>/<c>PUT
/// /user/{userId}/account_data/{type}</c>, each user's own only, and in <c>/sync</c>'s top-level <c>account_data</c>.
/// </summary>
internal sealed partial class Homeserver
{
    private readonly Dictionary<(string UserId, string Type), (JsonObject Content, long Position)> _accountData = [];

    public JsonObject GetAccountData(Principal principal, string userId, string type)
    {
        CheckOwnAccountData(principal, userId);
        lock (_gate)
        {
            return _accountData.TryGetValue((userId, type), out var data)
                ? (JsonObject)data.Content.DeepClone()
                : throw MatrixException.NotFound("Account data not found");
        }
    }

    public void SetAccountData(Principal principal, string userId, string type, JsonObject content)
    {
        CheckOwnAccountData(principal, userId);
        if (type == "m.fully_read")
        {
            // The spec: "This type of account data is controlled by the server; it cannot be modified by clients."
            throw new MatrixException(405, ErrorCodes.BadJson, "Cannot set m.fully_read through this API");
        }

        if (type == "m.push_rules")
        {
            throw MatrixException.BadJson("Cannot set m.push_rules through this API");
        }

        lock (_gate)
        {
            _accountData[(userId, type)] = ((JsonObject)content.DeepClone(), ++_position);
        }

        Notifier.Notify();
    }

    /// <summary>The user's account data changed after <paramref name="since"/>, as sync's <c>account_data.events</c>.</summary>
    private JsonArray AccountDataSinceLocked(string userId, long since)
    {
        var events = new JsonArray();
        foreach (var ((owner, type), (content, position)) in _accountData.OrderBy(kv => kv.Value.Position))
        {
            if (owner == userId && position > since)
            {
                events.Add(new JsonObject { ["type"] = type, ["content"] = content.DeepClone() });
            }
        }

        return events;
    }

    private static void CheckOwnAccountData(Principal principal, string userId)
    {
        if (principal.UserId != userId)
        {
            throw MatrixException.Forbidden("Cannot access account data for other users.");
        }
    }
}
