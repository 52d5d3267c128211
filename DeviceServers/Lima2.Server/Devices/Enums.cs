using System.Diagnostics.CodeAnalysis;
using Lima2.Protocol;
using Tango;

namespace Lima2.Server.Devices;

/// <summary>
/// <c>acq_state</c> as a DevEnum: the labels are the enum's names, and Lima2's clients compare them in lower case
/// (<c>.name == "running"</c>), so the names are lower case here and the values those of <see cref="AcqState"/>.
/// </summary>
[SuppressMessage("Style", "IDE1006", Justification = "DevEnum labels")]
public enum AcqStateLabel
{
    idle = AcqState.Idle,
    prepared = AcqState.Prepared,
    running = AcqState.Running,
    stopped = AcqState.Stopped,
    fault = AcqState.Fault,
    terminate = AcqState.Terminate,
}

public static class StateMapping
{
    /// <summary>The Tango state shown for an acquisition state.</summary>
    public static DevState ToDevState(AcqState state) => state switch
    {
        AcqState.Idle or AcqState.Stopped => DevState.On,
        AcqState.Prepared => DevState.Standby,
        AcqState.Running => DevState.Running,
        AcqState.Fault => DevState.Fault,
        _ => DevState.Off,
    };
}
