namespace Tango;

/// <summary>One entry of a Tango error stack.</summary>
public sealed record DevError(string Reason, string Description, string Origin, ErrSeverity Severity = ErrSeverity.Err);

/// <summary>
/// A Tango <c>DevFailed</c>: a stack of errors, outermost first. Thrown by client calls that fail; thrown by
/// device code to send a precise error (or several) to the client. Any other exception thrown by device code
/// reaches the client as a one-error DevFailed whose reason is the exception's type.
/// </summary>
public class DevFailedException : Exception
{
    public DevFailedException(IReadOnlyList<DevError> errors)
        : base(errors.Count > 0 ? errors[0].Description : "DevFailed")
    {
        if (errors.Count == 0)
            throw new ArgumentException("a DevFailed carries at least one error", nameof(errors));
        Errors = errors;
    }

    public DevFailedException(string reason, string description, string origin = "")
        : this([new DevError(reason, description, origin)])
    {
    }

    public IReadOnlyList<DevError> Errors { get; }

    /// <summary>The reason of the first (outermost) error, e.g. <c>API_CommandNotAllowed</c>.</summary>
    public string Reason => Errors[0].Reason;

    public override string ToString() =>
        $"DevFailed: {string.Join(" <- ", Errors.Select(e => $"{e.Reason}: {e.Description} ({e.Origin})"))}";
}
