using System.Collections.Frozen;
using System.Text.RegularExpressions;

namespace Bridge.Core.Policy.Content;

public enum LinkAction
{
    Replace,
    Remove,
    Block,
}

/// <summary>
/// Allows links only to listed hosts. A host is compared as written (lower-cased): a look-alike host
/// (<c>exаmple.org</c> with a Cyrillic 'а', percent-encoding, a trailing dot trick) is simply not on the list.
/// </summary>
internal sealed partial class LinkFilter
{
    private readonly FrozenSet<string> _exact;
    private readonly string[] _suffixes;

    public LinkFilter(IEnumerable<string> allowedDomains, LinkAction action, string replacement)
    {
        var exact = new List<string>();
        var suffixes = new List<string>();
        foreach (var d in allowedDomains)
        {
            var domain = d.Trim().ToLowerInvariant().TrimEnd('.');
            if (domain.StartsWith("*.", StringComparison.Ordinal))
            {
                suffixes.Add(domain[1..]);
            }
            else
            {
                exact.Add(domain);
            }
        }

        _exact = exact.ToFrozenSet(StringComparer.Ordinal);
        _suffixes = suffixes.ToArray();
        Action = action;
        Replacement = action == LinkAction.Remove ? "" : replacement;
    }

    public LinkAction Action { get; }

    public string Replacement { get; }

    /// <summary>Checks a domain entry as written in configuration; null when usable.</summary>
    public static string? CheckDomain(string domain)
    {
        var d = domain.Trim();
        var host = d.StartsWith("*.", StringComparison.Ordinal) ? d[2..] : d;
        if (host.Length == 0 || host.Contains('*', StringComparison.Ordinal) || host.Contains('/', StringComparison.Ordinal) || host.Contains(':', StringComparison.Ordinal))
        {
            return $"'{domain}' is not a host name or '*.' followed by one";
        }

        return null;
    }

    /// <summary>True when the text holds a link to a host not on the list.</summary>
    public bool HasDisallowed(string text)
    {
        if (!MightHaveLink(text))
        {
            return false;
        }

        foreach (var m in UrlRegex().EnumerateMatches(text))
        {
            if (!IsAllowed(text.AsSpan(m.Index, m.Length)))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>The text with disallowed links replaced or removed.</summary>
    public string Apply(string text) =>
        HasDisallowed(text) ? UrlRegex().Replace(text, m => IsAllowed(m.ValueSpan) ? m.Value : Replacement) : text;

    internal bool IsAllowed(ReadOnlySpan<char> url)
    {
        var host = HostOf(url);
        if (host.Length == 0)
        {
            return false;
        }

        Span<char> lower = host.Length <= 256 ? stackalloc char[host.Length] : new char[host.Length];
        host.ToLowerInvariant(lower);
        ReadOnlySpan<char> h = lower.TrimEnd('.');
        if (_exact.GetAlternateLookup<ReadOnlySpan<char>>().Contains(h))
        {
            return true;
        }

        foreach (var suffix in _suffixes)
        {
            if (h.Length > suffix.Length && h.EndsWith(suffix, StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }

    internal static ReadOnlySpan<char> HostOf(ReadOnlySpan<char> url)
    {
        var schemeEnd = url.IndexOf("://", StringComparison.Ordinal);
        var rest = schemeEnd >= 0 ? url[(schemeEnd + 3)..] : url;
        var end = rest.IndexOfAny("/?#\\");
        var authority = end >= 0 ? rest[..end] : rest;
        var at = authority.LastIndexOf('@');
        if (at >= 0)
        {
            authority = authority[(at + 1)..];
        }

        if (authority.StartsWith('['))
        {
            var close = authority.IndexOf(']');
            return close > 0 ? authority[..(close + 1)] : [];
        }

        var colon = authority.IndexOf(':');
        return colon >= 0 ? authority[..colon] : authority;
    }

    private static bool MightHaveLink(string text) =>
        text.Contains("://", StringComparison.Ordinal) || text.Contains("www.", StringComparison.OrdinalIgnoreCase);

    // Scheme URLs and the bare "www." form that chat clients turn into links.
    [GeneratedRegex(@"(?:\b[a-z][a-z0-9+.\-]*://|\bwww\.)[^\s<>""'\])]+", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant, 250)]
    private static partial Regex UrlRegex();
}
