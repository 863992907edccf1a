namespace Bridge.Core.Model;

/// <summary>The markup a message's plain text carries at its source.</summary>
public enum TextFormat
{
    /// <summary>Text shown as it is (Matrix <c>body</c>, notices from the bridge).</summary>
    Plain,

    /// <summary>Mattermost Markdown (CommonMark with pipe tables, strikethrough, autolinks; newlines are line breaks).</summary>
    Markdown,

    /// <summary>XEP-0393 message styling (*bold*, _italic_, ~strike~, `code`, ``` blocks, &gt; quotes).</summary>
    Styling,
}
