using System.CommandLine;
using System.Diagnostics;
using System.Text.Json.Nodes;
using Bridge.Host.Cli;
using Bridge.Testing;

namespace Bridge.Tests.HostTests;

/// <summary>
/// <c>bridge policy test</c> on the coalition configuration (examples/coalition.yaml: mm-a SECRET/default CUI,
/// matrix-b CUI/UNCLASSIFIED, xmpp-c UNCLASSIFIED/UNCLASSIFIED).
/// </summary>
public sealed class PolicyTestCommandTests
{
    private static readonly string Coalition = Path.Combine(RepoPaths.Root, "examples", "coalition.yaml");

    [Theory]
    [InlineData("matrix-b", null, "[SECRET] hi", "SECRET", "R-L3", new[] { "mm-a" })]
    [InlineData("mm-a", null, "hi", "CUI", "default", new[] { "matrix-b" })]
    [InlineData("xmpp-c", "CUI", "hi", "CUI", "R-S1", new[] { "mm-a", "matrix-b" })]
    [InlineData("xmpp-c", null, "hi", "UNCLASSIFIED", "default", new[] { "mm-a", "matrix-b" })]
    public async Task One_event_prints_its_label_rule_and_destinations(string from, string? label, string text, string expectedLabel, string expectedRule, string[] expectedTo)
    {
        string[] args = ["policy", "test", "--config", Coalition, "--from", from, .. label is null ? Array.Empty<string>() : ["--label", label], text];

        var (code, output, error) = await RunAsync(args);

        Assert.True(code == 0, error);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.Equal($"label: {expectedLabel}", lines[0]);
        Assert.Equal($"to:    {string.Join(", ", expectedTo)}", lines[2]);
        Assert.Equal($"rule:  {expectedRule}", lines[1]);
    }

    [Fact]
    public async Task Jsonl_answers_every_line_in_order_and_a_bad_line_gets_an_error_line_and_a_failing_exit()
    {
        const string input = """
            {"from": "matrix-b", "text": "[SECRET] hi"}
            not json
            {"from": "mm-a", "text": "hi"}
            {"from": "nowhere", "text": "hi"}
            {"from": "xmpp-c", "text": "hi", "label": "CUI"}
            {"from": "xmpp-c", "text": 5}
            {"from": "xmpp-c", "text": "hi", "kind": "poll"}
            {"from": "xmpp-c", "text": "hi", "link": "coalition"}
            """;

        var (code, output, _) = await RunAsync(["policy", "test", "--config", Coalition, "--jsonl"], input);

        Assert.Equal(1, code);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonNode.Parse(l)!.AsObject()).ToList();
        Assert.Equal(8, lines.Count);
        AssertAnswer(lines[0], "SECRET", "R-L3", "mm-a");
        Assert.Equal(2, (int)lines[1]["line"]!);
        Assert.StartsWith("not JSON", (string)lines[1]["error"]!, StringComparison.Ordinal);
        AssertAnswer(lines[2], "CUI", "default", "matrix-b");
        Assert.Contains("'nowhere' is not a configured network", (string)lines[3]["error"]!, StringComparison.Ordinal);
        AssertAnswer(lines[4], "CUI", "R-S1", "mm-a", "matrix-b");
        Assert.Contains("'text' must be a string", (string)lines[5]["error"]!, StringComparison.Ordinal);
        Assert.Contains("kind 'poll'", (string)lines[6]["error"]!, StringComparison.Ordinal);
        AssertAnswer(lines[7], "UNCLASSIFIED", "default", "mm-a", "matrix-b");
    }

    [Fact]
    public async Task Jsonl_classifies_lone_surrogates_and_non_string_labels_instead_of_stopping()
    {
        var input = string.Join("\n",
            "{\"from\": \"xmpp-c\", \"text\": \"\\ud800[SECRET] x\"}",
            "{\"from\": \"xmpp-c\", \"text\": \"hi\", \"label\": null}",
            "{\"from\": \"xmpp-c\", \"text\": \"hi\", \"label\": 3}",
            "{\"from\": \"mm-a\", \"text\": \"[UNCLASSIFIED] hi\"}") + "\n";
        var (code, output, error) = await RunAsync(["policy", "test", "--config", Coalition, "--jsonl"], input);

        Assert.True(code == 0, error);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonNode.Parse(l)!.AsObject()).ToList();
        Assert.Equal(4, lines.Count);
        AssertAnswer(lines[0], "SECRET", "R-L3", "mm-a");
        AssertAnswer(lines[1], "SECRET", "R-S1", "mm-a");
        AssertAnswer(lines[2], "SECRET", "R-S1", "mm-a");
        AssertAnswer(lines[3], "UNCLASSIFIED", "R-L3", "matrix-b", "xmpp-c");
    }

    [Fact]
    public async Task Jsonl_with_only_good_lines_exits_zero()
    {
        var (code, output, error) = await RunAsync(["policy", "test", "--config", Coalition, "--jsonl"], "{\"from\": \"mm-a\", \"text\": \"[UNCLASSIFIED] hi\"}\n\n");

        Assert.True(code == 0, error);
        var answer = JsonNode.Parse(output.Trim())!.AsObject();
        Assert.Equal("UNCLASSIFIED", (string?)answer["label"]);
        Assert.Equal(["matrix-b", "xmpp-c"], answer["to"]!.AsArray().Select(n => (string)n!));
    }

    [Fact]
    public async Task A_reaction_key_and_a_file_name_are_classified()
    {
        var reaction = await RunAsync(["policy", "test", "--config", Coalition, "--from", "matrix-b", "--kind", "reaction", "[SECRET]"]);
        var file = await RunAsync(["policy", "test", "--config", Coalition, "--from", "xmpp-c", "--kind", "file", "--file-name", "[CUI] plan.pdf", "see attached"]);

        Assert.Contains("label: SECRET", reaction.Output, StringComparison.Ordinal);
        Assert.Contains("to:    mm-a\n", reaction.Output, StringComparison.Ordinal);
        Assert.Contains("label: CUI", file.Output, StringComparison.Ordinal);
        Assert.Contains("to:    mm-a, matrix-b\n", file.Output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(new[] { "--from", "nowhere", "hi" }, "'nowhere' is not a configured network")]
    [InlineData(new[] { "--from", "mm-a", "--link", "other", "hi" }, "'other' is not a configured link")]
    [InlineData(new[] { "--from", "mm-a", "--kind", "file", "hi" }, "needs a file name")]
    [InlineData(new[] { "hi" }, "give --from NETWORK")]
    public async Task A_bad_question_is_an_error(string[] extra, string message)
    {
        var (code, _, error) = await RunAsync(["policy", "test", "--config", Coalition, .. extra]);

        Assert.Equal(1, code);
        Assert.Contains(message, error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_configuration_the_daemon_would_refuse_is_refused()
    {
        using var dir = new TempDirectory();
        var path = dir.File("bridge.yaml");
        await File.WriteAllTextAsync(path, (await File.ReadAllTextAsync(Coalition)).Replace("    clearance: CUI", "    clearence: CUI", StringComparison.Ordinal));

        var (code, _, error) = await RunAsync(["policy", "test", "--config", path, "--from", "mm-a", "hi"]);

        Assert.Equal(1, code);
        Assert.Contains("networks:matrix-b:clearence: unknown key; did you mean 'clearance'?", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_built_executable_answers_jsonl_from_standard_input()
    {
        var info = new ProcessStartInfo(Path.Combine(AppContext.BaseDirectory, "bridge"))
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in new[] { "policy", "test", "--config", Coalition, "--jsonl" })
        {
            info.ArgumentList.Add(a);
        }

        using var process = Process.Start(info)!;
        await process.StandardInput.WriteLineAsync("""{"from": "matrix-b", "text": "[SECRET] hi"}""");
        await process.StandardInput.WriteLineAsync("""{"from": "xmpp-c", "text": "hi", "label": "CUI"}""");
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(cts.Token);

        Assert.True(process.ExitCode == 0, await stderr);
        var lines = (await stdout).Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonNode.Parse(l)!.AsObject()).ToList();
        Assert.Equal(2, lines.Count);
        AssertAnswer(lines[0], "SECRET", "R-L3", "mm-a");
        AssertAnswer(lines[1], "CUI", "R-S1", "mm-a", "matrix-b");
    }

    /// <summary>Labels and destinations first: the rule ids come from the classifier.</summary>
    private static void AssertAnswer(JsonObject answer, string label, string rule, params string[] to)
    {
        Assert.Equal(label, (string?)answer["label"]);
        Assert.Equal(to, answer["to"]!.AsArray().Select(n => (string)n!));
        Assert.Equal(rule, (string?)answer["rule"]);
    }

    private static async Task<(int Code, string Output, string Error)> RunAsync(string[] args, string input = "")
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        using var stdin = new StringReader(input);
        var code = await BridgeCli.Build(stdin).Parse(args).InvokeAsync(new InvocationConfiguration { Output = output, Error = error });
        return (code, output.ToString(), error.ToString());
    }
}
