namespace Lima2.Protocol;

/// <summary>
/// The <c>acq_state</c> DevEnum of control and receiver devices. Labels and values must match Lima2's C++
/// <c>acq_state_enum</c>: clients compare by value and by lowercase label.
/// </summary>
public enum AcqState
{
    Idle = 0,
    Prepared = 1,
    Running = 2,
    Stopped = 3,
    Fault = 4,
    Terminate = 5,
}

/// <summary>What a client sees of a whole acquisition system, as Lima2's conductor computes it.</summary>
public enum SystemState
{
    Idle,
    Prepared,
    Running,
    Fault,
    Unknown,
    Disconnected,
}

public static class AcqStates
{
    /// <summary>The DevEnum labels, in value order.</summary>
    public static IReadOnlyList<string> Labels { get; } =
        Enum.GetNames<AcqState>().Select(n => n.ToLowerInvariant()).ToArray();

    /// <summary>
    /// The system state of a control device and its receivers, by the conductor's rules: all equal gives that
    /// state (stopped counts as idle, terminate as fault); any fault gives fault; idle mixed with prepared is idle
    /// (some devices already finished); running mixed with idle is running (receivers finishing their share);
    /// anything else is unknown. <c>null</c> stands for a device that did not answer.
    /// </summary>
    public static SystemState Aggregate(IReadOnlyCollection<AcqState?> states)
    {
        if (states.Count == 0 || states.Any(s => s is null))
            return SystemState.Disconnected;
        var kinds = states.Select(s => Normalise(s!.Value)).Distinct().ToArray();
        if (kinds.Contains(AcqState.Fault))
            return SystemState.Fault;
        return kinds switch
        {
            [AcqState.Idle] => SystemState.Idle,
            [AcqState.Prepared] => SystemState.Prepared,
            [AcqState.Running] => SystemState.Running,
            _ when kinds.Length == 2 && kinds.Contains(AcqState.Idle) && kinds.Contains(AcqState.Prepared) => SystemState.Idle,
            _ when kinds.Length == 2 && kinds.Contains(AcqState.Idle) && kinds.Contains(AcqState.Running) => SystemState.Running,
            _ => SystemState.Unknown,
        };
    }

    private static AcqState Normalise(AcqState state) => state switch
    {
        AcqState.Stopped => AcqState.Idle,
        AcqState.Terminate => AcqState.Fault,
        _ => state,
    };
}
