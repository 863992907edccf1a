using Bridge.Core.Connectors.Capabilities;
using Bridge.Matrix.Connector;
using Bridge.Mattermost;
using Bridge.Testing;
using Bridge.Xmpp;

namespace Bridge.Tests.Core;

/// <summary>docs/capabilities.md says what each connector declares: the table is read and compared with the code.</summary>
public sealed class CapabilityTableTests
{
    private static string Cell(bool b) => b ? "yes" : "no";

    private static IEnumerable<(string Row, Func<NetworkCapabilities, string> Value)> Rows() =>
    [
        ("edits", c => Cell(c.Edits)),
        ("deletes", c => Cell(c.Deletes)),
        ("reactions", c => Cell(c.Reactions)),
        ("reaction removal", c => Cell(c.ReactionRemoval)),
        ("reaction keys", c => c.ReactionKeys),
        ("replies", c => Cell(c.Replies)),
        ("threads", c => Cell(c.Threads)),
        ("files", c => Cell(c.Files)),
        ("rich text", c => c.RichText.ToString()),
        ("typing", c => Cell(c.Typing)),
    ];

    [Fact]
    public void The_documented_table_is_what_the_connectors_declare()
    {
        var lines = File.ReadAllLines(Path.Combine(RepoPaths.Root, "docs", "capabilities.md"));
        var header = Assert.Single(lines, l => l.StartsWith("| capability |", StringComparison.Ordinal));
        Assert.Equal("| capability | Mattermost | Matrix | XMPP |", header);
        var table = lines.Where(l => l.StartsWith("| ", StringComparison.Ordinal))
            .Select(l => l.Trim('|').Split(" | ").Select(c => c.Trim()).ToArray())
            .GroupBy(c => c[0]).ToDictionary(g => g.Key, g => g.First());
        var declared = new[] { MattermostConnector.Declared, MatrixConnector.Declared, XmppConnector.Declared };
        foreach (var (row, value) in Rows())
        {
            Assert.True(table.TryGetValue(row, out var cells), $"docs/capabilities.md has no row '{row}'");
            Assert.Equal(declared.Select(value).ToArray(), cells[1..]);
        }
    }
}
