namespace Bridge.Xmpp; internal static class Placeholder { }
