using System.CommandLine;
using Bridge.Host.Cli;

// The generic host owns SIGTERM/SIGINT (it drains deliveries and leaves rooms); System.CommandLine must not cut that short.
return await BridgeCli.Build().Parse(args).InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null });
