using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Bridge.Host.Cli;

/// <summary>
/// <c>bridge policy test --config FILE --from NETWORK [--link LINK] [--label STRUCTURED] [--file-name NAME]
/// [--kind message|reaction|file] TEXT</c>, or <c>--jsonl</c> with one event per line on standard input: the decided
/// label, the rule that decided it, and the networks the event would reach, by the daemon's own code.
/// </summary>
internal static partial class PolicyCommand
{
    public static Command Create(Func<TextReader> input)
    {
        var policy = new Command("policy", "check a sharing policy before deploying it");
        policy.Subcommands.Add(Test(input));
        return policy;
    }

    private static Command Test(Func<TextReader> input)
    {
        var config = BridgeCli.ConfigOption();
        var from = new Option<string?>("--from") { Description = "the network the event comes from" };
        var link = new Option<string?>("--link") { Description = "only this link (default: every link with an endpoint on --from)" };
        var label = new Option<string?>("--label") { Description = "a structured label the event carries (as a connector would read it)" };
        var fileName = new Option<string?>("--file-name") { Description = "the attachment's file name (a file event)" };
        var kind = new Option<string?>("--kind") { Description = "message (default), reaction (TEXT is the reaction key) or file (TEXT is the caption)" };
        var jsonl = new Option<bool>("--jsonl") { Description = "read events from standard input, one JSON object per line; write one JSON line per event" };
        var text = new Argument<string?>("TEXT") { Description = "the message text, reaction key or caption", Arity = ArgumentArity.ZeroOrOne };
        var command = new Command("test", "print the label an event would get, the rule that decided it, and the networks it would reach");
        foreach (var o in new Option[] { config, from, link, label, fileName, kind, jsonl })
        {
            command.Options.Add(o);
        }

        command.Arguments.Add(text);
        command.SetAction(async (parse, cancellationToken) =>
        {
            var output = parse.InvocationConfiguration.Output;
            var error = parse.InvocationConfiguration.Error;
            if (parse.GetValue(jsonl))
            {
                if (parse.GetValue(from) is not null || parse.GetValue(text) is not null || parse.GetValue(link) is not null ||
                    parse.GetValue(label) is not null || parse.GetValue(fileName) is not null || parse.GetValue(kind) is not null)
                {
                    await error.WriteLineAsync("error: with --jsonl every event comes from standard input; give only --config");
                    return 1;
                }
            }
            else if (parse.GetValue(from) is null || (parse.GetValue(text) is null && parse.GetValue(fileName) is null))
            {
                await error.WriteLineAsync("error: give --from NETWORK and the TEXT (or --jsonl)");
                return 1;
            }

            var (root, settings) = ConfigLoading.Load(parse.GetValue(config)!, reloadOnChange: false, error);
            if (root is null || settings is null)
            {
                return 1;
            }

            (root as IDisposable)?.Dispose();
            var tester = new PolicyTester(settings.Topology, settings.Policy);
            if (parse.GetValue(jsonl))
            {
                return await RunLinesAsync(tester, input(), output, cancellationToken);
            }

            // A file without a caption needs no TEXT.
            var (result, problem) = tester.Test(new PolicyTestInput(parse.GetValue(from)!, parse.GetValue(text) ?? "", parse.GetValue(link),
                parse.GetValue(label), parse.GetValue(fileName), parse.GetValue(kind)));
            if (result is null)
            {
                await error.WriteLineAsync($"error: {problem}");
                return 1;
            }

            await output.WriteLineAsync($"label: {result.Label ?? "(none: the policy defines no labels)"}");
            await output.WriteLineAsync($"rule:  {result.Rule ?? "(not reported)"}");
            await output.WriteLineAsync($"to:    {(result.To.Count == 0 ? "(nowhere)" : string.Join(", ", result.To))}");
            foreach (var (network, rule) in result.NotTo)
            {
                await output.WriteLineAsync($"not to {network} (rule: {rule})");
            }

            return 0;
        });
        return command;
    }

    /// <summary>One JSON line out per line in, in order; a bad line gets an error line and a non-zero exit at the end.</summary>
    internal static async Task<int> RunLinesAsync(PolicyTester tester, TextReader input, TextWriter output, CancellationToken cancellationToken)
    {
        var failed = false;
        var number = 0;
        while (await input.ReadLineAsync(cancellationToken) is { } line)
        {
            number++;
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }

            JsonObject answer;
            if (!TryParse(line, out var parsed, out var problem))
            {
                answer = Error(number, problem);
            }
            else
            {
                var (result, testProblem) = tester.Test(parsed!);
                answer = result is null
                    ? Error(number, testProblem!)
                    : new JsonObject
                    {
                        ["label"] = result.Label,
                        ["rule"] = result.Rule,
                        ["to"] = new JsonArray([.. result.To.Select(t => (JsonNode)JsonValue.Create(t))]),
                    };
            }

            failed |= answer.ContainsKey("error");
            await output.WriteLineAsync(answer.ToJsonString(JsonLine));
        }

        return failed ? 1 : 0;
    }

    private static JsonObject Error(int line, string message) => new() { ["line"] = line, ["error"] = message };

    /// <summary>Readable lines (no \u0027 for an apostrophe); quotes and control characters are still escaped.</summary>
    private static readonly JsonSerializerOptions JsonLine = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private static readonly string[] Fields = ["from", "text", "label", "file_name", "kind", "link"];

    private static bool TryParse(string line, out PolicyTestInput? input, out string problem)
    {
        input = null;
        problem = "";
        JsonNode? node;
        try
        {
            // A lone surrogate escape (\ud800) is valid JSON but no string .NET can read: it stands for U+FFFD, as the
            // classifier reads a lone surrogate from any network, so the line is classified instead of refused.
            node = JsonNode.Parse(LoneSurrogateEscape().Replace(line, "\\ufffd"));
        }
        catch (JsonException ex)
        {
            problem = "not JSON: " + ex.Message;
            return false;
        }

        if (node is not JsonObject o)
        {
            problem = "expected a JSON object";
            return false;
        }

        foreach (var (key, _) in o)
        {
            if (!Fields.Contains(key, StringComparer.Ordinal))
            {
                problem = $"unknown field '{key}' (fields: {string.Join(", ", Fields)})";
                return false;
            }
        }

        var values = new Dictionary<string, string?>(StringComparer.Ordinal);
        foreach (var field in Fields)
        {
            if (!o.TryGetPropertyValue(field, out var v) || v is null)
            {
                // A structured label that is present but null is not a string: it ranks highest (R-S1), as in the daemon.
                values[field] = field == "label" && o.ContainsKey(field) ? Bridge.Core.Model.StructuredLabel.NotAString : null;
                continue;
            }

            if (v.GetValueKind() != JsonValueKind.String)
            {
                if (field == "label")
                {
                    values[field] = Bridge.Core.Model.StructuredLabel.NotAString; // a number, list or object as the label: highest (R-S1)
                    continue;
                }

                problem = $"'{field}' must be a string";
                return false;
            }

            try
            {
                values[field] = v.GetValue<string>();
            }
            catch (InvalidOperationException)
            {
                problem = $"'{field}' is not valid UTF-16 text";
                return false;
            }
        }

        if (values["from"] is null || (values["text"] is null && values["file_name"] is null))
        {
            problem = "'from' and 'text' are required ('text' may be left out for a file without a caption)";
            return false;
        }

        input = new PolicyTestInput(values["from"]!, values["text"] ?? "", values["link"], values["label"], values["file_name"], values["kind"]);
        return true;
    }

    /// <summary>A \uD800–\uDFFF escape that is not half of a pair (an even run of backslashes before it, so it is an escape).</summary>
    [System.Text.RegularExpressions.GeneratedRegex(@"(?<=(?:^|[^\\])(?:\\\\)*)(?:\\u[dD][89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F][0-9a-fA-F]{2})|(?<!\\u[dD][89abAB][0-9a-fA-F]{2})\\u[dD][c-fC-F][0-9a-fA-F]{2})")]
    private static partial System.Text.RegularExpressions.Regex LoneSurrogateEscape();
}
