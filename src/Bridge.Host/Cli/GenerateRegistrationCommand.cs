using System.CommandLine;
using Bridge.Matrix.Registration;

namespace Bridge.Host.Cli;

/// <summary><c>bridge generate-registration --config FILE --out registration.yaml [--network ID] [--force]</c>.</summary>
internal static class GenerateRegistrationCommand
{
    public static Command Create()
    {
        var config = BridgeCli.ConfigOption();
        var output = new Option<FileInfo>("--out", "-o") { Description = "where to write the appservice registration", Required = true };
        var network = new Option<string?>("--network") { Description = "the Matrix network, when several are configured" };
        var force = new Option<bool>("--force") { Description = "replace a registration whose tokens may be in use" };
        var command = new Command("generate-registration", "write the Matrix appservice registration file (fresh tokens) for the homeserver");
        command.Options.Add(config);
        command.Options.Add(output);
        command.Options.Add(network);
        command.Options.Add(force);
        command.SetAction(async (parse, cancellationToken) =>
        {
            // Only the file is read here: full validation would demand the registration this verb is about to create.
            var root = Configuration.BridgeConfiguration.Load(parse.GetValue(config)!.FullName, reloadOnChange: false);
            using var disposable = root as IDisposable;
            var result = await RegistrationGenerator.GenerateFromConfigurationAsync(root,
                parse.GetValue(network), parse.GetValue(output)!.FullName, parse.GetValue(force), cancellationToken);
            (result.Success ? parse.InvocationConfiguration.Output : parse.InvocationConfiguration.Error).WriteLine(result.Message);
            return result.Success ? 0 : 1;
        });
        return command;
    }
}
