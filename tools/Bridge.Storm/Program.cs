using System.Globalization;
using Bridge.Storm;

// Usage: Bridge.Storm [--kills N] [--seed S] [--rate ACTIONS_PER_SECOND] [--logs DIR] [--log-level Debug]
// Exit code: 0 when every action arrived exactly once everywhere and in order, 1 otherwise, 2 on a usage error.
var options = new StormOptions();
try
{
    for (var i = 0; i < args.Length; i++)
    {
        var value = i + 1 < args.Length ? args[i + 1] : throw new ArgumentException($"{args[i]} needs a value");
        options = args[i] switch
        {
            "--kills" => options with { Kills = int.Parse(value, CultureInfo.InvariantCulture) },
            "--seed" => options with { Seed = int.Parse(value, CultureInfo.InvariantCulture) },
            "--rate" => options with { ActionsPerSecond = double.Parse(value, CultureInfo.InvariantCulture) },
            "--logs" => options with { LogDirectory = Path.GetFullPath(value) },
            "--log-level" => options with { DaemonLogLevel = value },
            _ => throw new ArgumentException($"unknown option {args[i]}"),
        };
        i++;
    }

    options.Validate();
}
catch (Exception ex) when (ex is ArgumentException or FormatException or OverflowException)
{
    Console.Error.WriteLine($"storm: {ex.Message}\nusage: storm [--kills N] [--seed S] [--rate ACTIONS_PER_SECOND] [--logs DIR] [--log-level Debug]");
    return 2;
}

using var cts = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    cts.Cancel();
};
var report = await new StormRun(options, Console.Out).RunAsync(cts.Token);
report.Print(Console.Out);
if (options.LogDirectory is not null)
{
    Console.WriteLine($"storm: daemon output of each run in {options.LogDirectory}");
}

return report.Passed ? 0 : 1;
