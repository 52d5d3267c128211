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

    /// <summary>The payload of <paramref name="exception"/>: its sentence and type, no stack trace (that is for the log).</summary>
    public static LimaError From(Exception exception) =>
        new(Sentence(exception), new Dictionary<string, string> { ["type"] = exception.GetType().Name });

    /// <summary>
    /// An exception's message as one plain sentence: its lines joined, without the <c>(Parameter 'x')</c> that
    /// .NET appends to argument errors.
    /// </summary>
    public static string Sentence(Exception exception)
    {
        var message = exception.Message;
        if (exception is ArgumentException { ParamName: { } name } && message.EndsWith($" (Parameter '{name}')", StringComparison.Ordinal))
            message = message[..^$" (Parameter '{name}')".Length];
        return string.Join("; ", message.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
    }

    public string ToJson() => JsonSerializer.Serialize(this);

    public static LimaError? Parse(string json) => JsonSerializer.Deserialize<LimaError>(json);
}
