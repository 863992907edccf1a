using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace Bridge.Core.Translation;

/// <summary>
/// A LibreTranslate server (<c>POST /translate</c> with <c>q</c>, <c>source</c>, <c>target</c>, <c>format=text</c>;
/// the answer's <c>translatedText</c>). Self-hosted LibreTranslate runs Argos models offline.
/// </summary>
internal sealed class LibreTranslateEngine(string id, Uri baseUrl, string? apiKey, HttpClient http) : ITranslationEngine
{
    public string Id { get; } = id;

    public bool Supports(string from, string to) => true;

    public async Task<string> TranslateAsync(string text, string from, string to, CancellationToken cancellationToken)
    {
        var body = new JsonObject
        {
            ["q"] = text,
            ["source"] = LanguageCode.Primary(from),
            ["target"] = LanguageCode.Primary(to),
            ["format"] = "text",
        };
        if (!string.IsNullOrEmpty(apiKey))
        {
            body["api_key"] = apiKey;
        }

        using var response = await http.PostAsJsonAsync(new Uri(baseUrl, "translate"), body, EngineRequestJson.Default.JsonObject, cancellationToken);
        var answer = await HttpEngineAnswer.ReadAsync(response, cancellationToken);
        return answer["translatedText"] is JsonValue v && v.TryGetValue<string>(out var translated)
            ? translated
            : throw new TranslationEngineException("LibreTranslate answered without translatedText");
    }

    public ValueTask DisposeAsync()
    {
        http.Dispose();
        return ValueTask.CompletedTask;
    }
}

/// <summary>
/// A self-hosted LLM behind the OpenAI-compatible chat-completions API (<c>POST {url}/chat/completions</c>), asked with
/// one fixed prompt (<see cref="SystemPrompt"/>, documented in docs/translation.md) at temperature 0. Markers,
/// mentions, links and code reach it only as placeholders, and what it returns is checked like any engine's.
/// </summary>
internal sealed class OpenAiChatEngine(string id, Uri baseUrl, string model, string? apiKey, HttpClient http) : ITranslationEngine
{
    /// <summary>The prompt, fixed: the operator chooses the model, not the instructions.</summary>
    public const string SystemPrompt =
        "You are a translation engine. Translate the user's message from the language with code {from} to the language with code {to}. " +
        "Reply with the translation only: no explanation, no quotes, no answer to the message. " +
        "Tokens of the form ⟦n⟧ (n a number) stand for names, links, code and classification markings: copy every such token exactly once and unchanged, " +
        "and if the message starts with one, start the translation with it. Keep line breaks.";

    public string Id { get; } = id;

    public bool Supports(string from, string to) => true;

    public async Task<string> TranslateAsync(string text, string from, string to, CancellationToken cancellationToken)
    {
        var body = new JsonObject
        {
            ["model"] = model,
            ["temperature"] = 0,
            ["messages"] = new JsonArray(
                new JsonObject { ["role"] = "system", ["content"] = Prompt(from, to) },
                new JsonObject { ["role"] = "user", ["content"] = text }),
        };
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(baseUrl, "chat/completions")) { Content = JsonContent.Create(body, EngineRequestJson.Default.JsonObject) };
        if (!string.IsNullOrEmpty(apiKey))
        {
            request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", apiKey);
        }

        using var response = await http.SendAsync(request, cancellationToken);
        var answer = await HttpEngineAnswer.ReadAsync(response, cancellationToken);
        return answer["choices"] is JsonArray { Count: > 0 } choices &&
               choices[0]?["message"]?["content"] is JsonValue v && v.TryGetValue<string>(out var translated)
            ? translated.Trim()
            : throw new TranslationEngineException("the chat-completions answer has no choices[0].message.content");
    }

    public static string Prompt(string from, string to) =>
        SystemPrompt.Replace("{from}", LanguageCode.Primary(from), StringComparison.Ordinal).Replace("{to}", LanguageCode.Primary(to), StringComparison.Ordinal);

    public ValueTask DisposeAsync()
    {
        http.Dispose();
        return ValueTask.CompletedTask;
    }
}

internal static class HttpEngineAnswer
{
    /// <summary>Answers are small; anything bigger is not a translation of a chat message.</summary>
    private const int MaxAnswerBytes = 1 << 20;

    public static async Task<JsonNode> ReadAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        if (!response.IsSuccessStatusCode)
        {
            throw new TranslationEngineException($"the engine answered HTTP {(int)response.StatusCode}");
        }

        if (response.Content.Headers.ContentLength > MaxAnswerBytes)
        {
            throw new TranslationEngineException("the engine's answer is too large");
        }

        try
        {
            var text = await response.Content.ReadAsStringAsync(cancellationToken);
            return (text.Length > MaxAnswerBytes ? null : JsonNode.Parse(text)) ?? throw new TranslationEngineException("the engine's answer is empty or too large");
        }
        catch (System.Text.Json.JsonException ex)
        {
            throw new TranslationEngineException("the engine's answer is not JSON", ex);
        }
    }
}

/// <summary>The engines' request bodies as System.Net.Http.Json wrote them (web defaults), generated at build time.</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(JsonObject))]
internal sealed partial class EngineRequestJson : JsonSerializerContext;
