using System.Text.Json;
using System.Text.Json.Serialization;

namespace Lima2.Core.Parameters;

/// <summary>JSON settings of every Lima2 parameter document: snake_case names and enum values, no unknown fields.</summary>
public static class ParamsJson
{
    public static JsonSerializerOptions Options { get; } = Create();

    private static JsonSerializerOptions Create()
    {
        var options = new JsonSerializerOptions
        {
            PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
            UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
            RespectNullableAnnotations = true,
            AllowTrailingCommas = false,
            ReadCommentHandling = JsonCommentHandling.Disallow,
        };
        options.Converters.Add(new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower, allowIntegerValues: false));
        options.MakeReadOnly(populateMissingResolver: true);
        return options;
    }

    /// <summary>The JSON name of an enum value, e.g. <c>bshuf_lz4</c>.</summary>
    public static string EnumName<TEnum>(TEnum value) where TEnum : struct, Enum =>
        JsonSerializer.Serialize(value, Options).Trim('"');

    /// <summary>The document's JSON, with every field of its runtime type (a <c>ProcParams</c> writes its pipeline's fields).</summary>
    public static string Serialize<T>(T value, bool indented = false) =>
        JsonSerializer.Serialize(value, value?.GetType() ?? typeof(T), indented ? Indented : Options);

    private static readonly JsonSerializerOptions Indented = new(Options) { WriteIndented = true };
}
