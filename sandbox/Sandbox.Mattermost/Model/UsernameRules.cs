using System.Text.RegularExpressions;

namespace Sandbox.Mattermost.Model;

/// <summary>The server's own checks (model/user.go), not the webapp's stricter 3–22 rule.</summary>
internal static partial class UsernameRules
{
    public const int MaxLength = 64;
    private static readonly HashSet<string> Restricted = ["all", "channel", "matterbot", "system"];

    [GeneratedRegex(@"^[a-z0-9\.\-_]+$")]
    private static partial Regex ValidChars();

    [GeneratedRegex(@"^[a-z0-9!#$%&'*+/=?^_`{|}~.\-]+@[a-z0-9\-]+(\.[a-z0-9\-]+)*$")]
    private static partial Regex ValidEmail();

    public static string Normalize(string username) => username.ToLowerInvariant();

    public static bool IsValid(string username) =>
        username.Length is >= 1 and <= MaxLength && ValidChars().IsMatch(username) && !Restricted.Contains(username);

    public static bool IsValidEmail(string email) => email.Length <= 128 && ValidEmail().IsMatch(email);
}
