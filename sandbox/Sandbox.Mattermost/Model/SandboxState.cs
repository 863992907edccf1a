using System.Text;
using System.Text.Json.Nodes;
using Sandbox.Mattermost.Http;
using Sandbox.Mattermost.WebSockets;

namespace Sandbox.Mattermost.Model;

/// <summary>
/// The whole server state, in memory, behind one lock. Domain rules live here so that the HTTP layer stays a thin
/// translation; events are published while the lock is held so that their order equals the commit order.
/// </summary>
internal sealed partial class SandboxState
{
    private static readonly TimeSpan PendingPostTtl = TimeSpan.FromSeconds(30);

    private readonly Dictionary<string, UserRecord> _users = [];
    private readonly Dictionary<string, TeamRecord> _teams = [];
    private readonly Dictionary<string, ChannelRecord> _channels = [];
    private readonly Dictionary<string, PostRecord> _posts = [];
    private readonly List<ReactionRecord> _reactions = [];
    private readonly Dictionary<string, FileRecord> _files = [];
    private readonly Dictionary<string, AccessTokenRecord> _accessTokens = [];
    private readonly Dictionary<string, SessionRecord> _sessions = [];
    private readonly HashSet<(string TeamId, string UserId)> _teamMembers = [];
    private readonly Dictionary<string, Dictionary<string, ChannelMemberRecord>> _channelMembers = [];
    private readonly Dictionary<string, (string PostId, DateTimeOffset At)> _pendingPosts = [];
    private long _lastNow;

    public SandboxState(SandboxSettings settings, TimeProvider time)
    {
        Settings = settings;
        Time = time;
    }

    public object Gate { get; } = new();
    public SandboxSettings Settings { get; }
    public TimeProvider Time { get; }

    /// <summary>Receives every event; set by the WebSocket hub.</summary>
    public Action<WsEvent>? Publish { get; set; }

    public long Now()
    {
        lock (Gate)
        {
            var now = Time.GetUtcNow().ToUnixTimeMilliseconds();
            _lastNow = Math.Max(_lastNow, now);
            return _lastNow;
        }
    }

    // ------------------------------------------------------------------ sessions

    public (SessionRecord Session, UserRecord User)? Authenticate(string? token)
    {
        if (string.IsNullOrEmpty(token))
        {
            return null;
        }
        lock (Gate)
        {
            if (!_sessions.TryGetValue(token, out var session))
            {
                if (!_accessTokens.TryGetValue(token, out var pat) || !pat.IsActive)
                {
                    return null;
                }
                session = new SessionRecord(token, pat.UserId, pat.Id);
            }
            if (!_users.TryGetValue(session.UserId, out var user) || user.DeleteAt != 0)
            {
                return null;
            }
            return (session, user);
        }
    }

    public (UserRecord User, string Token) Login(string loginId, string password)
    {
        lock (Gate)
        {
            var key = loginId.ToLowerInvariant();
            var user = _users.Values.FirstOrDefault(u => u.Username == key || u.Email == key);
            if (user is null || user.IsBot || user.DeleteAt != 0 || user.Password != password)
            {
                throw new MmApiException(401, "api.user.login.invalid_credentials_email_username", "Enter a valid email or username and/or password.");
            }
            var token = MmIds.NewId();
            _sessions[token] = new SessionRecord(token, user.Id, null);
            return (user, token);
        }
    }

    public void Logout(string token)
    {
        lock (Gate)
        {
            _sessions.Remove(token);
        }
    }

    // ------------------------------------------------------------------ users

    public UserRecord GetUser(string id)
    {
        lock (Gate)
        {
            return _users.TryGetValue(id, out var u)
                ? u
                : throw new MmApiException(404, "app.user.missing_account.const", "Unable to find the user.");
        }
    }

    public UserRecord? FindUserByUsername(string username)
    {
        lock (Gate)
        {
            var key = UsernameRules.Normalize(username);
            return _users.Values.FirstOrDefault(u => u.Username == key);
        }
    }

    public IReadOnlyList<UserRecord> AllUsers()
    {
        lock (Gate)
        {
            return [.. _users.Values];
        }
    }

    public UserRecord CreateUser(UserRecord? actor, JsonObject body, bool bypassPermissions = false)
    {
        lock (Gate)
        {
            if (!bypassPermissions && actor?.IsAdmin != true)
            {
                throw new MmApiException(403, "api.user.create_user.no_open_server", "This server does not allow signups. Please speak with your System Administrator to receive an invitation.");
            }
            var username = UsernameRules.Normalize(Str(body, "username"));
            var email = Str(body, "email").ToLowerInvariant();
            var password = Str(body, "password");
            ValidateNewUsername(username);
            if (!UsernameRules.IsValidEmail(email))
            {
                throw new MmApiException(400, "model.user.is_valid.email.app_error", "Invalid email.");
            }
            if (_users.Values.Any(u => u.Email == email))
            {
                throw new MmApiException(400, "app.user.save.email_exists.app_error", "An account with that email already exists.");
            }
            if (password.Length < 8 || Encoding.UTF8.GetByteCount(password) > 72)
            {
                throw new MmApiException(400, "model.user.is_valid.pwd_length.app_error", "Your password must contain between 8 and 72 characters.");
            }
            var now = Now();
            var user = new UserRecord
            {
                Id = MmIds.NewId(),
                Username = username,
                Email = email,
                Password = password,
                FirstName = CheckedName(body, "first_name"),
                LastName = CheckedName(body, "last_name"),
                Nickname = CheckedName(body, "nickname"),
                CreateAt = now,
                UpdateAt = now,
                EmailVerified = bypassPermissions || (actor?.IsAdmin == true && body["email_verified"]?.GetValueKind() == System.Text.Json.JsonValueKind.True),
                Props = body["props"] as JsonObject is { } p ? (JsonObject)p.DeepClone() : [],
            };
            _users[user.Id] = user;
            return user;
        }
    }

    /// <summary>Creates a user with no permission check, for seeding.</summary>
    public UserRecord SeedUser(string username, string password, string roles, string? email = null)
    {
        lock (Gate)
        {
            var user = CreateUser(null, new JsonObject
            {
                ["username"] = username,
                ["password"] = password,
                ["email"] = email ?? $"{UsernameRules.Normalize(username)}@sandbox.localhost",
            }, bypassPermissions: true);
            user.Roles = roles;
            return user;
        }
    }

    private void ValidateNewUsername(string username)
    {
        if (!UsernameRules.IsValid(username))
        {
            throw new MmApiException(400, "model.user.is_valid.username.app_error",
                "Username must begin with a letter and contain between 3 and 22 characters including numbers, lowercase letters, and the symbols \".\", \"-\", and \"_\".",
                $"user_id=");
        }
        if (_users.Values.Any(u => u.Username == username))
        {
            throw new MmApiException(400, "app.user.save.username_exists.app_error", "An account with that username already exists.");
        }
    }

    private static string CheckedName(JsonObject body, string field)
    {
        var value = Str(body, field);
        if (value.EnumerateRunes().Count() > 64)
        {
            throw new MmApiException(400, $"model.user.is_valid.{field}.app_error", $"Invalid {field.Replace('_', ' ')}.");
        }
        return value;
    }

    public UserRecord PatchUser(UserRecord actor, string userId, JsonObject patch)
    {
        lock (Gate)
        {
            var user = GetUser(userId);
            if (actor.Id != user.Id && !actor.IsAdmin && !(user.IsBot && user.BotOwnerId == actor.Id))
            {
                throw MmApiException.Forbidden();
            }
            if (patch["username"] is not null)
            {
                var name = UsernameRules.Normalize(Str(patch, "username"));
                if (name != user.Username)
                {
                    ValidateNewUsername(name);
                    user.Username = name;
                }
            }
            if (patch["first_name"] is not null)
            {
                user.FirstName = CheckedName(patch, "first_name");
            }
            if (patch["last_name"] is not null)
            {
                user.LastName = CheckedName(patch, "last_name");
            }
            if (patch["nickname"] is not null)
            {
                user.Nickname = CheckedName(patch, "nickname");
            }
            if (patch["position"] is not null)
            {
                user.Position = Str(patch, "position");
            }
            if (patch["props"] is JsonObject props)
            {
                user.Props = (JsonObject)props.DeepClone();
            }
            user.UpdateAt = Now();
            PublishUserUpdated(user);
            return user;
        }
    }

    private void PublishUserUpdated(UserRecord user)
    {
        var json = user.ToJson();
        json["email"] = ""; // sanitized for other users
        Publish?.Invoke(new WsEvent("user_updated", new JsonObject { ["user"] = json }, new WsBroadcast()));
    }

    /// <summary>
    /// Only the user or someone with edit_other_users (a system admin) may set a picture. The server decodes the upload
    /// and refuses what is not an image it can read (400 <c>decode</c>); it keeps PNG, JPEG, GIF, BMP and WebP here.
    /// </summary>
    public void RequireMayEditUser(UserRecord actor, string userId)
    {
        lock (Gate)
        {
            var user = GetUser(userId);
            if (actor.Id != user.Id && !actor.IsAdmin)
            {
                throw MmApiException.Forbidden();
            }
        }
    }

    public void SetProfileImage(UserRecord actor, string userId, byte[] data)
    {
        var type = PictureType(data)
            ?? throw new MmApiException(400, "api.user.upload_profile_user.decode.app_error", "Could not decode profile image.");
        lock (Gate)
        {
            var user = GetUser(userId);
            if (actor.Id != user.Id && !actor.IsAdmin)
            {
                throw MmApiException.Forbidden();
            }
            user.Picture = (data, type);
            user.LastPictureUpdate = Math.Max(Now(), user.LastPictureUpdate + 1);
            user.UpdateAt = user.LastPictureUpdate;
            PublishUserUpdated(user);
        }
    }

    /// <summary>
    /// <c>DELETE /users/{id}/image</c>: the server's drawn picture again. As current servers' store does, last_picture_update
    /// becomes minus the time (older releases wrote 0) and update_at moves; the user itself or an account with
    /// edit_other_users only.
    /// </summary>
    public void ResetProfileImage(UserRecord actor, string userId)
    {
        lock (Gate)
        {
            var user = GetUser(userId);
            if (actor.Id != user.Id && !actor.IsAdmin)
            {
                throw MmApiException.Forbidden();
            }
            user.Picture = null;
            user.UpdateAt = Math.Max(Now(), user.UpdateAt + 1);
            user.LastPictureUpdate = -user.UpdateAt;
            PublishUserUpdated(user);
        }
    }

    /// <summary>Counts one read of a user's picture (<c>GET /users/{id}/image</c>); tests see how often clients asked.</summary>
    public void CountPictureRead(string userId) => _pictureReads.AddOrUpdate(userId, 1, (_, n) => n + 1);

    public int PictureReads(string userId) => _pictureReads.GetValueOrDefault(userId);

    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, int> _pictureReads = new(StringComparer.Ordinal);

    private static string? PictureType(ReadOnlySpan<byte> d) =>
        d.Length >= 8 && d[..8].SequenceEqual((ReadOnlySpan<byte>)[0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) ? "image/png"
        : d.Length >= 3 && d[0] == 0xFF && d[1] == 0xD8 && d[2] == 0xFF ? "image/jpeg"
        : d.Length >= 6 && (d[..6].SequenceEqual("GIF87a"u8) || d[..6].SequenceEqual("GIF89a"u8)) ? "image/gif"
        : d.Length >= 2 && d[0] == (byte)'B' && d[1] == (byte)'M' ? "image/bmp"
        : d.Length >= 12 && d[..4].SequenceEqual("RIFF"u8) && d[8..12].SequenceEqual("WEBP"u8) ? "image/webp"
        : null;

    public void VerifyEmail(UserRecord actor, string userId)
    {
        lock (Gate)
        {
            RequireAdmin(actor);
            GetUser(userId).EmailVerified = true;
        }
    }

    public void UpdateRoles(UserRecord actor, string userId, string roles)
    {
        lock (Gate)
        {
            RequireAdmin(actor);
            var user = GetUser(userId);
            var parts = roles.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (parts.Contains("system_guest") != user.IsGuest)
            {
                throw new MmApiException(400, "api.users.update_user_roles.guest", "Guest roles cannot be changed with this call.");
            }
            user.Roles = string.Join(' ', parts);
            user.UpdateAt = Now();
        }
    }

    public void DemoteToGuest(UserRecord actor, string userId)
    {
        lock (Gate)
        {
            if (!Settings.EnableGuestAccounts)
            {
                throw new MmApiException(501, "api.users.demote_user_to_guest.guest_accounts_disabled", "Guest accounts are disabled.");
            }
            RequireAdmin(actor);
            var user = GetUser(userId);
            if (user.IsBot)
            {
                throw new MmApiException(400, "api.users.demote_user_to_guest.bot", "Bots cannot be guests.");
            }
            user.Roles = "system_guest";
            user.UpdateAt = Now();
        }
    }

    public UserRecord CreateBot(UserRecord actor, JsonObject body)
    {
        lock (Gate)
        {
            if (!Settings.EnableBotAccountCreation)
            {
                throw new MmApiException(403, "api.bot.create_disabled", "Bot creation has been disabled.");
            }
            if (actor.IsBot || !actor.IsAdmin)
            {
                throw MmApiException.Forbidden();
            }
            var username = UsernameRules.Normalize(Str(body, "username"));
            ValidateNewUsername(username);
            var displayName = Str(body, "display_name");
            if (displayName.EnumerateRunes().Count() > 64)
            {
                throw new MmApiException(400, "model.bot.is_valid.username.app_error", "Invalid display name.");
            }
            var now = Now();
            var bot = new UserRecord
            {
                Id = MmIds.NewId(),
                Username = username,
                Email = $"{username}@localhost",
                FirstName = displayName,
                IsBot = true,
                BotDescription = Str(body, "description"),
                BotOwnerId = actor.Id,
                CreateAt = now,
                UpdateAt = now,
            };
            _users[bot.Id] = bot;
            return bot;
        }
    }

    public AccessTokenRecord CreateAccessToken(UserRecord actor, string userId, string description)
    {
        lock (Gate)
        {
            if (string.IsNullOrEmpty(description) || description.Length > 255)
            {
                throw MmApiException.InvalidParam("description");
            }
            var target = GetUser(userId);
            var ownsBot = target.IsBot && target.BotOwnerId == actor.Id;
            if (actor.Id != target.Id && !actor.IsAdmin && !ownsBot)
            {
                throw MmApiException.Forbidden();
            }
            if (!actor.IsAdmin && !actor.HasRole("system_user_access_token") && !ownsBot)
            {
                throw MmApiException.Forbidden();
            }
            if (!Settings.EnableUserAccessTokens && !target.IsBot)
            {
                throw new MmApiException(501, "app.user_access_token.disabled",
                    "Personal access tokens are disabled on this server. Please contact your system administrator for details.");
            }
            var token = new AccessTokenRecord { Id = MmIds.NewId(), Token = MmIds.NewId(), UserId = target.Id, Description = description };
            _accessTokens[token.Token] = token;
            return token;
        }
    }

    /// <summary>A personal access token minted without the HTTP gate, for seeding.</summary>
    public string SeedAccessToken(string userId)
    {
        lock (Gate)
        {
            var token = new AccessTokenRecord { Id = MmIds.NewId(), Token = MmIds.NewId(), UserId = userId, Description = "seed" };
            _accessTokens[token.Token] = token;
            return token.Token;
        }
    }

    public void RevokeAccessToken(UserRecord actor, string tokenId)
    {
        lock (Gate)
        {
            var token = _accessTokens.Values.FirstOrDefault(t => t.Id == tokenId)
                ?? throw new MmApiException(404, "app.user_access_token.get_by_token.app_error", "Unable to find the token.");
            if (token.UserId != actor.Id && !actor.IsAdmin)
            {
                throw MmApiException.Forbidden();
            }
            _accessTokens.Remove(token.Token);
        }
    }

    private static void RequireAdmin(UserRecord actor)
    {
        if (!actor.IsAdmin)
        {
            throw MmApiException.Forbidden();
        }
    }

    internal static string Str(JsonObject body, string name) =>
        body[name] is JsonValue v && v.TryGetValue<string>(out var s) ? s : "";
}
