namespace Bridge.Core.Translation;

/// <summary>
/// One translation engine. Gets plain text in which everything that must survive verbatim (markers, mentions, links,
/// code) is already replaced by placeholders such as <c>⟦0⟧</c>, and must return them unchanged; the stage checks.
/// </summary>
public interface ITranslationEngine : IAsyncDisposable
{
    /// <summary>The configured id (<c>translation:engines:&lt;id&gt;</c>).</summary>
    string Id { get; }

    /// <summary>Whether this engine can translate between the two (configured) language codes.</summary>
    bool Supports(string from, string to);

    /// <summary>Translates <paramref name="text"/>; throws on failure. Cancelled when the time budget runs out.</summary>
    Task<string> TranslateAsync(string text, string from, string to, CancellationToken cancellationToken);
}

/// <summary>An engine that failed in a way the operator must see (its answer was not a translation).</summary>
public sealed class TranslationEngineException(string message, Exception? inner = null) : Exception(message, inner);
