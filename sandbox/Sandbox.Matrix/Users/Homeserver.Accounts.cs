using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Sandbox.Matrix.Appservices;
using Sandbox.Matrix.Errors;
using Sandbox.Matrix.Http;
using Sandbox.Matrix.Users;

namespace Sandbox.Matrix.Hosting;

/// <summary>Accounts: registration (user-interactive and appservice), login, tokens.</summary>
internal sealed partial class Homeserver
{
    private const string DummyAuth = "m.login.dummy";
    private const string AppserviceLogin = "m.login.application_service";

    public (string UserId, string? AccessToken, string? DeviceId) CreateUser(string localpart, string? password,
        AppserviceRegistration? owner = null, bool issueToken = true, string? deviceId = null)
    {
        lock (_gate)
        {
            return CreateUserLocked(localpart, password, owner, issueToken, deviceId);
        }
    }

    private (string UserId, string? AccessToken, string? DeviceId) CreateUserLocked(string localpart, string? password,
        AppserviceRegistration? owner, bool issueToken, string? deviceId)
    {
        var userId = "@" + localpart + ":" + ServerName;
        if (_users.ContainsKey(userId))
        {
            throw new MatrixException(400, ErrorCodes.UserInUse, "User ID already taken.");
        }

        _users[userId] = new UserAccount(userId) { Password = password, CreatedBy = owner, DisplayName = localpart };
        if (!issueToken)
        {
            return (userId, null, null);
        }

        var (token, device) = IssueTokenLocked(userId, deviceId);
        return (userId, token, device);
    }

    private (string Token, string DeviceId) IssueTokenLocked(string userId, string? deviceId)
    {
        var token = Ids.AccessToken();
        var device = string.IsNullOrEmpty(deviceId) ? Ids.DeviceId() : deviceId;
        _tokens[token] = new AccessTokenInfo(token, userId, device);
        return (token, device);
    }

    public bool UserExists(string userId)
    {
        lock (_gate)
        {
            return _users.ContainsKey(userId);
        }
    }

    public (string UserId, string AccessToken) LoginAs(string userId)
    {
        lock (_gate)
        {
            if (!_users.ContainsKey(userId))
            {
                throw MatrixException.NotFound("Unknown user " + userId);
            }

            var (token, _) = IssueTokenLocked(userId, null);
            return (userId, token);
        }
    }

    public JsonObject Register(HttpRequest request, JsonObject body)
    {
        var type = JsonBody.OptString(body, "type") ?? (body["auth"] as JsonObject)?["type"]?.GetValue<string>();
        var username = JsonBody.OptString(body, "username");
        var inhibitLogin = JsonBody.OptBool(body, "inhibit_login");
        var deviceId = JsonBody.OptString(body, "device_id");
        if (request.Query["kind"].ToString() == "guest")
        {
            throw new MatrixException(403, "M_GUEST_ACCESS_FORBIDDEN", "Guest access is disabled");
        }

        lock (_gate)
        {
            if (type == AppserviceLogin)
            {
                return RegisterAppserviceUserLocked(request, username, inhibitLogin, deviceId);
            }

            if (username is not null)
            {
                username = username.ToLowerInvariant();
                var userId = "@" + username + ":" + ServerName;
                ValidateLocalpart(username, userId);
                if (ExclusiveOwnerOfUserLocked(userId) is not null)
                {
                    throw new MatrixException(400, ErrorCodes.Exclusive, "This user ID is reserved by an application service.");
                }

                if (username.StartsWith('_'))
                {
                    throw new MatrixException(400, ErrorCodes.InvalidUsername, "User ID may not begin with _");
                }

                if (_users.ContainsKey(userId))
                {
                    throw new MatrixException(400, ErrorCodes.UserInUse, "User ID already taken.");
                }
            }

            if (body["auth"] is not JsonObject auth)
            {
                var session = Ids.Session();
                _uiaSessions.Add(session);
                throw UiaChallenge(session);
            }

            if (JsonBody.OptString(auth, "type") != DummyAuth)
            {
                throw new MatrixException(400, ErrorCodes.Unrecognized, "Unrecognised auth stage type");
            }

            var sessionId = JsonBody.OptString(auth, "session");
            if (sessionId is not null && !_uiaSessions.Remove(sessionId))
            {
                throw new MatrixException(400, ErrorCodes.Unknown, "Unknown UIA session");
            }

            var localpart = username ?? Ids.Localpart();
            var created = CreateUserLocked(localpart, JsonBody.OptString(body, "password"), null, !inhibitLogin, deviceId);
            return RegisterResponse(created);
        }
    }

    private JsonObject RegisterAppserviceUserLocked(HttpRequest request, string? username, bool inhibitLogin, string? deviceId)
    {
        var token = ReadAccessToken(request) ?? throw new MatrixException(401, ErrorCodes.MissingToken, "Missing access token");
        var reg = _appservices.Values.Select(p => p.Registration).FirstOrDefault(r => r.AsToken == token)
            ?? throw new MatrixException(401, ErrorCodes.UnknownToken, "Unrecognised access token");
        if (string.IsNullOrEmpty(username))
        {
            throw MatrixException.MissingParam("username is required for m.login.application_service");
        }

        username = username.StartsWith('@') ? username[1..].Split(':')[0] : username;
        var userId = "@" + username + ":" + ServerName;
        ValidateLocalpart(username, userId);
        if (!reg.IsUserInNamespace(userId, ServerName))
        {
            throw new MatrixException(400, ErrorCodes.Exclusive, "This user ID is not in the application service's namespace.");
        }

        var created = CreateUserLocked(username, null, reg, !inhibitLogin, deviceId);
        return RegisterResponse(created);
    }

    private static JsonObject RegisterResponse((string UserId, string? AccessToken, string? DeviceId) created)
    {
        var response = new JsonObject { ["user_id"] = created.UserId };
        if (created.AccessToken is not null)
        {
            response["access_token"] = created.AccessToken;
            response["device_id"] = created.DeviceId;
        }

        return response;
    }

    private static MatrixException UiaChallenge(string session)
    {
        // The 401 of user-interactive authentication is not an error body: it lists the flows.
        var ex = new MatrixException(401, string.Empty, "User-interactive authentication required", new JsonObject
        {
            ["flows"] = new JsonArray(new JsonObject { ["stages"] = new JsonArray(DummyAuth) }),
            ["params"] = new JsonObject(),
            ["session"] = session,
        });
        return ex;
    }

    private static void ValidateLocalpart(string localpart, string userId)
    {
        if (localpart.Length == 0 || userId.Length > 255 || !localpart.All(IsLocalpartChar))
        {
            throw new MatrixException(400, ErrorCodes.InvalidUsername, "User ID can only contain characters a-z, 0-9, or '=_-./+'");
        }
    }

    private static bool IsLocalpartChar(char c) =>
        c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '.' or '_' or '=' or '-' or '/' or '+';

    public JsonObject Login(HttpRequest request, JsonObject body)
    {
        var type = JsonBody.OptString(body, "type") ?? throw MatrixException.MissingParam("type is required");
        var user = (body["identifier"] as JsonObject)?["user"]?.GetValue<string>() ?? JsonBody.OptString(body, "user")
            ?? throw MatrixException.MissingParam("identifier.user is required");
        var userId = user.StartsWith('@') ? user : "@" + user + ":" + ServerName;
        var deviceId = JsonBody.OptString(body, "device_id");
        lock (_gate)
        {
            if (type == AppserviceLogin)
            {
                var token = ReadAccessToken(request) ?? throw new MatrixException(401, ErrorCodes.MissingToken, "Missing access token");
                var reg = _appservices.Values.Select(p => p.Registration).FirstOrDefault(r => r.AsToken == token)
                    ?? throw new MatrixException(401, ErrorCodes.UnknownToken, "Unrecognised access token");
                if (!reg.IsUserInNamespace(userId, ServerName))
                {
                    throw new MatrixException(400, ErrorCodes.Exclusive, "This user ID is not in the application service's namespace.");
                }
            }
            else if (type == "m.login.password")
            {
                var password = JsonBody.OptString(body, "password");
                if (!_users.TryGetValue(userId, out var account) || account.Password is null || account.Password != password)
                {
                    throw MatrixException.Forbidden("Invalid username or password");
                }
            }
            else
            {
                throw new MatrixException(400, ErrorCodes.Unknown, "Unknown login type " + type);
            }

            if (!_users.ContainsKey(userId))
            {
                throw MatrixException.Forbidden("Invalid username or password");
            }

            var (accessToken, device) = IssueTokenLocked(userId, deviceId);
            return new JsonObject
            {
                ["user_id"] = userId,
                ["access_token"] = accessToken,
                ["device_id"] = device,
                ["home_server"] = ServerName,
            };
        }
    }

    public void Logout(string token)
    {
        lock (_gate)
        {
            _tokens.Remove(token);
        }
    }

    /// <summary>Makes sure a user a client refers to exists, asking the owning appservice first like real homeservers do.</summary>
    public async Task<bool> EnsureUserKnownAsync(string userId, CancellationToken ct)
    {
        AppserviceRegistration? owner;
        lock (_gate)
        {
            if (_users.ContainsKey(userId))
            {
                return true;
            }

            owner = InterestedInUserLocked(userId);
        }

        if (owner is null)
        {
            return false;
        }

        await Queries.QueryUserAsync(owner, userId, ct);
        return UserExists(userId);
    }
}
