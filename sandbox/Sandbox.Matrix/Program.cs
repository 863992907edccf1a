using System.Globalization;
using System.Runtime.InteropServices;
using Sandbox.Matrix;

// Demo entry point: dotnet Sandbox.Matrix.dll --port P --server-name localhost --registration FILE [--state-dir DIR]
var options = new MatrixSandboxOptions { TransactionRetryMax = TimeSpan.FromSeconds(10) };
var registrations = new List<string>();
string? stateDir = null;
for (var i = 0; i < args.Length; i++)
{
    string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException("Missing value after " + args[i]);
    switch (args[i])
    {
        case "--port":
            options.Port = int.Parse(Next(), CultureInfo.InvariantCulture);
            break;
        case "--server-name":
            options.ServerName = Next();
            break;
        case "--bind":
            options.BindAddress = Next();
            break;
        case "--registration":
            registrations.Add(Next());
            break;
        case "--state-dir":
            stateDir = Next();
            break;
        case "--legacy-appservice-paths":
            options.UseLegacyAppservicePaths = true;
            break;
        default:
            Console.Error.WriteLine($"unknown argument {args[i]}");
            Console.Error.WriteLine("usage: Sandbox.Matrix --port P --server-name NAME --registration FILE [--state-dir DIR] [--bind ADDR] [--legacy-appservice-paths]");
            return 2;
    }
}

await using var sandbox = new MatrixSandbox(options, consoleLogging: true);
foreach (var file in registrations)
{
    var reg = sandbox.LoadRegistrationFile(file);
    Console.WriteLine($"loaded appservice registration '{reg.Id}' from {file}");
}

await sandbox.StartAsync();
if (stateDir is not null)
{
    // State is kept in memory; the directory receives the endpoint so scripts can find the server.
    Directory.CreateDirectory(stateDir);
    await File.WriteAllTextAsync(Path.Combine(stateDir, "matrix-sandbox.url"), sandbox.BaseUrl + Environment.NewLine);
}

var stop = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, ctx => { ctx.Cancel = true; stop.TrySetResult(); });
using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, ctx => { ctx.Cancel = true; stop.TrySetResult(); });
Console.WriteLine($"READY matrix sandbox listening on {sandbox.BaseUrl} server_name={sandbox.ServerName}");
await stop.Task;
await sandbox.StopAsync();
return 0;
