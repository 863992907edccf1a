using Bridge.Demo;

var once = args.Contains("--once");
using var cts = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    cts.Cancel();
};
await using var demo = new DemoRun(Console.Out);
return await demo.RunAsync(once, cts.Token);
