using System.Text.Json.Nodes;
using Sandbox.Matrix.Errors;
using Sandbox.Matrix.Users;

namespace Sandbox.Matrix.Hosting;

/// <summary>Profiles; a change is reflected into every joined room as a new member event, like Synapse does.</summary>
internal sealed partial class Homeserver
{
    public JsonObject GetProfile(string userId)
    {
        lock (_gate)
        {
            if (!_users.TryGetValue(userId, out var account))
            {
                throw MatrixException.NotFound("Profile was not found.");
            }

            var profile = new JsonObject();
            if (account.DisplayName is not null)
            {
                profile["displayname"] = account.DisplayName;
            }

            if (account.AvatarUrl is not null)
            {
                profile["avatar_url"] = account.AvatarUrl;
            }

            return profile;
        }
    }

    public void SetProfileField(Principal principal, string userId, string field, string? value)
    {
        lock (_gate)
        {
            if (!_users.TryGetValue(userId, out var account))
            {
                throw MatrixException.NotFound("Profile was not found.");
            }

            if (principal.UserId != userId)
            {
                throw MatrixException.Forbidden("Cannot set another user's profile");
            }

            if (field == "displayname")
            {
                account.DisplayName = value;
            }
            else
            {
                if (value is not null && value.Length > 0 && !value.StartsWith("mxc://", StringComparison.Ordinal))
                {
                    throw new MatrixException(400, ErrorCodes.InvalidParam, "avatar_url must be an mxc:// URI");
                }

                account.AvatarUrl = value;
            }

            foreach (var room in _rooms.Values)
            {
                if (room.Membership(userId) == "join")
                {
                    AppendLocked(room, "m.room.member", userId, MemberContent("join", account), userId, by: principal);
                }
            }
        }
    }

    private static JsonObject MemberContent(string membership, UserAccount? account)
    {
        var content = new JsonObject { ["membership"] = membership };
        if (account?.DisplayName is not null)
        {
            content["displayname"] = account.DisplayName;
        }

        if (account?.AvatarUrl is not null)
        {
            content["avatar_url"] = account.AvatarUrl;
        }

        return content;
    }
}
