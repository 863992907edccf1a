using Bridge.Core.Configuration;
using Bridge.Core.Connectors;
using Bridge.Core.Model;
using Microsoft.Extensions.Logging;

namespace Bridge.Core.Translation;

/// <summary>
/// Checks <c>translation:</c> against the topology at start (an unknown engine, a language pair no engine has, a
/// malformed URL: each an error naming its key, never ignored) and builds the engines.
/// </summary>
public static class TranslationSetup
{
    public const string Apertium = "apertium";
    public const string LibreTranslate = "libretranslate";
    public const string OpenAi = "openai";
    private static readonly string[] Kinds = [Apertium, LibreTranslate, OpenAi];

    /// <summary>Every problem; <paramref name="installedPairs"/> lists Apertium's pairs in a modes directory (tests replace it).</summary>
    public static IReadOnlyList<ConfigError> Validate(TranslationOptions options, BridgeTopology topology, Func<string, IReadOnlySet<string>>? installedPairs = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(topology);
        installedPairs ??= ApertiumEngine.InstalledPairs;
        var errors = new List<ConfigError>();
        if (!options.Enabled)
        {
            foreach (var link in topology.Links.Where(l => l.TranslationEngine is not null))
            {
                errors.Add(new ConfigError($"links:{link.Id}:translation", "names an engine but translation:enabled is not true; enable translation or remove the key"));
            }

            return errors;
        }

        if (options.Timeout <= TimeSpan.Zero || options.Timeout > TimeSpan.FromMinutes(1))
        {
            errors.Add(new ConfigError("translation:timeout", "must be a positive duration of at most a minute, such as 00:00:02"));
        }

        if (options.CacheSize is < 0 or > 1_000_000)
        {
            errors.Add(new ConfigError("translation:cacheSize", "must be between 0 and 1000000"));
        }

        if (options.Engines.Count == 0)
        {
            errors.Add(new ConfigError("translation:engines", "translation is enabled but no engine is configured"));
        }

        var pairsByEngine = new Dictionary<string, IReadOnlySet<string>>(StringComparer.Ordinal);
        foreach (var (id, engine) in options.Engines)
        {
            var key = $"translation:engines:{id}";
            var kind = engine.Kind.Trim().ToLowerInvariant();
            if (!Kinds.Contains(kind))
            {
                errors.Add(new ConfigError($"{key}:kind", $"'{engine.Kind}' is not an engine kind: use apertium, libretranslate or openai"));
                continue;
            }

            if (engine.MaxConcurrency is < 1 or > 64)
            {
                errors.Add(new ConfigError($"{key}:maxConcurrency", "must be between 1 and 64"));
            }

            if (kind == Apertium)
            {
                if (engine.Mode is not ("process" or "per-message"))
                {
                    errors.Add(new ConfigError($"{key}:mode", $"'{engine.Mode}' is not allowed: use process or per-message"));
                }

                pairsByEngine[id] = installedPairs(engine.ModesDirectory);
                if (pairsByEngine[id].Count == 0)
                {
                    errors.Add(new ConfigError($"{key}:modesDirectory", $"no Apertium language pair is installed in '{engine.ModesDirectory}' (apt-get install apertium apertium-eng-spa)"));
                }

                continue;
            }

            if (string.IsNullOrWhiteSpace(engine.Url) || !Uri.TryCreate(engine.Url, UriKind.Absolute, out var url) || url.Scheme is not ("http" or "https"))
            {
                errors.Add(new ConfigError($"{key}:url", $"required for {kind}: an http(s) URL such as {(kind == OpenAi ? "http://127.0.0.1:8080/v1" : "http://127.0.0.1:5000")}"));
            }

            if (!string.IsNullOrEmpty(engine.ApiKey) && !string.IsNullOrEmpty(engine.ApiKeyFile))
            {
                errors.Add(new ConfigError($"{key}:apiKeyFile", "set apiKey or apiKeyFile, not both"));
            }
            else if (!string.IsNullOrEmpty(engine.ApiKeyFile) && !File.Exists(engine.ApiKeyFile))
            {
                errors.Add(new ConfigError($"{key}:apiKeyFile", $"'{engine.ApiKeyFile}' does not exist"));
            }

            if (kind == OpenAi && string.IsNullOrWhiteSpace(engine.Model))
            {
                errors.Add(new ConfigError($"{key}:model", "required for openai: the model the server should use"));
            }
        }

        if (options.DefaultEngine is { } fallback && !options.Engines.ContainsKey(fallback))
        {
            errors.Add(new ConfigError("translation:defaultEngine", $"'{fallback}' is not an engine under translation:engines"));
        }

        for (var i = 0; i < options.People.Count; i++)
        {
            var person = options.People[i];
            var key = $"translation:people:{i}";
            if (!topology.TryGetNetwork(person.Network, out _))
            {
                errors.Add(new ConfigError($"{key}:network", $"'{person.Network}' is not a configured network"));
            }

            if (string.IsNullOrWhiteSpace(person.User))
            {
                errors.Add(new ConfigError($"{key}:user", "required: the person's user id on that network"));
            }

            if (!LanguageCode.TryNormalise(person.Language, out _))
            {
                errors.Add(new ConfigError($"{key}:language", $"'{person.Language}' is not a language code such as en or es"));
            }
        }

        foreach (var link in topology.Links)
        {
            var engineId = link.TranslationEngine ?? options.DefaultEngine;
            if (link.TranslationEngine is { } named && !options.Engines.ContainsKey(named))
            {
                errors.Add(new ConfigError($"links:{link.Id}:translation", $"'{named}' is not an engine under translation:engines"));
                continue;
            }

            foreach (var (from, to) in PairsOf(link, topology, options))
            {
                if (engineId is null)
                {
                    errors.Add(new ConfigError($"links:{link.Id}:translation", $"the link joins {from} and {to} but names no engine and translation:defaultEngine is not set"));
                    break;
                }

                if (pairsByEngine.TryGetValue(engineId, out var pairs) && pairs.Count > 0 && !pairs.Contains(ApertiumEngine.PairName(from, to)))
                {
                    var pair = ApertiumEngine.PairName(from, to);
                    errors.Add(new ConfigError($"links:{link.Id}:translation",
                        $"engine '{engineId}' (apertium) has no {pair} pair installed: install the package that provides {pair}.mode (e.g. apertium-{pair}), or use another engine"));
                }
            }
        }

        return errors;
    }

    /// <summary>Each (from, to) language pair a link needs translated, distinct, in configuration order.</summary>
    private static IEnumerable<(string From, string To)> PairsOf(LinkDefinition link, BridgeTopology topology, TranslationOptions options)
    {
        string? LanguageOf(ChannelRef c) => link.Languages.TryGetValue(c, out var l) ? l : topology.TryGetNetwork(c.NetworkId, out var n) ? n.Language : null;
        var seen = new HashSet<(string, string)>();
        foreach (var source in link.Endpoints)
        {
            var writers = new List<string?> { LanguageOf(source) };
            writers.AddRange(options.People.Where(p => p.Network == source.NetworkId && LanguageCode.TryNormalise(p.Language, out _))
                .Select(p => { LanguageCode.TryNormalise(p.Language, out var code); return (string?)code; }));
            foreach (var destination in link.Endpoints.Where(d => d != source))
            {
                var to = LanguageOf(destination);
                foreach (var from in writers)
                {
                    if (from is not null && to is not null && LanguageCode.Primary(from) != LanguageCode.Primary(to) && seen.Add((from, to)))
                    {
                        yield return (from, to);
                    }
                }
            }
        }
    }

    /// <summary>The configured engines (options already validated).</summary>
    public static IReadOnlyDictionary<string, ITranslationEngine> CreateEngines(TranslationOptions options, ILoggerFactory loggerFactory)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(loggerFactory);
        var engines = new Dictionary<string, ITranslationEngine>(StringComparer.Ordinal);
        foreach (var (id, o) in options.Engines)
        {
            var apiKey = !string.IsNullOrEmpty(o.ApiKeyFile) ? File.ReadAllText(o.ApiKeyFile).Trim() : o.ApiKey;
            var baseUrl = o.Url is null ? null : new Uri(o.Url.EndsWith('/') ? o.Url : o.Url + "/");
            engines[id] = o.Kind.Trim().ToLowerInvariant() switch
            {
                Apertium => new ApertiumEngine(id, o, ApertiumEngine.InstalledPairs(o.ModesDirectory), loggerFactory.CreateLogger("Bridge.Translation.Apertium")),
                LibreTranslate => new LibreTranslateEngine(id, baseUrl!, apiKey, NewHttpClient()),
                OpenAi => new OpenAiChatEngine(id, baseUrl!, o.Model!, apiKey, NewHttpClient()),
                _ => throw new InvalidOperationException($"engine kind '{o.Kind}' passed validation"),
            };
        }

        return engines;
    }

    // The stage's budget is the timeout; the client's own is only a backstop.
    private static HttpClient NewHttpClient() => new(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5), AllowAutoRedirect = false })
    {
        Timeout = TimeSpan.FromMinutes(1),
    };
}
