using System.Text;

namespace Bridge.Host.Configuration;

/// <summary>
/// <c>${NAME}</c> in a value of the configuration file is replaced by the environment variable <c>NAME</c>, so secrets
/// (tokens, shared secrets, passwords in connection strings) stay out of the file; <c>$${</c> is a literal <c>${</c>.
/// </summary>
/// <remarks>
/// A reference to a variable that is not set, or one that is malformed, is an error naming the key: taking the text
/// literally would make <c>${MM_TOKEN}</c> the token, and an empty value could turn a setting off. Error messages never
/// quote a value, only the variable's name.
/// </remarks>
internal static class EnvironmentSubstitution
{
    public static string? Apply(string? value, string key, Func<string, string?> lookup)
    {
        if (value is null || !value.Contains('$', StringComparison.Ordinal))
        {
            return value;
        }

        var result = new StringBuilder(value.Length);
        var i = 0;
        while (i < value.Length)
        {
            var c = value[i];
            if (c == '$' && i + 2 < value.Length && value[i + 1] == '$' && value[i + 2] == '{')
            {
                result.Append("${");
                i += 3;
                continue;
            }

            if (c != '$' || i + 1 >= value.Length || value[i + 1] != '{')
            {
                result.Append(c);
                i++;
                continue;
            }

            var close = value.IndexOf('}', i + 2);
            if (close < 0)
            {
                throw new FormatException($"'{key}': '${{' without a closing '}}' (write '$${{' for a literal '${{')");
            }

            var name = value[(i + 2)..close];
            if (!IsVariableName(name))
            {
                throw new FormatException($"'{key}': a '${{…}}' reference names no environment variable: use letters, digits and '_' (write '$${{' for a literal '${{')");
            }

            var replacement = lookup(name)
                ?? throw new FormatException($"'{key}' refers to the environment variable '{name}', which is not set");
            result.Append(replacement);
            i = close + 1;
        }

        return result.ToString();
    }

    private static bool IsVariableName(string name) =>
        name.Length > 0 && !char.IsAsciiDigit(name[0]) && name.All(ch => char.IsAsciiLetterOrDigit(ch) || ch == '_');
}
