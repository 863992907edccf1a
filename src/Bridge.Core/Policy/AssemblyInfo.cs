using System.Runtime.CompilerServices;

// The policy's own tests exercise the label folding, marker parsing and content filters directly.
[assembly: InternalsVisibleTo("Bridge.Policy.Tests")]
[assembly: InternalsVisibleTo("Bridge.Fuzz.Tests")]
