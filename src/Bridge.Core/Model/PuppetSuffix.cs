using System.Security.Cryptography;
using System.Text;

namespace Bridge.Core.Model;

/// <summary>
/// The short, stable tail of a puppet name: a hash of the person's key (network id and stable user id), so two people
/// never get the same puppet name however alike their display names are, and the same person gets the same tail after
/// every restart. The alphabet leaves out look-alikes (0/o, 1/l/i), so two different tails never read alike either.
/// </summary>
public static class PuppetSuffix
{
    /// <summary>Lower-case letters and digits without <c>0 1 i l o</c>: 31 symbols, each unambiguous in any font.</summary>
    public const string Alphabet = "abcdefghjkmnpqrstuvwxyz23456789";

    /// <summary>
    /// <paramref name="length"/> symbols derived from the person's key. <paramref name="attempt"/> &gt; 0 gives another,
    /// equally stable tail, for the rare name already taken on the server.
    /// </summary>
    public static string For(PersonRef person, int length, int attempt = 0)
    {
        ArgumentNullException.ThrowIfNull(person);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(length);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(length, 12);
        var input = person.NetworkId + "\n" + person.UserId + (attempt == 0 ? "" : "\n" + attempt.ToString(System.Globalization.CultureInfo.InvariantCulture));
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(input));
        var value = BitConverter.ToUInt64(hash, 0);
        var chars = new char[length];
        for (var i = 0; i < length; i++)
        {
            chars[i] = Alphabet[(int)(value % (ulong)Alphabet.Length)];
            value /= (ulong)Alphabet.Length;
        }

        return new string(chars);
    }

    /// <summary>The readable source of a puppet name: the person's handle, else their display name, else their id.</summary>
    public static string ReadableBase(PersonRef person)
    {
        ArgumentNullException.ThrowIfNull(person);
        return !string.IsNullOrWhiteSpace(person.Handle) ? person.Handle
            : !string.IsNullOrWhiteSpace(person.DisplayName) ? person.DisplayName
            : "";
    }
}
