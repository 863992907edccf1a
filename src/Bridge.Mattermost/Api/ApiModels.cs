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
            throw new JsonException("malformed Mattermost JSON: " + e.Message, e);
        }
    }
}

internal sealed record MmUser
{
    public string Id { get; init; } = "";
    public string Username { get; init; } = "";
    public string Email { get; init; } = "";
    public string FirstName { get; init; } = "";
    public string LastName { get; init; } = "";
    public string Nickname { get; init; } = "";
    public string Roles { get; init; } = "";
    public bool IsBot { get; init; }
    public long DeleteAt { get; init; }
    public JsonObject? Props { get; init; }

    public bool IsSystemAdmin => Roles.Split(' ').Contains("system_admin");

    public string DisplayName
    {
        get
        {
            var full = $"{FirstName} {LastName}".Trim();
            return full.Length > 0 ? full : Nickname.Length > 0 ? Nickname : Username;
        }
    }
}

internal sealed record MmTeam
{
    public string Id { get; init; } = "";
    public string Name { get; init; } = "";
    public string DisplayName { get; init; } = "";
}

internal sealed record MmChannel
{
    public string Id { get; init; } = "";
    public string TeamId { get; init; } = "";
    public string Name { get; init; } = "";
    public string DisplayName { get; init; } = "";
    public string Type { get; init; } = "";
}

internal sealed record MmPost
{
    public string Id { get; init; } = "";
    public long CreateAt { get; init; }
    public long UpdateAt { get; init; }
    public long EditAt { get; init; }
    public long DeleteAt { get; init; }
    public string UserId { get; init; } = "";
    public string ChannelId { get; init; } = "";
    public string RootId { get; init; } = "";
    public string Message { get; init; } = "";
    public string Type { get; init; } = "";
    public JsonObject? Props { get; init; }
    public IReadOnlyList<string>? FileIds { get; init; }
    public string PendingPostId { get; init; } = "";
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
    public IReadOnlyList<MmFileInfo>? Files { get; init; }
    public IReadOnlyList<MmReaction>? Reactions { get; init; }
}

internal sealed record MmPostList
{
    public IReadOnlyList<string> Order { get; init; } = [];
    public Dictionary<string, MmPost> Posts { get; init; } = [];
}

internal sealed record MmReaction
{
    public string UserId { get; init; } = "";
    public string PostId { get; init; } = "";
    public string EmojiName { get; init; } = "";
    public long CreateAt { get; init; }
}

internal sealed record MmFileInfo
{
    public string Id { get; init; } = "";
    public string Name { get; init; } = "";
    public string MimeType { get; init; } = "";
    public long Size { get; init; }
}

internal sealed record MmAccessToken
{
    public string Id { get; init; } = "";
    public string Token { get; init; } = "";
    public string UserId { get; init; } = "";
}

internal sealed record MmBot
{
    public string UserId { get; init; } = "";
    public string Username { get; init; } = "";
}

/// <summary>The AppError body; 429 has none (text/plain).</summary>
internal sealed record MmAppError
{
    public string Id { get; init; } = "";
    public string Message { get; init; } = "";
    public int StatusCode { get; init; }
}
