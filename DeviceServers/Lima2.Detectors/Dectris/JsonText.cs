using System.Text.Json;

namespace Lima2.Detectors.Dectris;

/// <summary>String values of the streams' JSON parts (DECTRIS V1, MAX IV), read on every image message.</summary>
internal static class JsonText
{
    /// <summary>The next value: one of <paramref name="known"/> itself when it is one (no new string), else a new string.</summary>
    public static string? Read(ref Utf8JsonReader reader, string[] known)
    {
        reader.Read();
        if (reader.TokenType == JsonTokenType.String)
            foreach (var candidate in known)
                if (reader.ValueTextEquals(candidate))
                    return candidate;
        return reader.GetString();
    }
}
