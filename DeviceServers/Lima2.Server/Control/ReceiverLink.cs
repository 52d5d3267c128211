using Lima2.Protocol;

namespace Lima2.Server.Control;

/// <summary>What the control device reads from a receiver on each poll.</summary>
/// <param name="Pipeline">the uuid of the receiver's current run (<c>current_pipeline</c>), "" when none</param>
/// <param name="RawFramesSaved">a corrected JUNGFRAU run's raw frames saved beside its frames (<c>nb_frames_saved_raw</c>)</param>
public sealed record ReceiverSnapshot(AcqState State, long FramesReceived, string Pipeline = "", long RawFramesSaved = 0);

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

    /// <summary>
    /// Asks receiver 0 for the master file over every receiver's received frames (<c>writeMasterFile</c>); returns
    /// its path, or "" when the run saves no dense frames.
    /// </summary>
    /// <param name="receivedPerReceiver">nb_frames_received of each receiver, in rank order</param>
    string WriteMasterFile(long[] receivedPerReceiver);

    /// <summary>
    /// Asks receiver 0 for the raw words' master file of a corrected JUNGFRAU run over every receiver's raw frames
    /// saved (<c>writeRawMasterFile</c>); returns its path, or "" when the run saves no raw words beside its frames.
    /// </summary>
    /// <param name="savedPerReceiver">nb_frames_saved_raw of each receiver, in rank order</param>
    string WriteRawMasterFile(long[] savedPerReceiver);
}

/// <summary>
/// The receiver answers (a ping gets through) but could not serve this request in time: it is busy with a long
/// command, and the request was not carried out. Asking again a little later may succeed.
/// </summary>
public sealed class ReceiverBusyException(string message, Exception? inner = null) : Exception(message, inner);
