using Lima2.Protocol;

namespace Lima2.Server.Control;

/// <summary>What the control device reads from a receiver on each poll.</summary>
public sealed record ReceiverSnapshot(AcqState State, long FramesReceived);

/// <summary>The control device's view of one receiver device (a Tango proxy in the server, a fake in tests).</summary>
public interface IReceiverLink : IDisposable
{
    string Name { get; }

    /// <summary>State and frame count; throws when the receiver does not answer.</summary>
    ReceiverSnapshot Read();

    /// <summary>The receiver's <c>last_error</c> ("No error" or the LIMA JSON payload).</summary>
    string LastError();

    void Start();

    void Stop();

    void Trigger();

    void Reset();
}
