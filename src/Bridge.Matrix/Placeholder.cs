namespace Bridge.Matrix; internal static class Placeholder { }
