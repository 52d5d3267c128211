namespace Tango;

// The Tango enumerations shared by servers and clients, with cppTango's numeric values (tango_const.h, tango.h).

/// <summary>Tango data types (<c>Tango::CmdArgType</c>).</summary>
public enum TangoType
{
    DevVoid = 0,
    DevBoolean,
    DevShort,
    DevLong,
    DevFloat,
    DevDouble,
    DevUShort,
    DevULong,
    DevString,
    DevVarCharArray,
    DevVarShortArray,
    DevVarLongArray,
    DevVarFloatArray,
    DevVarDoubleArray,
    DevVarUShortArray,
    DevVarULongArray,
    DevVarStringArray,
    DevVarLongStringArray,
    DevVarDoubleStringArray,
    DevState,
    ConstDevString,
    DevVarBooleanArray,
    DevUChar,
    DevLong64,
    DevULong64,
    DevVarLong64Array,
    DevVarULong64Array,
    DevInt,
    DevEncoded,
    DevEnum,
    DevPipeBlob,
    DevVarStateArray,
}

/// <summary>Device states (<c>Tango::DevState</c>).</summary>
public enum DevState
{
    On,
    Off,
    Close,
    Open,
    Insert,
    Extract,
    Moving,
    Standby,
    Fault,
    Init,
    Running,
    Alarm,
    Disable,
    Unknown,
}

/// <summary>Attribute data format (<c>Tango::AttrDataFormat</c>).</summary>
public enum AttrDataFormat
{
    Scalar,
    Spectrum,
    Image,
}

/// <summary>Attribute access (<c>Tango::AttrWriteType</c>).</summary>
public enum AttrWriteType
{
    Read,
    ReadWithWrite,
    Write,
    ReadWrite,
}

/// <summary>Who sees an attribute or command in GUIs (<c>Tango::DispLevel</c>).</summary>
public enum DispLevel
{
    Operator,
    Expert,
}

/// <summary>Severity of one error of a DevFailed (<c>Tango::ErrSeverity</c>).</summary>
public enum ErrSeverity
{
    Warn,
    Err,
    Panic,
}

/// <summary>Attribute value quality (<c>Tango::AttrQuality</c>).</summary>
public enum AttrQuality
{
    Valid,
    Invalid,
    Alarm,
    Changing,
    Warning,
}
