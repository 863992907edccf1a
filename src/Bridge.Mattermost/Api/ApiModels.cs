using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace Bridge.Mattermost.Api;

internal static class MmJson
{
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        // A duplicate key is refused when the body is read, never later when a prop is looked up (JsonObject builds its
        // dictionary lazily and would throw there), and never resolved as first-wins or last-wins: two "classification"
        // props are a malformed post, not a choice.
        AllowDuplicateProperties = false,
    };

    /// <summary>
    /// Deserialises a body; every malformation is a <see cref="JsonException"/> (a duplicate key in a props object
    /// otherwise throws ArgumentException, a lone surrogate escape InvalidOperationException).
    /// </summary>
    public static T? Read<T>(string json)
    {
        try
        {
            return JsonSerializer.Deserialize<T>(json, Options);
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException)
        {
            throw Malformed(e);
        }
    }

    /// <summary>Reads an HTTP answer's body like <see cref="Read{T}(string)"/>: every malformation is a <see cref="JsonException"/>.</summary>
    public static async Task<T?> ReadAsync<T>(HttpContent content, CancellationToken ct)
    {
        try
        {
            return await content.ReadFromJsonAsync<T>(Options, ct);
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException and not ObjectDisposedException)
        {
            // AllowDuplicateProperties does not reach JsonObject members (props): their converter adds to a dictionary
            // and throws ArgumentException on a repeated key, which escaped the client (found by the fuzzer).
            throw Malformed(e);
        }
    }

    /// <summary>Reads a part of an already parsed body (a JsonObject's lazily built members throw ArgumentException on a repeated key).</summary>
    public static T Guard<T>(Func<T> read)
    {
        try
        {
            return read();
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException)
        {
            throw Malformed(e);
        }
    }

    private static JsonException Malformed(Exception e) => new("malformed Mattermost JSON: " + e.Message, e);
}

// Every string, list and list element a model hands out is whole: a JSON null (which Mattermost never sends, but a
// proxy or a broken server may) reads as empty, never as a null the connector then dereferences. A post that threw
// there was retried by every catch-up, so one bad field stalled its channel for good.
internal sealed record MmUser
{
    public string Id { get; init => field = value ?? ""; } = "";
    public string Username { get; init => field = value ?? ""; } = "";
    public string Email { get; init => field = value ?? ""; } = "";
    public string FirstName { get; init => field = value ?? ""; } = "";
    public string LastName { get; init => field = value ?? ""; } = "";
    public string Nickname { get; init => field = value ?? ""; } = "";
    public string Roles { get; init => field = value ?? ""; } = "";
    public bool IsBot { get; init; }
    public long DeleteAt { get; init; }
    public JsonObject? Props { get; init; }

    /// <summary>When the person last set a picture (ms); 0, negative (a removal on current servers) or absent: the server's drawn default.</summary>
    public long LastPictureUpdate { get; init; }

    /// <summary>When the record last changed (ms): of two copies of one user, the later is the fresher.</summary>
    public long UpdateAt { get; init; }

    public bool IsSystemAdmin => Roles.Split(' ').Contains("system_admin");

    public string DisplayName
    {
        get
        {
            var full = $"{FirstName} {LastName}".Trim();
            return full.Length > 0 ? full : Nickname.Length > 0 ? Nickname : Username;
        }
    }

    /// <summary>
    /// The name the person's fellow members see: <see cref="DisplayName"/> where the server shows full names, else
    /// nickname or username (the server blanks first and last names for everyone but admins, such as the bridge).
    /// </summary>
    public string NameShownToMembers(bool fullNamesShown) =>
        fullNamesShown ? DisplayName : Nickname.Length > 0 ? Nickname : Username;
}

internal sealed record MmTeam
{
    public string Id { get; init => field = value ?? ""; } = "";
    public string Name { get; init => field = value ?? ""; } = "";
    public string DisplayName { get; init => field = value ?? ""; } = "";
}

internal sealed record MmChannel
{
    public string Id { get; init => field = value ?? ""; } = "";
    public string TeamId { get; init => field = value ?? ""; } = "";
    public string Name { get; init => field = value ?? ""; } = "";
    public string DisplayName { get; init => field = value ?? ""; } = "";
    public string Type { get; init => field = value ?? ""; } = "";
}

internal sealed record MmPost
{
    public string Id { get; init => field = value ?? ""; } = "";
    public long CreateAt { get; init; }
    public long UpdateAt { get; init; }
    public long EditAt { get; init; }
    public long DeleteAt { get; init; }
    public string UserId { get; init => field = value ?? ""; } = "";
    public string ChannelId { get; init => field = value ?? ""; } = "";
    public string RootId { get; init => field = value ?? ""; } = "";
    public string Message { get; init => field = value ?? ""; } = "";
    public string Type { get; init => field = value ?? ""; } = "";
    public JsonObject? Props { get; init; }
    public IReadOnlyList<string>? FileIds { get; init => field = value?.Where(id => id is not null).ToList(); }
    public string PendingPostId { get; init => field = value ?? ""; } = "";
    public MmPostMetadata? Metadata { get; init; }

    public string? Prop(string name) => Props?[name] is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;

    /// <summary>
    /// A structured label prop as the core expects it (see <see cref="Bridge.Core.Model.StructuredLabel"/>): absent →
    /// none; a string (even empty) → itself; present but not a string (null, number, object) → NotAString. Fails closed.
    /// </summary>
    public IReadOnlyList<string> LabelProp(string name) =>
        Props is null || !Props.ContainsKey(name) ? []
        : Props[name] is JsonValue v && v.TryGetValue<string>(out var s) ? [s]
        : [Bridge.Core.Model.StructuredLabel.NotAString];
}

internal sealed record MmPostMetadata
{
    public IReadOnlyList<MmFileInfo>? Files { get; init => field = value?.Where(f => f is not null).ToList(); }
    public IReadOnlyList<MmReaction>? Reactions { get; init => field = value?.Where(r => r is not null).ToList(); }
}

internal sealed record MmPostList
{
    public IReadOnlyList<string> Order { get; init => field = value?.Where(id => id is not null).ToList() ?? []; } = [];
    public Dictionary<string, MmPost> Posts { get; init => field = value?.Where(p => p.Value is not null).ToDictionary() ?? []; } = [];
}

internal sealed record MmReaction
{
    public string UserId { get; init => field = value ?? ""; } = "";
    public string PostId { get; init => field = value ?? ""; } = "";
    public string EmojiName { get; init => field = value ?? ""; } = "";
    public long CreateAt { get; init; }
}

internal sealed record MmFileInfo
{
    public string Id { get; init => field = value ?? ""; } = "";
    public string Name { get; init => field = value ?? ""; } = "";
    public string MimeType { get; init => field = value ?? ""; } = "";
    public long Size { get; init; }

    /// <summary>Image dimensions (0 for other files).</summary>
    public int Width { get; init; }

    public int Height { get; init; }
}

internal sealed record MmAccessToken
{
    public string Id { get; init => field = value ?? ""; } = "";
    public string Token { get; init => field = value ?? ""; } = "";
    public string UserId { get; init => field = value ?? ""; } = "";
}

internal sealed record MmBot
{
    public string UserId { get; init => field = value ?? ""; } = "";
    public string Username { get; init => field = value ?? ""; } = "";
}

/// <summary>The AppError body; 429 has none (text/plain).</summary>
internal sealed record MmAppError
{
    public string Id { get; init => field = value ?? ""; } = "";
    public string Message { get; init => field = value ?? ""; } = "";
    public int StatusCode { get; init; }
}
