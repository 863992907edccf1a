using System.Text;
using Bridge.Storm;
using Xunit.Abstractions;

namespace Bridge.Tests.EndToEnd;

/// <summary>
/// Issue 13 in the default suite: the crash storm of <c>scripts/storm.sh</c> (tools/Bridge.Storm, the same code) at 10
/// kills, half SIGKILL and half SIGTERM, over Prosody, the sandbox Matrix homeserver and the sandbox Mattermost server.
/// Fails on any loss, duplicate or reordering of messages, edits, reactions or files; the table and seed are printed.
/// </summary>
[Collection(EndToEndCollection.Name)]
public sealed class CrashStormTests(ITestOutputHelper output)
{
    /// <summary>Fixed, so a failure repeats with <c>scripts/storm.sh --kills 10 --seed 1313 --rate 2</c>.</summary>
    private const int Seed = 1313;

    [Fact]
    public async Task Ten_kills_lose_double_and_reorder_nothing_on_any_directed_pair()
    {
        // A gentle pace and a long settle: the machine running the suite may be slow and shared; the storm's strictness
        // is in its counts, which are exact, never in how fast anything arrives.
        var options = new StormOptions
        {
            Kills = 10,
            Seed = Seed,
            ActionsPerSecond = 2,
            SettleTimeout = TimeSpan.FromSeconds(120),
        };
        using var log = new OutputWriter(output);
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(20));

        var report = await new StormRun(options, log).RunAsync(timeout.Token);

        var table = new StringWriter();
        report.Print(table);
        output.WriteLine(table.ToString());
        Assert.True(report.Counts.Sum(c => c.Sent) > 0, "the storm sent nothing");
        Assert.Equal(options.Kills, report.Kills.Count);
        Assert.True(report.Passed, table.ToString());
    }

    /// <summary>The storm's progress lines, as they happen, in the test's output.</summary>
    private sealed class OutputWriter(ITestOutputHelper output) : TextWriter
    {
        private readonly StringBuilder _line = new();

        public override Encoding Encoding => Encoding.UTF8;

        public override void Write(char value)
        {
            lock (_line)
            {
                if (value != '\n')
                {
                    _line.Append(value);
                    return;
                }

                output.WriteLine(_line.ToString());
                _line.Clear();
            }
        }
    }
}
