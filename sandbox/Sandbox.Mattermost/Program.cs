using System.Globalization;
using System.Runtime.InteropServices;
using Sandbox.Mattermost;

// Executable entry for demos and manual testing:
//   dotnet Sandbox.Mattermost.dll --port 8065 --admin-user admin --admin-password secret [--enable-tokens true|false]
//     [--enable-bots true|false] [--username-override true|false] [--rate-limit true|false] [--team demo] [--channel town-square]
var options = new Dictionary<string, string>(StringComparer.Ordinal);
for (var i = 0; i + 1 < args.Length; i += 2)
{
    if (!args[i].StartsWith("--", StringComparison.Ordinal))
    {
        await Console.Error.WriteLineAsync($"unexpected argument '{args[i]}'");
        return 2;
    }
    options[args[i][2..]] = args[i + 1];
}
if (args.Length % 2 != 0)
{
    await Console.Error.WriteLineAsync("every option takes a value, e.g. --port 8065");
    return 2;
}

string Opt(string name, string fallback) => options.TryGetValue(name, out var v) ? v : fallback;
bool Flag(string name, bool fallback) => options.TryGetValue(name, out var v) ? bool.Parse(v) : fallback;

var settings = new SandboxSettings
{
    EnableUserAccessTokens = Flag("enable-tokens", true),
    EnableBotAccountCreation = Flag("enable-bots", true),
    EnablePostUsernameOverride = Flag("username-override", true),
    EnablePostIconOverride = Flag("username-override", true),
    EnableGuestAccounts = Flag("enable-guests", true),
    RateLimitEnable = Flag("rate-limit", false),
};
await using var sandbox = new MattermostSandbox(settings);
await sandbox.StartAsync(int.Parse(Opt("port", "8065"), CultureInfo.InvariantCulture));
var seed = sandbox.Seed(Opt("admin-user", "admin"), Opt("admin-password", "Admin-Passw0rd!"), Opt("team", "demo"), Opt("channel", "town-square"));
Console.WriteLine($"Sandbox.Mattermost ready url={sandbox.BaseUrl.ToString().TrimEnd('/')} team={seed.Team.Name} channel={seed.Channel.Name} admin={seed.Admin.Username} admin_token={seed.AdminToken} tokens={settings.EnableUserAccessTokens.ToString().ToLowerInvariant()}");

var stop = new TaskCompletionSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    stop.TrySetResult();
};
using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, ctx =>
{
    ctx.Cancel = true;
    stop.TrySetResult();
});
await stop.Task;
return 0;
