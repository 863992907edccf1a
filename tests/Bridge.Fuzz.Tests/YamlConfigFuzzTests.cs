using System.Text;
using Bridge.Host.Cli;

namespace Bridge.Fuzz.Tests;

/// <summary>
/// The configuration reader behind <c>bridge check-config</c> (YAML file → flattened keys → validated settings) on
/// mutated configuration files: every text gives either a configuration or an error message printed the documented way
/// ("error: FILE …"), never an exception out of the reader.
/// </summary>
public sealed class YamlConfigFuzzTests : IDisposable
{
    private const string Valid = """
        database:
          provider: sqlite
          sqlite:
            path: /tmp/bridge-fuzz-never-opened.db
        networks:
          xmpp-a:
            kind: xmpp
            organisation: org-a
            defaultLabel: UNCLASSIFIED
            clearance: CUI
            xmpp:
              host: 127.0.0.1
              port: 5347
              componentDomain: bridge.a.example.org
              secret: change-me
          mm:
            kind: mattermost
            organisation: org-d
            defaultLabel: CUI
            clearance: SECRET
            mattermost:
              url: https://mattermost.example.org
              token: admin-or-bot-token
              team: ops
        links:
          ops:
            endpoints:
              - network: xmpp-a
                channel: ops@conference.a.example.org
              - network: mm
                channel: ops/town-square
        policy:
          labels: [UNCLASSIFIED, CUI, SECRET]
          defaults:
            content:
              redact:
                - name: card-number
                  pattern: '\b(?:\d[ -]?){13,16}\b'
        """;

    private static readonly string[] Corpus =
    [
        Valid,
        Valid.Replace("labels: [UNCLASSIFIED, CUI, SECRET]", "labels:\n    - UNCLASSIFIED\n    - CUI\n    - SECRET", StringComparison.Ordinal),
        "networks: {a: {kind: xmpp, xmpp: {host: h, componentDomain: d, secret: s}}}\nlinks: {}\n",
        "# only a comment\n",
        "database: &db\n  provider: sqlite\nother: *db\n",
    ];

    private static readonly string[] Tokens =
    [
        ":", ": ", "- ", "-", "\n", "\n  ", "\n    ", "\t", " ", "#", "'", "\"", "\\", "{", "}", "[", "]", ",", "?", "? ", "|", ">", "!", "!!str ", "!!map", "!!binary ", "!<tag:x>", "%YAML 1.2\n",
        "---\n", "...\n", "&a ", "*a", "&b [*a, *a, *a, *a]", "<<: *a", "~", "null", "true", "0x1F", "1e999", "-.inf", ".nan", "00:00:01", "99999999999999999999", "kind: ", "kind: xmpp",
        "kind: matrix", "networks:", "links:", "policy:", "labels: []", "clearance: ", "defaultLabel: ", "port: -1", "port: 70000", "pattern: '('", "pattern: '(a+)+$'", "url: ::",
        "? [a, b]\n: c", "? {a: 1}\n: c", "[[[[", "]]]]", "{{{{", "\ufeff", "\u0000", "\u0085", "\u2028", "\ud800",
    ];

    private static readonly Gen<string> Inputs = Gen.Frequency(
        (8, Mutator.Strings(Corpus, Tokens, maxEdits: 6)),
        (1, Mutator.Tokens(Tokens, 40)),
        (1, Mutator.Random(60)));

    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("bridge-fuzz-yaml-");

    public void Dispose() => _dir.Delete(recursive: true);

    [Fact]
    public void Any_text_is_a_configuration_or_a_printed_error() =>
        FuzzRunner.Run("yaml-config", Inputs, text =>
        {
            var file = new FileInfo(Path.Combine(_dir.FullName, "bridge.yaml"));
            File.WriteAllText(file.FullName, text, new UTF8Encoding(false));
            var errors = new StringWriter();
            var (root, settings) = ConfigLoading.Load(file, reloadOnChange: false, errors);
            if (root is null || settings is null)
            {
                Assert.StartsWith("error: ", errors.ToString(), StringComparison.Ordinal);
                return false;
            }

            (root as IDisposable)?.Dispose();
            Assert.NotEmpty(settings.Topology.Networks);
            return true;
        }, Mutator.Show);
}
