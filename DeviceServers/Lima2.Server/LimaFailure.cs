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
/// <remarks>
/// A Jive or Taurus user reads the payload as it is: <c>what</c> is one plain sentence and <c>errinfo</c> holds no
/// stack trace (it would show the build's source paths); the full trace goes to the server log with every refusal.
/// </remarks>
public static class LimaFailure
{
    private static readonly NLog.Logger Log = NLog.LogManager.GetLogger("Lima2.Server.Errors");

    /// <summary>The payload of an exception; a parameter error lists each field path in <c>errinfo.errors</c>.</summary>
    public static LimaError Payload(Exception error)
    {
        error = Unwrapped(error);
        var info = new Dictionary<string, string> { ["type"] = error.GetType().Name };
        if (error is ParamsException p)
            info["errors"] = JsonSerializer.Serialize(p.Errors.Select(e => e.ToString()));
        return new LimaError(LimaError.Sentence(error), info);
    }

    /// <summary>The DevFailed a client gets for <paramref name="error"/>; the error and its trace are logged.</summary>
    public static DevFailedException From(Exception error, string origin)
    {
        if (error is DevFailedException { Reason: LimaError.Reason } already)
            return already;
        var payload = Payload(error);
        if (IsRefusal(Unwrapped(error)))
            Log.Warn(error, "{Origin} refused: {What}", origin, payload.What);
        else
            Log.Error(error, "{Origin} failed: {What}", origin, payload.What);
        return new DevFailedException(LimaError.Reason, payload.ToJson(), origin);
    }

    /// <summary>A request refused for what it asked (bad parameters, wrong state), not a failure of the server.</summary>
    private static bool IsRefusal(Exception error) =>
        error is ParamsException or StateException or ArgumentException or FormatException or UnauthorizedAccessException
            or JsonException;

    private static Exception Unwrapped(Exception error) => error switch
    {
        AggregateException { InnerExceptions: [var single] } => Unwrapped(single),
        System.Reflection.TargetInvocationException { InnerException: { } inner } => Unwrapped(inner),
        _ => error,
    };
}

/// <summary>A command refused in the current state (the message says which state and what to do).</summary>
public sealed class StateException(string message) : InvalidOperationException(message);
