using System.CommandLine;
using System.Security.Cryptography;
using Bridge.Host.Admin.Access;

namespace Bridge.Host.Cli;

/// <summary><c>bridge admin hash-token [--generate]</c>: the configuration form of an admin API token.</summary>
internal static class AdminCommand
{
    public static Command Create(Func<TextReader> input)
    {
        var generate = new Option<bool>("--generate") { Description = "make a new random token (32 bytes) and print it with its hash" };
        var hash = new Command("hash-token", "print sha256:<hex> for a token read from standard input (or a new one with --generate), for admin:tokens:<name>:hash");
        hash.Options.Add(generate);
        hash.SetAction(parse =>
        {
            var output = parse.InvocationConfiguration.Output;
            string token;
            if (parse.GetValue(generate))
            {
                token = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
                output.WriteLine($"token: {token}");
            }
            else
            {
                // From standard input, never an argument: arguments end up in shell history and process listings.
                token = (input().ReadLine() ?? "").Trim();
                if (token.Length < 16)
                {
                    parse.InvocationConfiguration.Error.WriteLine("error: give the token on standard input (at least 16 characters; --generate makes a random one)");
                    return 1;
                }
            }

            output.WriteLine($"hash: {TokenHash.Of(token)}");
            return 0;
        });
        var admin = new Command("admin", "admin API helpers");
        admin.Subcommands.Add(hash);
        return admin;
    }
}
