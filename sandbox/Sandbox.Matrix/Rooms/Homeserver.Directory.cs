using System.Text.Json.Nodes;
using Sandbox.Matrix.Appservices;
using Sandbox.Matrix.Errors;
using Sandbox.Matrix.Users;

namespace Sandbox.Matrix.Hosting;

/// <summary>The room alias directory, including appservice alias queries for unknown namespaced aliases.</summary>
internal sealed partial class Homeserver
{
    public async Task<string> ResolveAliasAsync(string alias, CancellationToken ct)
    {
        AppserviceRegistration? owner;
        lock (_gate)
        {
            if (_aliases.TryGetValue(alias, out var roomId))
            {
                return roomId;
            }

            owner = InterestedInAliasLocked(alias);
        }

        if (owner is not null)
        {
            await Queries.QueryAliasAsync(owner, alias, ct);
            lock (_gate)
            {
                if (_aliases.TryGetValue(alias, out var roomId))
                {
                    return roomId;
                }
            }
        }

        throw MatrixException.NotFound($"Room alias {alias} not found");
    }

    public void PutAlias(Principal principal, string alias, string roomId)
    {
        if (!alias.StartsWith('#') || !alias.EndsWith(":" + ServerName, StringComparison.Ordinal))
        {
            throw new MatrixException(400, ErrorCodes.InvalidParam, "Room alias must be local: #name:" + ServerName);
        }

        lock (_gate)
        {
            CheckAliasClaimLocked(principal, alias);
            var room = RoomLocked(roomId);
            if (_aliases.ContainsKey(alias))
            {
                throw new MatrixException(409, ErrorCodes.Unknown, $"Room alias {alias} already exists");
            }

            _aliases[alias] = room.RoomId;
            _aliasCreators[alias] = principal.UserId;
            room.Aliases.Add(alias);
        }
    }

    public void DeleteAlias(Principal principal, string alias)
    {
        lock (_gate)
        {
            if (!_aliases.TryGetValue(alias, out var roomId))
            {
                throw MatrixException.NotFound($"Room alias {alias} not found");
            }

            var room = _rooms[roomId];
            var isCreator = _aliasCreators.TryGetValue(alias, out var creator) && creator == principal.UserId;
            var isOwningAppservice = principal.Appservice?.IsAliasInNamespace(alias) == true;
            if (!isCreator && !isOwningAppservice && room.UserLevel(principal.UserId) < room.RequiredLevel("m.room.canonical_alias", true))
            {
                throw MatrixException.Forbidden("You don't have permission to delete the alias.");
            }

            _aliases.Remove(alias);
            _aliasCreators.Remove(alias);
            room.Aliases.Remove(alias);
        }
    }

    public JsonObject AliasResponse(string roomId) =>
        new() { ["room_id"] = roomId, ["servers"] = new JsonArray(ServerName) };

    /// <summary>Exclusive alias namespaces: only the owning appservice may create aliases there.</summary>
    private void CheckAliasClaimLocked(Principal principal, string alias)
    {
        foreach (var pusher in _appservices.Values)
        {
            if (pusher.Registration.IsAliasExclusive(alias) && !ReferenceEquals(principal.Appservice, pusher.Registration))
            {
                throw new MatrixException(400, ErrorCodes.Exclusive, "Room alias is reserved by an application service.");
            }
        }
    }
}
