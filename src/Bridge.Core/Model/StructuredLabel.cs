namespace Bridge.Core.Model;

/// <summary>
/// Values a connector puts in <see cref="BridgeEvent.StructuredLabels"/>. A structured label field that is present is
/// always passed on, even when empty (<c>""</c>): the core ranks every entry by rule R-S1, and an empty or unknown
/// value ranks highest. A field that is present but not a string (a number, an object, JSON null) is passed as
/// <see cref="NotAString"/>, which no label can equal (labels cannot contain brackets), so it too ranks highest.
/// A field that is absent adds nothing.
/// </summary>
public static class StructuredLabel
{
    /// <summary>Stands for a structured label field that is present but holds no string.</summary>
    public const string NotAString = "[not a string]";
}
