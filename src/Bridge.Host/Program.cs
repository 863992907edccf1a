using System.CommandLine;
using Bridge.Host.Cli;
using Bridge.Host.Composition;

// Before the host starts its threads: later threads share two C heap arenas instead of making up to 16 (NativeHeapTrim).
GlibcHeap.LimitArenas();

// The generic host owns SIGTERM/SIGINT (it drains deliveries and leaves rooms); System.CommandLine must not cut that short.
return await BridgeCli.Build().Parse(args).InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null });
