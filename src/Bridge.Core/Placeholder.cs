namespace Bridge.Core; internal static class Placeholder { }
