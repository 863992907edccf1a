using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Bridge.Core.Model;
using Bridge.Core.Text.Mentions;
using Bridge.Matrix.Formatting;

namespace Bridge.Matrix.Connector;

/// <summary>
/// Mentions: a pill of a puppet names the person it stands for, a pill of anyone else that Matrix person; a mention
/// from elsewhere becomes a pill of the person's puppet here (or of their own account when they are from here) and
/// an entry in <c>m.mentions.user_ids</c>. Puppets are found in a directory kept as they are made, so a change of
/// the puppet naming never points a pill at someone else.
/// </summary>
public sealed partial class MatrixConnector
{
    private const int MaxMentionsPerEvent = 32;

    private string MentionScope => "matrix:" + NetworkId + ":mention-directory";

    /// <summary>What the connector keeps in the state store as JSON (default options), generated at build time.</summary>
    [JsonSerializable(typeof(PersonRef))]
    private sealed partial class StateJson : JsonSerializerContext;

    /// <summary>Remembers which person a puppet stands for, both ways (once per puppet and run).</summary>
    private async Task RememberPuppetPersonAsync(string puppetUserId, PersonRef person, CancellationToken ct)
    {
        if (_puppetPersons.TryGetValue(puppetUserId, out var known) && known.Key == person.Key)
        {
            return;
        }

        var stored = new PersonRef { NetworkId = person.NetworkId, UserId = person.UserId, DisplayName = person.DisplayName };
        await _context.State.SetAsync(MentionScope, "puppet:" + puppetUserId, JsonSerializer.Serialize(stored, StateJson.Default.PersonRef), ct);
        await _context.State.SetAsync(MentionScope, "person:" + person.Key, puppetUserId, ct);
        _puppetPersons[puppetUserId] = stored;
        _personPuppets[person.Key] = puppetUserId;
    }

    /// <summary>Reads the pills of a message (and of an edit's new content) into the event's mentions.</summary>
    private async Task<BridgeEvent> WithMentionsAsync(BridgeEvent e, JsonObject ev, CancellationToken ct)
    {
        if (e.Kind is not (BridgeEventKind.Message or BridgeEventKind.Edit) || e.Html is not { } html || ev["content"] is not JsonObject content)
        {
            return e;
        }

        var source = e.Kind == BridgeEventKind.Edit && content["m.new_content"] is JsonObject newContent ? newContent : content;
        IReadOnlySet<string>? intended = null;
        if (source["m.mentions"] is JsonObject mentions)
        {
            intended = (mentions["user_ids"] as JsonArray ?? []).Select(n => n is JsonValue v && v.TryGetValue<string>(out var s) ? s : null)
                .OfType<string>().ToHashSet(StringComparer.Ordinal);
        }

        var pills = MatrixPills.Take(html, intended, out var withoutPills);
        if (pills.Count == 0)
        {
            return e;
        }

        var found = new List<Mention>();
        foreach (var (userId, label) in pills.Take(MaxMentionsPerEvent))
        {
            found.Add(new Mention { Person = await PersonOfMatrixUserAsync(userId, label, ct), Written = label });
        }

        return e with { Html = withoutPills, Mentions = found };
    }

    private async Task<PersonRef> PersonOfMatrixUserAsync(string userId, string label, CancellationToken ct)
    {
        if (!_puppetPersons.TryGetValue(userId, out var person) && await _context.State.GetAsync(MentionScope, "puppet:" + userId, ct) is { } json)
        {
            person = JsonSerializer.Deserialize(json, StateJson.Default.PersonRef);
            if (person is not null)
            {
                _puppetPersons[userId] = person;
            }
        }

        return person ?? new PersonRef { NetworkId = NetworkId, UserId = userId, DisplayName = label };
    }

    /// <summary>The Matrix user a mention names here: the person's puppet, their own account, or no one (never spoke through the bridge).</summary>
    private async Task<string?> MatrixUserOfAsync(PersonRef person, CancellationToken ct)
    {
        if (person.NetworkId == NetworkId)
        {
            return person.UserId;
        }

        if (!_personPuppets.TryGetValue(person.Key, out var userId))
        {
            userId = await _context.State.GetAsync(MentionScope, "person:" + person.Key, ct);
            if (userId is not null)
            {
                _personPuppets[person.Key] = userId;
            }
        }

        return userId;
    }

    /// <summary>Turns the mentions of a delivery into pills in <c>formatted_body</c> and <c>m.mentions.user_ids</c>.</summary>
    private async Task ApplyMentionsAsync(JsonObject content, IReadOnlyList<Mention> mentions, CancellationToken ct)
    {
        if (mentions.Count == 0)
        {
            return;
        }

        var users = new Dictionary<Mention, string>();
        foreach (var mention in mentions.Take(MaxMentionsPerEvent))
        {
            if (await MatrixUserOfAsync(mention.Person, ct) is { } userId)
            {
                users[mention] = userId;
            }
        }

        Apply(content);
        if (content["m.new_content"] is JsonObject newContent)
        {
            Apply(newContent);
        }

        void Apply(JsonObject target)
        {
            if (users.Count == 0 || target["body"]?.GetValue<string>() is not { } body)
            {
                return;
            }

            var html = target["formatted_body"]?.GetValue<string>() ?? MatrixHtml.Escape(body).Replace("\n", "<br>", StringComparison.Ordinal);
            var placed = new List<string>();
            var rendered = MentionText.RenderHtml(html, mentions, m =>
            {
                if (!users.TryGetValue(m, out var userId))
                {
                    return null;
                }

                placed.Add(userId);
                return MatrixPills.Write(userId, m.Written);
            });
            if (placed.Count == 0)
            {
                return;
            }

            target["format"] = "org.matrix.custom.html";
            target["formatted_body"] = rendered;
            target["m.mentions"] = new JsonObject { ["user_ids"] = new JsonArray([.. placed.Distinct(StringComparer.Ordinal).Select(u => (JsonNode?)JsonValue.Create(u))]) };
        }
    }
}
