using System.Text.Json;
using Lima2.Core.Parameters;
using Lima2.Protocol;
using Tango;

namespace Lima2.Server;

/// <summary>
/// Errors as Lima2's clients expect them: reason <c>LIMA_Exception</c> and the JSON <c>{"what", "errinfo"}</c>
/// payload. The server sends that one DevError; the client's cppTango adds its own (API_CommandFailed,
/// API_AttributeFailed), so lima2-client sees the two errors it pretty-prints (<c>len(e.args) == 2</c>).
/// </summary>
public static class LimaFailure
{
    /// <summary>The payload of an exception; a parameter error lists each field path in <c>errinfo.errors</c>.</summary>
    public static LimaError Payload(Exception error)
    {
        var info = new Dictionary<string, string>
        {
            ["type"] = error.GetType().Name,
            ["stacktrace"] = error.StackTrace ?? "",
        };
        if (error is ParamsException p)
            info["errors"] = JsonSerializer.Serialize(p.Errors.Select(e => e.ToString()));
        return new LimaError(error.Message, info);
    }

    public static DevFailedException From(Exception error, string origin) => error switch
    {
        DevFailedException { Reason: LimaError.Reason } already => already,
        _ => new DevFailedException(LimaError.Reason, Payload(error).ToJson(), origin),
    };

    /// <summary>Runs device code and turns any failure into a LIMA_Exception DevFailed.</summary>
    public static T Guard<T>(string origin, Func<T> body)
    {
        try
        {
            return body();
        }
        catch (Exception e)
        {
            throw From(e, origin);
        }
    }

    public static void Guard(string origin, Action body) => Guard(origin, () =>
    {
        body();
        return true;
    });
}

/// <summary>A command refused in the current state (the message says which state and what to do).</summary>
public sealed class StateException(string message) : InvalidOperationException(message);
