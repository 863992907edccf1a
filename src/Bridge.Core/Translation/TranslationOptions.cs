namespace Bridge.Core.Translation;

/// <summary>
/// Translation between the languages of a link's endpoints. Bound from <c>translation:</c>; off unless
/// <see cref="Enabled"/> is true. Languages are set on networks, link endpoints and (here) people; each link picks an
/// engine by id (<c>links:&lt;id&gt;:translation</c>) or uses <see cref="DefaultEngine"/>.
/// </summary>
public sealed class TranslationOptions
{
    /// <summary>Off by default: without it no text is ever sent to an engine.</summary>
    public bool Enabled { get; set; }

    /// <summary>The engine links use when they name none.</summary>
    public string? DefaultEngine { get; set; }

    /// <summary>Longest a translation may take before the original is delivered instead (the budget per message).</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Recent translations kept in memory (a retry or the same text to several rooms is translated once).</summary>
    public int CacheSize { get; set; } = 1000;

    /// <summary>The engines, by id.</summary>
    public Dictionary<string, TranslationEngineOptions> Engines { get; set; } = new(StringComparer.Ordinal);

    /// <summary>People who write another language than their endpoint's.</summary>
    public List<PersonLanguageOptions> People { get; set; } = [];
}

/// <summary>One engine: <c>apertium</c>, <c>libretranslate</c> or <c>openai</c> (chat completions).</summary>
public sealed class TranslationEngineOptions
{
    public string Kind { get; set; } = "";

    /// <summary>Apertium: <c>process</c> (one long-lived pipeline per pair, dictionaries loaded once; the default) or <c>per-message</c> (a new <c>apertium</c> each time).</summary>
    public string Mode { get; set; } = "process";

    /// <summary>Apertium: the directory of <c>*.mode</c> files (Debian: /usr/share/apertium/modes).</summary>
    public string ModesDirectory { get; set; } = "/usr/share/apertium/modes";

    /// <summary>Apertium per-message: the <c>apertium</c> command.</summary>
    public string Command { get; set; } = "apertium";

    /// <summary>HTTP engines: the base URL (LibreTranslate: the server; openai: the API base such as http://127.0.0.1:8080/v1).</summary>
    public string? Url { get; set; }

    /// <summary>HTTP engines: an API key, if the server wants one.</summary>
    public string? ApiKey { get; set; }

    /// <summary>HTTP engines: a file holding the API key.</summary>
    public string? ApiKeyFile { get; set; }

    /// <summary>openai: the model name.</summary>
    public string? Model { get; set; }

    /// <summary>Translations in flight at once on this engine; more wait (within the time budget).</summary>
    public int MaxConcurrency { get; set; } = 2;
}

/// <summary>The language one person writes (<c>translation:people:</c>).</summary>
public sealed class PersonLanguageOptions
{
    public string Network { get; set; } = "";
    public string User { get; set; } = "";
    public string Language { get; set; } = "";
}
