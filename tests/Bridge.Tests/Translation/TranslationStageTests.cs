using System.Text.Json.Nodes;
using Bridge.Core.Audit;
using Bridge.Core.Configuration;
using Bridge.Core.Connectors;
using Bridge.Core.Model;
using Bridge.Core.Policy.Labels;
using Bridge.Core.Translation;
using Bridge.Tests.Support;
using Microsoft.Extensions.Logging.Abstractions;

namespace Bridge.Tests.Translation;

public sealed class TranslationStageTests
{
    private static BridgeTopology Topology(string? engine = null) => new(
        [
            new NetworkDefinition { Id = "a", Kind = NetworkKind.Xmpp, Organisation = "org-a", Language = "en" },
            new NetworkDefinition { Id = "b", Kind = NetworkKind.Mattermost, Organisation = "org-b", Language = "en" },
        ],
        [
            new LinkDefinition
            {
                Id = "ops",
                Endpoints = [new ChannelRef("a", "room"), new ChannelRef("b", "town")],
                Languages = new Dictionary<ChannelRef, string> { [new ChannelRef("b", "town")] = "es" },
                TranslationEngine = engine,
            },
        ]);

    private static TranslationOptions Options(string id, TranslationEngineOptions engine, TimeSpan? timeout = null) => new()
    {
        Enabled = true,
        DefaultEngine = id,
        Timeout = timeout ?? TimeSpan.FromSeconds(10),
        Engines = new() { [id] = engine },
    };

    private static DeliveryRequest Request(string text, BridgeEventKind kind = BridgeEventKind.Message, long id = 1, string user = "alice") => new()
    {
        OutboxId = id,
        LinkId = "ops",
        Destination = new ChannelRef("b", "town"),
        Event = CoreHarness.Message("a", "room", "n" + id, text, user) with { Kind = kind, ReactionKey = kind == BridgeEventKind.Reaction ? "👍" : null },
    };

    private static async Task<(TranslationStage Stage, CoreHarness Harness)> StageAsync(TranslationOptions options, LabelClassifier? classifier = null)
    {
        var harness = new CoreHarness(Topology());
        await harness.Store.MigrateAsync(default);
        var engines = TranslationSetup.CreateEngines(options, NullLoggerFactory.Instance);
        var stage = new TranslationStage(options, harness.Topology, engines, harness.Store, () => classifier, new TranslationHealth(), NullLogger.Instance);
        return (stage, harness);
    }

    [Theory]
    [InlineData("process")]
    [InlineData("per-message")]
    public async Task Apertium_translates_english_to_spanish_keeping_marker_mention_and_link(string mode)
    {
        var (stage, h) = await StageAsync(Options("ap", new TranslationEngineOptions { Kind = "apertium", Mode = mode }));
        await using var _ = h;
        await using var __ = stage;

        var result = await stage.ApplyAsync(Request("[CUI] Good morning, the convoy leaves at noon. Ask @bob or see https://example.org/plan"), default);

        Assert.NotNull(result.Translation);
        Assert.True(result.Translation!.Translated, result.Translation.Reason);
        Assert.StartsWith("[CUI] ", result.Event.Text, StringComparison.Ordinal);
        Assert.Contains("Buenos días", result.Event.Text, StringComparison.Ordinal);
        Assert.Contains("@bob", result.Event.Text, StringComparison.Ordinal);
        Assert.Contains("https://example.org/plan", result.Event.Text, StringComparison.Ordinal);
        Assert.Equal("[CUI] Good morning, the convoy leaves at noon. Ask @bob or see https://example.org/plan", result.Translation.OriginalText);
        Assert.Equal(("en", "es"), (result.Translation.SourceLanguage, result.Translation.TargetLanguage));

        var audit = (await h.Store.ReadAuditAsync(0, null, 10, default)).Single(r => r.Entry.Kind == "translation");
        Assert.Equal("translated", audit.Entry.Decision);
        Assert.Equal("ap en>es", audit.Entry.RuleId);
        Assert.Matches("^original:[0-9a-f]{64} translated:[0-9a-f]{64}$", audit.Entry.ContentHash);
        // The hashes are of the two texts exactly as sent and as delivered, so either can be proven later.
        Assert.Equal($"original:{AuditChain.HashContent(result.Translation.OriginalText)} translated:{AuditChain.HashContent(result.Event.Text)}", audit.Entry.ContentHash);
        Assert.Equal("ops", audit.Entry.LinkId);
        Assert.Equal("b:town", audit.Entry.Destination);
    }

    // The second text only comes back if every stage of the long-lived pipeline flushes on the NUL that ends the first
    // (Debian's lt-proc -b and others do not by themselves: the engine runs them under stdbuf -o0).
    [Fact]
    public async Task Apertium_pipeline_keeps_lines_and_special_characters()
    {
        var (stage, h) = await StageAsync(Options("ap", new TranslationEngineOptions { Kind = "apertium", Mode = "process" }));
        await using var _ = h;
        await using var __ = stage;

        var first = await stage.ApplyAsync(Request("The dog is black.\nThe cat is white [x] $5 <b>", id: 1), default);
        var second = await stage.ApplyAsync(Request("Good night", id: 2), default);

        Assert.True(first.Translation!.Translated, first.Translation.Reason);
        Assert.Contains('\n', first.Event.Text);
        Assert.Contains("[x]", first.Event.Text, StringComparison.Ordinal);
        Assert.Contains("$5 <b>", first.Event.Text, StringComparison.Ordinal);
        Assert.True(second.Translation!.Translated, second.Translation.Reason);
        Assert.Equal("Noche buena", second.Event.Text);
    }

    [Fact]
    public async Task Reactions_and_same_language_destinations_are_not_translated()
    {
        var (stage, h) = await StageAsync(Options("ap", new TranslationEngineOptions { Kind = "apertium" }));
        await using var _ = h;
        await using var __ = stage;

        var reaction = Request("Good morning", BridgeEventKind.Reaction);
        Assert.Same(reaction, await stage.ApplyAsync(reaction, default));
        var toEnglish = Request("Good morning") with { Destination = new ChannelRef("a", "room") };
        Assert.Null((await stage.ApplyAsync(toEnglish, default)).Translation);
    }

    [Fact]
    public async Task LibreTranslate_engine_speaks_the_api_and_caches()
    {
        await using var server = new EngineStandIn((path, body) => Task.FromResult<JsonNode?>(path == "/translate"
            ? new JsonObject { ["translatedText"] = body["q"]!.GetValue<string>() + " (es)" }
            : null));
        var (stage, h) = await StageAsync(Options("lt", new TranslationEngineOptions { Kind = "libretranslate", Url = server.Url }));
        await using var _ = h;
        await using var __ = stage;

        var result = await stage.ApplyAsync(Request("[CUI] hello @bob"), default);
        await stage.ApplyAsync(Request("[CUI] hello @bob", id: 2), default);

        Assert.True(result.Translation!.Translated, result.Translation.Reason);
        Assert.Equal("[CUI] hello @bob (es)", result.Event.Text);
        var sent = Assert.Single(server.Requests);
        Assert.Equal("en", sent["source"]!.GetValue<string>());
        Assert.Equal("es", sent["target"]!.GetValue<string>());
        Assert.Equal("⟦0⟧ hello ⟦1⟧", sent["q"]!.GetValue<string>());
    }

    [Fact]
    public async Task Chat_completions_engine_uses_the_fixed_prompt_at_temperature_zero()
    {
        await using var server = new EngineStandIn((path, body) =>
        {
            var user = body["messages"]![1]!["content"]!.GetValue<string>();
            return Task.FromResult<JsonNode?>(new JsonObject
            {
                ["choices"] = new JsonArray(new JsonObject { ["message"] = new JsonObject { ["role"] = "assistant", ["content"] = user.Replace("good morning", "buenos días", StringComparison.Ordinal) } }),
            });
        });
        var (stage, h) = await StageAsync(Options("llm", new TranslationEngineOptions { Kind = "openai", Url = server.Url + "v1", Model = "local" }));
        await using var _ = h;
        await using var __ = stage;

        var result = await stage.ApplyAsync(Request("SECRET//REL TO USA, GBR good morning @bob"), default);

        Assert.True(result.Translation!.Translated, result.Translation.Reason);
        Assert.Equal("SECRET//REL TO USA, GBR buenos días @bob", result.Event.Text);
        var sent = Assert.Single(server.Requests);
        Assert.Equal(0, sent["temperature"]!.GetValue<int>());
        Assert.Equal("local", sent["model"]!.GetValue<string>());
        Assert.Equal(OpenAiChatEngine.Prompt("en", "es"), sent["messages"]![0]!["content"]!.GetValue<string>());
        Assert.DoesNotContain("SECRET", sent["messages"]![1]!["content"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("hola")]                  // marker dropped
    [InlineData("hola ⟦0⟧ ⟦1⟧")]          // marker moved off the start
    [InlineData("⟦0⟧ ⟦0⟧ hola ⟦1⟧")]      // marker doubled
    [InlineData("⟦0⟧ hola ⟦1⟧ ⟦7⟧")]      // placeholder invented
    public async Task A_marker_that_does_not_survive_delivers_the_original(string answer)
    {
        await using var server = new EngineStandIn((_, _) => Task.FromResult<JsonNode?>(new JsonObject { ["translatedText"] = answer }));
        var (stage, h) = await StageAsync(Options("lt", new TranslationEngineOptions { Kind = "libretranslate", Url = server.Url }));
        await using var _ = h;
        await using var __ = stage;

        var request = Request("[CUI] hello @bob");
        var result = await stage.ApplyAsync(request, default);

        Assert.False(result.Translation!.Translated);
        Assert.Equal(request.Event, result.Event);
        var audit = (await h.Store.ReadAuditAsync(0, null, 10, default)).Single(r => r.Entry.Kind == "translation");
        Assert.Equal("untranslated", audit.Entry.Decision);
    }

    [Fact]
    public async Task A_slow_engine_falls_back_to_the_original_within_the_budget_and_shows_on_health()
    {
        var slow = true;
        await using var server = new EngineStandIn(async (_, body) =>
        {
            if (slow)
            {
                await Task.Delay(TimeSpan.FromSeconds(5));
            }

            return new JsonObject { ["translatedText"] = "rápido " + body["q"]!.GetValue<string>() };
        });
        var (stage, h) = await StageAsync(Options("lt", new TranslationEngineOptions { Kind = "libretranslate", Url = server.Url }, TimeSpan.FromMilliseconds(300)));
        await using var _ = h;
        await using var __ = stage;

        var started = DateTimeOffset.UtcNow;
        var result = await stage.ApplyAsync(Request("hello"), default);
        Assert.True(DateTimeOffset.UtcNow - started < TimeSpan.FromSeconds(4), "the budget bounds the wait");
        Assert.False(result.Translation!.Translated);
        Assert.Equal("hello", result.Event.Text);
        Assert.Contains("time budget", result.Translation.Reason, StringComparison.Ordinal);
        Assert.Contains(stage.Health.Problems, p => p.Contains("lt", StringComparison.Ordinal));

        slow = false;
        var recovered = await stage.ApplyAsync(Request("hello again", id: 2), default);
        Assert.True(recovered.Translation!.Translated);
        Assert.Empty(stage.Health.Problems);
    }

    [Fact]
    public async Task A_persons_language_wins_over_the_language_of_their_network()
    {
        await using var server = new EngineStandIn((_, body) => Task.FromResult<JsonNode?>(new JsonObject { ["translatedText"] = "ES " + body["q"]!.GetValue<string>() }));
        var options = Options("lt", new TranslationEngineOptions { Kind = "libretranslate", Url = server.Url });
        options.People.Add(new PersonLanguageOptions { Network = "a", User = "pierre", Language = "fr" });
        options.People.Add(new PersonLanguageOptions { Network = "a", User = "pablo", Language = "es" });
        var (stage, h) = await StageAsync(options);
        await using var _ = h;
        await using var __ = stage;

        var alice = await stage.ApplyAsync(Request("hello", id: 1), default);                  // network a's language: en
        var pierre = await stage.ApplyAsync(Request("bonjour", id: 2, user: "pierre"), default); // his own: fr
        var pablo = await stage.ApplyAsync(Request("hola", id: 3, user: "pablo"), default);      // Spanish into a Spanish room

        Assert.Equal(("en", "es"), (alice.Translation!.SourceLanguage, alice.Translation.TargetLanguage));
        Assert.Equal(("fr", "es"), (pierre.Translation!.SourceLanguage, pierre.Translation.TargetLanguage));
        Assert.Null(pablo.Translation);
        Assert.Equal("hola", pablo.Event.Text);
        Assert.Equal(["en", "fr"], server.Requests.Select(r => r["source"]!.GetValue<string>()));
    }

    [Fact]
    public async Task A_translation_that_reads_as_another_label_than_the_original_delivers_the_original()
    {
        // The placeholders all come back in place, but the engine wrote a higher marking at the start of a line (where
        // the policy reads markers, R-L6): policy decided on the original's label, so the reader's text must read as it.
        await using var server = new EngineStandIn((_, _) => Task.FromResult<JsonNode?>(new JsonObject { ["translatedText"] = "⟦0⟧ hola\n[SECRET] ⟦1⟧" }));
        var classifier = LabelOrder.Create(["UNCLASSIFIED", "CUI", "CONFIDENTIAL", "SECRET", "TOP SECRET"]).Classifier;
        var (stage, h) = await StageAsync(Options("lt", new TranslationEngineOptions { Kind = "libretranslate", Url = server.Url }), classifier);
        await using var _ = h;
        await using var __ = stage;

        var request = Request("[CUI] hello @bob");
        var result = await stage.ApplyAsync(request, default);

        Assert.Equal("⟦0⟧ hello ⟦1⟧", Assert.Single(server.Requests)["q"]!.GetValue<string>());
        Assert.False(result.Translation!.Translated);
        Assert.Equal("the translation reads as another label than the original", result.Translation.Reason);
        Assert.Equal(request.Event, result.Event);
    }

    [Fact]
    public async Task Without_a_configured_timeout_the_budget_is_two_seconds()
    {
        await using var server = new EngineStandIn(async (_, body) =>
        {
            await Task.Delay(TimeSpan.FromSeconds(30));
            return new JsonObject { ["translatedText"] = "tarde " + body["q"]!.GetValue<string>() };
        });
        var options = new TranslationOptions
        {
            Enabled = true,
            DefaultEngine = "lt",
            Engines = new() { ["lt"] = new TranslationEngineOptions { Kind = "libretranslate", Url = server.Url } },
        };
        var (stage, h) = await StageAsync(options);
        await using var _ = h;
        await using var __ = stage;

        var clock = System.Diagnostics.Stopwatch.StartNew();
        var result = await stage.ApplyAsync(Request("hello"), default);
        clock.Stop();

        Assert.False(result.Translation!.Translated);
        Assert.Equal("engine lt exceeded the time budget of 2 s", result.Translation.Reason);
        Assert.Equal("hello", result.Event.Text);
        // Not a timing test: only that the wait was the budget (at least 2 s) and not the engine's 30 s.
        Assert.InRange(clock.Elapsed, TimeSpan.FromSeconds(1.9), TimeSpan.FromSeconds(25));
    }

    [Fact]
    public async Task An_engine_has_at_most_its_max_concurrency_translations_in_flight()
    {
        var inFlight = 0;
        var most = 0;
        await using var server = new EngineStandIn(async (_, body) =>
        {
            var now = Interlocked.Increment(ref inFlight);
            int seen;
            while (now > (seen = Volatile.Read(ref most)) && Interlocked.CompareExchange(ref most, now, seen) != seen)
            {
            }

            await Task.Delay(TimeSpan.FromMilliseconds(400));
            Interlocked.Decrement(ref inFlight);
            return new JsonObject { ["translatedText"] = "ES " + body["q"]!.GetValue<string>() };
        });
        var (stage, h) = await StageAsync(Options("lt", new TranslationEngineOptions { Kind = "libretranslate", Url = server.Url, MaxConcurrency = 2 }, TimeSpan.FromSeconds(30)));
        await using var _ = h;
        await using var __ = stage;

        // Six different texts at once (no cache hit): two reach the engine at a time, the rest wait for a slot.
        var results = await Task.WhenAll(Enumerable.Range(1, 6).Select(i => stage.ApplyAsync(Request($"text number {i}", id: i), default)));

        Assert.All(results, r => Assert.True(r.Translation!.Translated, r.Translation.Reason));
        Assert.Equal(6, server.Requests.Count);
        Assert.Equal(2, most);
    }

    [Fact]
    public void Validation_names_unknown_engines_kinds_and_missing_pairs()
    {
        IReadOnlySet<string> OnlyEngSpa(string _) => new HashSet<string> { "eng-spa", "spa-eng" };
        var topology = new BridgeTopology(
            [new NetworkDefinition { Id = "a", Kind = NetworkKind.Xmpp, Language = "en" }, new NetworkDefinition { Id = "b", Kind = NetworkKind.Matrix, Language = "fr" }],
            [
                new LinkDefinition { Id = "one", Endpoints = [new ChannelRef("a", "x"), new ChannelRef("b", "y")] },
                new LinkDefinition { Id = "two", Endpoints = [new ChannelRef("a", "z"), new ChannelRef("b", "w")], TranslationEngine = "nope" },
            ]);
        var options = new TranslationOptions
        {
            Enabled = true,
            DefaultEngine = "ap",
            Engines = new() { ["ap"] = new() { Kind = "apertium" }, ["odd"] = new() { Kind = "babelfish" }, ["lt"] = new() { Kind = "libretranslate" } },
        };

        var errors = TranslationSetup.Validate(options, topology, OnlyEngSpa);

        Assert.Contains(errors, e => e.Key == "links:one:translation" && e.Message.Contains("eng-fra", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Key == "links:two:translation" && e.Message.Contains("'nope'", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Key == "translation:engines:odd:kind");
        Assert.Contains(errors, e => e.Key == "translation:engines:lt:url");
        Assert.Empty(TranslationSetup.Validate(new TranslationOptions(), new BridgeTopology(topology.Networks, [topology.Links[0]]), OnlyEngSpa));
        Assert.Contains(TranslationSetup.Validate(new TranslationOptions(), topology, OnlyEngSpa), e => e.Key == "links:two:translation");
    }

    [Fact]
    public async Task The_translating_connector_shows_the_worker_what_its_network_can_show()
    {
        var (stage, h) = await StageAsync(Options("ap", new TranslationEngineOptions { Kind = "apertium" }));
        await using var _ = h;
        await using var __ = stage;
        var inner = new FakeConnector("b", NetworkKind.Mattermost)
        {
            Capabilities = new Bridge.Core.Connectors.Capabilities.NetworkCapabilities { Reactions = false, Threads = true },
            ReactionKeys = key => key == "thumbsup",
        };

        INetworkConnector translating = new TranslatingConnector(inner, stage);

        // The worker degrades from these: the interface's defaults would let through what the network cannot show.
        Assert.Same(inner.Capabilities, translating.Capabilities);
        Assert.True(translating.CanShowReaction("thumbsup"));
        Assert.False(translating.CanShowReaction("🦖"));
    }
}
