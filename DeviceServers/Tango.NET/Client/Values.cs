namespace Tango.Client;

/// <summary>What <c>DeviceProxy.ReadInto</c> read: the shape, quality and time of the value it copied.</summary>
public readonly record struct AttributeReadInfo(string Name, TangoType Type, AttrDataFormat Format,
    AttrQuality Quality, DateTimeOffset Time, int DimX, int DimY)
{
    /// <summary>How many elements were copied: DimX × DimY for an image, DimX otherwise (0 when INVALID).</summary>
    public int Count { get; init; }
}

/// <summary>Where reads are served from (<c>Tango::DevSource</c>).</summary>
public enum DevSource
{
    Dev,
    Cache,
    CacheDev,
}

/// <summary>The attribute event kinds a subscription can ask for (<c>Tango::EventType</c> values).</summary>
public enum EventType
{
    Change = 0,
    Periodic = 2,
    Archive = 3,
    User = 4,
    /// <summary>The attribute's configuration, when a client or the server changes it (<see cref="EventData.Config"/>).</summary>
    AttrConf = 5,
    DataReady = 6,
}

/// <summary>What <c>DeviceProxy.info()</c> returns.</summary>
public sealed record DeviceInfo(string Name, string ClassName, string ServerId, string ServerHost, int ServerVersion,
    string DocUrl, string DevType);

/// <summary>A command's signature (<c>command_list_query</c>).</summary>
public sealed record CommandInfo(string Name, TangoType InType, TangoType OutType, string InTypeDescription,
    string OutTypeDescription, DispLevel DispLevel);

/// <summary>An attribute's configuration (<c>attribute_query</c>).</summary>
public sealed record AttributeInfo(
    string Name,
    TangoType DataType,
    AttrDataFormat DataFormat,
    AttrWriteType Writable,
    int MaxDimX,
    int MaxDimY,
    string Description,
    string Label,
    string Unit,
    string StandardUnit,
    string DisplayUnit,
    string Format,
    string MinValue,
    string MaxValue,
    string MinAlarm,
    string MaxAlarm,
    DispLevel DispLevel,
    string WritableAttrName,
    IReadOnlyList<string> EnumLabels);
