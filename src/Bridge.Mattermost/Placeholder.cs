namespace Bridge.Mattermost; internal static class Placeholder { }
