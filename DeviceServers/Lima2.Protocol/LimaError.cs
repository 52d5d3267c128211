using System.Text.Json;
using System.Text.Json.Serialization;

namespace Lima2.Protocol;

/// <summary>
/// Lima2's error payload: <c>{"what": ..., "errinfo": {...}}</c>. It is the description of the first DevError
/// (reason <c>LIMA_Exception</c>) of a DevFailed, and the value of the <c>last_error</c> attributes.
/// </summary>
public sealed record LimaError(
    [property: JsonPropertyName("what")] string What,
    [property: JsonPropertyName("errinfo")] IReadOnlyDictionary<string, string> ErrorInfo)
{
    /// <summary>The DevError reason Lima2's clients recognise.</summary>
    public const string Reason = "LIMA_Exception";

    /// <summary>What <c>last_error</c> reads when there is none.</summary>
    public const string NoError = "No error";

    public static LimaError From(Exception exception) => new(exception.Message, new Dictionary<string, string>
    {
        ["type"] = exception.GetType().Name,
        ["stacktrace"] = exception.StackTrace ?? "",
    });

    public string ToJson() => JsonSerializer.Serialize(this);

    public static LimaError? Parse(string json) => JsonSerializer.Deserialize<LimaError>(json);
}
