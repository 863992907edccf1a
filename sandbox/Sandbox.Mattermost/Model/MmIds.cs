using System.Security.Cryptography;
using System.Text;

namespace Sandbox.Mattermost.Model;

/// <summary>Mattermost ids: 16 random bytes (UUIDv4) in base32 with the server's own alphabet, no padding, 26 chars.</summary>
public static class MmIds
{
    public const string Alphabet = "ybndrfg8ejkmcpqxot1uwisza345h769";

    public static string NewId()
    {
        Span<byte> bytes = stackalloc byte[16];
        RandomNumberGenerator.Fill(bytes);
        bytes[6] = (byte)((bytes[6] & 0x0f) | 0x40); // version 4, like uuid.New()
        bytes[8] = (byte)((bytes[8] & 0x3f) | 0x80);
        return Encode(bytes);
    }

    internal static string Encode(ReadOnlySpan<byte> data)
    {
        var sb = new StringBuilder(26);
        int buffer = 0, bits = 0;
        foreach (var b in data)
        {
            buffer = (buffer << 8) | b;
            bits += 8;
            while (bits >= 5)
            {
                sb.Append(Alphabet[(buffer >> (bits - 5)) & 31]);
                bits -= 5;
            }
        }
        if (bits > 0)
        {
            sb.Append(Alphabet[(buffer << (5 - bits)) & 31]);
        }
        return sb.ToString();
    }

    /// <summary>The server's IsValidId: 26 ASCII letters or digits.</summary>
    public static bool IsValid(string? id) =>
        id is { Length: 26 } && id.All(c => c is >= 'a' and <= 'z' or >= 'A' and <= 'Z' or >= '0' and <= '9');
}
