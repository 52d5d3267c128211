namespace Tango.Server;

/// <summary>Marks a <see cref="Device"/> subclass as a Tango class; the name defaults to the C# class name.</summary>
[AttributeUsage(AttributeTargets.Class, Inherited = false)]
public sealed class TangoClassAttribute(string? name = null) : Attribute
{
    public string? Name { get; } = name;
}

/// <summary>
/// A Tango attribute on a device property. Type and format follow the C# type (T: SCALAR, T[]: SPECTRUM,
/// T[,]: IMAGE); a setter makes it READ_WRITE, <see cref="WriteOnly"/> makes it WRITE. Also the options of a
/// dynamic attribute (<see cref="Device.AddAttribute{T}"/>).
/// </summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class AttrAttribute(string? name = null) : Attribute
{
    /// <summary>The Tango name; defaults to the property name.</summary>
    public string? Name { get; set; } = name;
    public string? Label { get; set; }
    public string? Description { get; set; }
    public string? Unit { get; set; }
    public string? StandardUnit { get; set; }
    public string? DisplayUnit { get; set; }
    public string? Format { get; set; }
    public object? MinValue { get; set; }
    public object? MaxValue { get; set; }
    public object? MinAlarm { get; set; }
    public object? MaxAlarm { get; set; }
    public object? MinWarning { get; set; }
    public object? MaxWarning { get; set; }
    public object? DeltaT { get; set; }
    public object? DeltaVal { get; set; }
    /// <summary>Change event criteria (event properties abs_change / rel_change / period).</summary>
    public object? AbsChange { get; set; }
    public object? RelChange { get; set; }
    public object? EventPeriod { get; set; }
    public object? ArchiveAbsChange { get; set; }
    public object? ArchiveRelChange { get; set; }
    public object? ArchivePeriod { get; set; }
    public DispLevel DisplayLevel { get; set; } = DispLevel.Operator;
    /// <summary>Maximum SPECTRUM length / IMAGE width (default 4096 for spectra, 1024 for images).</summary>
    public int MaxX { get; set; }
    /// <summary>Maximum IMAGE height (default 1024).</summary>
    public int MaxY { get; set; }
    /// <summary>A WRITE attribute (no read value) even though the property has a getter.</summary>
    public bool WriteOnly { get; set; }
    /// <summary>READ_WITH_WRITE: the read value goes with the set point of this WRITE attribute.</summary>
    public string? WriteAttribute { get; set; }
    /// <summary>The written value is stored in the DB and written again at start-up (see <see cref="MemorizedInit"/>).</summary>
    public bool Memorized { get; set; }
    public bool MemorizedInit { get; set; } = true;
    /// <summary>States in which reading and writing are allowed; empty: always.</summary>
    public DevState[]? AllowedStates { get; set; }
    /// <summary>Code pushes change events (<see cref="Device.PushChangeEvent"/>) without polling.</summary>
    public bool PushChangeEvent { get; set; }
    /// <summary>With <see cref="PushChangeEvent"/>: Tango checks the abs/rel change criteria before sending.</summary>
    public bool CheckChangeCriteria { get; set; }
    public bool PushArchiveEvent { get; set; }
    public bool CheckArchiveCriteria { get; set; }
    public bool DataReadyEvent { get; set; }
    /// <summary>Polled from start-up with this period in ms (0: not polled unless a client asks).</summary>
    public int PollingPeriod { get; set; }
}

/// <summary>A Tango command on a device method with zero or one argument, returning void or a value.</summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class CommandAttribute(string? name = null) : Attribute
{
    public string? Name { get; set; } = name;

    /// <summary>
    /// What the command does: the Pogo description. Tango's command info has no such field, only the argument
    /// descriptions, so a client (Jive, <c>command_query</c>) reads it as the description of a void argin or argout.
    /// </summary>
    public string? Description { get; set; }
    public string? InDescription { get; set; }
    public string? OutDescription { get; set; }
    public DispLevel DisplayLevel { get; set; } = DispLevel.Operator;
    /// <summary>States in which the command runs; empty: always (an <c>Is&lt;Name&gt;Allowed()</c> method is asked too).</summary>
    public DevState[]? AllowedStates { get; set; }
    public int PollingPeriod { get; set; }

    /// <summary>
    /// The command runs with the device monitor released: other requests to the device (attribute reads, State,
    /// other commands) are served while it works instead of failing after cppTango's monitor timeout (3.2 s). For
    /// long commands that must stay synchronous; the device's own code is then responsible for thread safety.
    /// </summary>
    public bool ReleasesMonitor { get; set; }
}

/// <summary>A device property read from the Tango DB at each init; the property initializer is the default.</summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class DevicePropertyAttribute(string? name = null) : Attribute
{
    public string? Name { get; } = name;
    public string? Description { get; set; }

    /// <summary>
    /// The device needs a value from the Tango DB (PyTango's <c>mandatory=True</c>): when the DB has none, init
    /// fails with "Device property X of d/f/m is mandatory and not set in the Tango DB" (API_MissingDeviceProperty),
    /// so the device is not created (at start-up the server stops; a client's Init or a run-time CreateDevice gets
    /// the DevFailed). Without a DB (<c>-nodb</c>) the initializer applies, as there is nowhere to set the value.
    /// </summary>
    public bool Mandatory { get; set; }
}

/// <summary>A class property read from the Tango DB at each init; the property initializer is the default.</summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class ClassPropertyAttribute(string? name = null) : Attribute
{
    public string? Name { get; } = name;
    public string? Description { get; set; }
}
