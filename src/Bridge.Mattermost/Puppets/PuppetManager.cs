using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Nodes;
using Bridge.Core.Model;
using Bridge.Core.Security;
using Bridge.Core.Storage;
using Bridge.Mattermost.Api;
using Microsoft.Extensions.Logging;

namespace Bridge.Mattermost.Puppets;

/// <summary>A Mattermost user that stands for one remote person, with its own personal access token.</summary>
internal sealed record PuppetRecord(string UserId, string Username, string? Token, string DisplayName, string? AvatarUrl = null, bool? Guest = null, string? AvatarHash = null);

/// <summary>
/// A puppet as its row keeps it, generated at build time (trimming, Native AOT): the serializer's plain defaults
/// (PascalCase names, nulls written), as the reflection-based serializer wrote the rows before, so they read the same.
/// </summary>
[JsonSerializable(typeof(PuppetRecord))]
internal sealed partial class PuppetRecordJson : JsonSerializerContext;

/// <summary>The server refused personal access tokens (501): the bridge must fall back to relay mode.</summary>
internal sealed class TokensForbiddenException(string message) : Exception(message);

/// <summary>
/// <c>guestPuppets: true</c> cannot be honoured (the server has guest accounts off, or refuses to make this user a
/// guest): the puppet is not created, or not used, rather than be a full member the operator did not want.
/// </summary>
internal sealed class GuestsUnavailableException(string message) : Exception(message);

/// <summary>
/// Creates and keeps puppets: a real user per remote person (server-valid, collision-free name, placeholder e-mail,
/// optionally a guest), added to the team and channel, with a token stored in the connector state.
/// </summary>
internal sealed partial class PuppetManager
{
    private const string PersonProp = "bridge_person";

    /// <summary>Each attempt is another hash-derived suffix; a second clash is already one in a billion.</summary>
    private const int MaxNameAttempts = 8;
    private readonly MattermostApiClient _api;
    private readonly IConnectorStateStore _state;
    private readonly string _scope;
    private readonly MattermostOptions _options;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<string, PuppetRecord> _byPerson = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, string> _personByUserId = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<(string UserId, string ChannelId), bool> _joined = new();
    private readonly SemaphoreSlim _gate = new(1, 1);
    private volatile string? _guestProblem;
    private readonly SecretProtector _secrets;

    private static readonly EventId TokenUnreadable = new(4301, nameof(TokenUnreadable));
    private static readonly EventId TokensMigrated = new(4302, nameof(TokensMigrated));

    public PuppetManager(MattermostApiClient api, IConnectorStateStore state, string networkId, MattermostOptions options, ILogger logger, SecretProtector? secrets = null)
    {
        _secrets = secrets ?? SecretProtector.None;
        _api = api;
        _state = state;
        _scope = $"mattermost:{networkId}:puppets";
        _options = options;
        _logger = logger;
    }


    public bool IsPuppet(string userId) => _personByUserId.ContainsKey(userId);

    /// <summary>Why guest puppets cannot be made right now (shown on <c>/healthz</c>); null when they can, or are not asked for.</summary>
    public string? GuestProblem => _guestProblem;

    /// <summary>
    /// With <c>guestPuppets</c>, asks the server whether guest accounts are on (<c>EnableGuestAccounts</c> in the client
    /// configuration, which a server without guests, or without the licence for them, leaves false or leaves out).
    /// Throws <see cref="GuestsUnavailableException"/> when they are not. Checked at start and before every puppet is
    /// created, so switching guests on in the System Console heals the bridge without a restart.
    /// </summary>
    public async Task RequireGuestAccountsAsync(string adminToken, CancellationToken ct)
    {
        if (!_options.GuestPuppets)
        {
            return;
        }

        var config = await _api.GetClientConfigAsync(adminToken, ct);
        if (!(config.TryGetValue("EnableGuestAccounts", out var enabled) && enabled == "true"))
        {
            throw Refuse("guest accounts are off on the Mattermost server (GuestAccountsSettings.Enable); guestPuppets: true needs them, so no puppet is created");
        }
    }

    private GuestsUnavailableException Refuse(string reason)
    {
        if (_guestProblem != reason)
        {
            _logger.LogError(MattermostLog.GuestUnavailable, "Puppets refused: {Reason}", reason);
        }

        _guestProblem = reason;
        return new GuestsUnavailableException(reason);
    }


    /// <summary>
    /// Loads the puppets. Tokens are stored encrypted (<see cref="SecretProtector"/>); a token stored in plain text by an
    /// older version is re-written encrypted (or, without a key and without <c>allowPlaintextSecrets</c>, removed from
    /// the store and kept in memory only). A token that does not open (another key, altered) is dropped with a warning:
    /// the puppet mints a new one at its next delivery.
    /// </summary>
    public async Task LoadAsync(CancellationToken ct)
    {
        var migrated = 0;
        foreach (var (key, json) in await _state.ListAsync(_scope, ct))
        {
            if (JsonSerializer.Deserialize(json, PuppetRecordJson.Default.PuppetRecord) is not { } stored)
            {
                continue;
            }

            var rec = stored;
            if (stored.Token is { } token)
            {
                switch (_secrets.Open(token, TokenContext(key), out var plain, out var problem))
                {
                    case StoredSecretKind.Encrypted:
                        rec = stored with { Token = plain };
                        break;
                    case StoredSecretKind.Plaintext:
                        if (_secrets.HasKey || !_secrets.AllowPlaintext)
                        {
                            await SaveAsync(key, stored, ct);
                            migrated++;
                        }

                        break;
                    default:
                        _logger.LogWarning(TokenUnreadable, "The stored token of puppet {Username} cannot be read ({Problem}); a new token will be minted", stored.Username, problem);
                        rec = stored with { Token = null };
                        break;
                }
            }

            _byPerson[key] = rec;
            _personByUserId[rec.UserId] = key;
        }

        if (migrated > 0)
        {
            _logger.LogInformation(TokensMigrated, "{Count} puppet token(s) stored in plain text were {Action}", migrated,
                _secrets.HasKey ? "encrypted in place" : "removed from the store (kept in memory; set database:secretsKey to keep them across restarts)");
        }
    }

    /// <summary>The puppet user of <paramref name="person"/>, created if needed, a guest where puppets must be, with a token. Under <c>_gate</c>.</summary>
    private async Task<PuppetRecord> UserWithTokenLockedAsync(PersonRef person, string adminToken, CancellationToken ct)
    {
        var rec = _byPerson.GetValueOrDefault(person.Key) ?? await CreateUserAsync(person, adminToken, ct);
        if (_options.GuestPuppets && rec.Guest != true)
        {
            // A puppet made before guestPuppets was set, or found again after a lost state: never used as a full member.
            rec = await MakeGuestAsync(person, rec, adminToken, ct);
        }

        return rec.Token is null ? await MintTokenAsync(person, rec, adminToken, ct) : rec;
    }

    /// <summary>The puppet for <paramref name="person"/>, created if needed, with its display name up to date and joined to the channel.</summary>
    public async Task<PuppetRecord> EnsureAsync(PersonRef person, string teamId, string channelId, string adminToken, CancellationToken ct)
    {
        await _gate.WaitAsync(ct);
        try
        {
            var rec = await UserWithTokenLockedAsync(person, adminToken, ct);
            if (rec.DisplayName != person.DisplayName)
            {
                var name = Truncate(person.DisplayName, 64);
                await _api.PatchUserAsync(rec.UserId, new MmUserPatch(name, "", name), adminToken, ct);
                rec = await SaveAsync(person.Key, rec with { DisplayName = person.DisplayName }, ct);
            }
            rec = await FollowAvatarAsync(person, rec, adminToken, ct);
            if (!_joined.ContainsKey((rec.UserId, channelId)))
            {
                await _api.AddTeamMemberAsync(teamId, rec.UserId, adminToken, ct);
                await _api.AddChannelMemberAsync(channelId, rec.UserId, adminToken, ct);
                _joined[(rec.UserId, channelId)] = true;
            }
            return rec;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>The user ids of every puppet known (this run or stored).</summary>
    public IReadOnlyList<string> PuppetUserIds => [.. _personByUserId.Keys];

    /// <summary>Forgets which puppets joined one channel (it was unlinked), so a later link adds them again.</summary>
    public void ForgetChannel(string channelId)
    {
        foreach (var key in _joined.Keys.Where(k => k.ChannelId == channelId))
        {
            _joined.TryRemove(key, out _);
        }
    }

    /// <summary>Forgets which channels puppets joined, so the next delivery adds them again (idempotent on the server).</summary>
    public void ForgetMemberships() => _joined.Clear();

    /// <summary>Forgets a token the server no longer accepts; the next delivery mints a new one.</summary>
    public async Task InvalidateTokenAsync(PersonRef person, CancellationToken ct)
    {
        if (_byPerson.TryGetValue(person.Key, out var rec))
        {
            await SaveAsync(person.Key, rec with { Token = null }, ct);
        }
    }

    /// <summary>The puppet as a guest: already one (roles say so), made one now, or refused.</summary>
    private async Task<PuppetRecord> MakeGuestAsync(PersonRef person, PuppetRecord rec, string adminToken, CancellationToken ct)
    {
        var user = await _api.GetUserAsync(rec.UserId, adminToken, ct);
        if (!user.Roles.Split(' ', StringSplitOptions.RemoveEmptyEntries).Contains("system_guest"))
        {
            await RequireGuestAccountsAsync(adminToken, ct);
            try
            {
                await _api.DemoteToGuestAsync(rec.UserId, adminToken, ct);
            }
            catch (MattermostApiException e) when (e.Status is not (HttpStatusCode.TooManyRequests or >= HttpStatusCode.InternalServerError and not HttpStatusCode.NotImplemented))
            {
                throw Refuse($"the Mattermost server refused to make puppet @{rec.Username} a guest ({(int)e.Status} {e.ErrorId}); guestPuppets: true needs guest accounts");
            }

            _guestProblem = null;
        }

        return await SaveAsync(person.Key, rec with { Guest = true }, ct);
    }

    private async Task<PuppetRecord> CreateUserAsync(PersonRef person, string adminToken, CancellationToken ct)
    {
        // Asked before the user exists: a full member must never be created, not even for a moment.
        await RequireGuestAccountsAsync(adminToken, ct);
        // The name comes from the person's key, never from what they call themselves: see PuppetNaming. A record stored
        // by an older version keeps its username (the look-up above finds it by person key), so upgrades rename nobody.
        for (var attempt = 0; attempt < MaxNameAttempts; attempt++)
        {
            var name = PuppetNaming.Username(_options.PuppetPrefix, person, attempt);
            var existing = await _api.FindUserByUsernameAsync(name, adminToken, ct);
            if (existing is not null)
            {
                // Our own puppet from a lost state: reuse it rather than making a second one.
                if (existing.Props?[PersonProp]?.GetValueKind() == JsonValueKind.String && existing.Props[PersonProp]!.GetValue<string>() == person.Key)
                {
                    return await SaveAsync(person.Key, new PuppetRecord(existing.Id, existing.Username, null, existing.FirstName), ct);
                }
                continue;
            }
            var display = Truncate(person.DisplayName, 64);
            MmUser user;
            try
            {
                user = await _api.CreateUserAsync(new MmNewUser(
                    name,
                    $"{name}-{RandomToken(8)}@{_options.PuppetEmailDomain}".ToLowerInvariant(),
                    RandomPassword(),
                    display,
                    "",
                    display,
                    new JsonObject { [PersonProp] = person.Key }), adminToken, ct);
            }
            catch (MattermostApiException e) when (e.Status == HttpStatusCode.BadRequest && e.ErrorId.Contains("username_exists", StringComparison.Ordinal))
            {
                continue;
            }
            _logger.LogInformation(MattermostLog.PuppetCreated, "Created Mattermost puppet @{Username} ({UserId}) for {Person}", user.Username, user.Id, person.Key);
            try
            {
                await _api.VerifyEmailAsync(user.Id, adminToken, ct);
            }
            catch (MattermostApiException e)
            {
                _logger.LogDebug(MattermostLog.PuppetCreated, "Could not verify the placeholder e-mail of @{Username}: {Error}", user.Username, e.Message);
            }
            if (_options.GuestPuppets)
            {
                try
                {
                    await _api.DemoteToGuestAsync(user.Id, adminToken, ct);
                }
                catch (MattermostApiException e)
                {
                    // Guests were on a moment ago (or the licence lacks them): take the new full user out of service
                    // before anyone can add it anywhere, and refuse the puppet.
                    await DeactivateAsync(user, adminToken, ct);
                    throw Refuse($"the Mattermost server refused to make puppet @{user.Username} a guest ({(int)e.Status} {e.ErrorId}); guestPuppets: true needs guest accounts");
                }

                _guestProblem = null;
                return await SaveAsync(person.Key, new PuppetRecord(user.Id, user.Username, null, person.DisplayName, Guest: true), ct);
            }
            return await SaveAsync(person.Key, new PuppetRecord(user.Id, user.Username, null, person.DisplayName), ct);
        }
        throw new InvalidOperationException($"no free Mattermost username for {person.Key}");
    }

    private async Task DeactivateAsync(MmUser user, string adminToken, CancellationToken ct)
    {
        try
        {
            await _api.DeactivateUserAsync(user.Id, adminToken, ct);
        }
        catch (Exception e) when (e is MattermostApiException or HttpRequestException)
        {
            _logger.LogError(MattermostLog.GuestUnavailable, "Could not deactivate @{Username}, created as a full user although guestPuppets is set: {Error}; deactivate it by hand",
                user.Username, e.Message);
        }
    }

    private async Task<PuppetRecord> MintTokenAsync(PersonRef person, PuppetRecord rec, string adminToken, CancellationToken ct)
    {
        try
        {
            var token = await _api.CreateAccessTokenAsync(rec.UserId, "bridge puppet", adminToken, ct);
            return await SaveAsync(person.Key, rec with { Token = token.Token }, ct);
        }
        catch (MattermostApiException e) when (e.Status == HttpStatusCode.NotImplemented)
        {
            throw new TokensForbiddenException($"the server forbids personal access tokens ({e.ErrorId}); enable ServiceSettings.EnableUserAccessTokens");
        }
    }

    private async Task<PuppetRecord> SaveAsync(string personKey, PuppetRecord rec, CancellationToken ct)
    {
        // The token is stored encrypted (or not at all); the record in memory keeps it usable.
        var stored = rec.Token is null ? rec : rec with { Token = _secrets.ForStorage(rec.Token, TokenContext(personKey)) };
        await _state.SetAsync(_scope, personKey, JsonSerializer.Serialize(stored, PuppetRecordJson.Default.PuppetRecord), ct);
        _byPerson[personKey] = rec;
        _personByUserId[rec.UserId] = personKey;
        return rec;
    }

    /// <summary>Binds an encrypted token to its record, so an envelope copied onto another puppet does not open.</summary>
    private string TokenContext(string personKey) => $"{_scope}/{personKey}/token";

    private static string Truncate(string s, int maxRunes)
    {
        var runes = s.EnumerateRunes().Take(maxRunes + 1).ToList();
        return runes.Count <= maxRunes ? s : string.Concat(runes.Take(maxRunes).Select(r => r.ToString()));
    }

    private static string RandomToken(int length)
    {
        const string alphabet = "abcdefghijkmnopqrstuvwxyz23456789";
        return string.Create(length, alphabet, (span, a) =>
        {
            for (var i = 0; i < span.Length; i++)
            {
                span[i] = a[RandomNumberGenerator.GetInt32(a.Length)];
            }
        });
    }

    // Nobody logs in with it; it only has to pass any password policy.
    private static string RandomPassword() => "Aa1!" + RandomToken(28) + "Zz9#";
}
