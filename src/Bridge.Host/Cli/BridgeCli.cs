using System.CommandLine;

namespace Bridge.Host.Cli;

/// <summary>The <c>bridge</c> executable's verbs.</summary>
internal static class BridgeCli
{
    /// <param name="input">Standard input, for verbs that read it (tests pass their own).</param>
    public static RootCommand Build(TextReader? input = null)
    {
        var root = new RootCommand("A bridge between Mattermost, Matrix and XMPP: shared channels, per-person puppets, sharing policy and an audit trail.");
        root.Subcommands.Add(RunCommand.Create());
        root.Subcommands.Add(CheckConfigCommand.Create());
        root.Subcommands.Add(AuditCommand.Create());
        root.Subcommands.Add(GenerateRegistrationCommand.Create());
        root.Subcommands.Add(PolicyCommand.Create(() => input ?? Console.In));
        root.Subcommands.Add(AdminCommand.Create(() => input ?? Console.In));
        root.Subcommands.Add(LinksCommand.Links());
        root.Subcommands.Add(LinksCommand.DeadLetters());
        root.Subcommands.Add(LinksCommand.Puppets());
        return root;
    }

    /// <summary>The <c>--config FILE</c> option every verb takes.</summary>
    public static Option<FileInfo> ConfigOption() => new("--config", "-c")
    {
        Description = "the YAML configuration file",
        Required = true,
    };
}
