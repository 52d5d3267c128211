using System.Runtime.InteropServices;

namespace Tango.Interop;

/// <summary>One Tango value as the shim sees it (native/client_common.hpp, <c>tns_data</c>).</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct TnsValue
{
    public int Type;
    public int Format;
    public int Quality;
    public int DimX, DimY, WDimX, WDimY;
    public int TimeUsec;
    public long TimeSec;
    public long Count;
    public void* Data;
    public long Count2;
    public void* Data2;
    public byte* Text;
    public byte* Name;
}

/// <summary>An event as the shim delivers it (native/client_events.cpp, <c>tns_event</c>).</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct TnsEvent
{
    public byte* Device;
    public byte* AttrName;
    public byte* Event;
    public int Err;
    public int Ctr;
    public int DataType;
    public nint Value;
    public nint Config;
}

/// <summary>A native <c>Tango::DeviceProxy</c>.</summary>
internal sealed class ProxyHandle : SafeHandle
{
    public ProxyHandle() : base(0, ownsHandle: true)
    {
    }

    public override bool IsInvalid => handle == 0;

    protected override bool ReleaseHandle() => ClientNative.ProxyDestroy(handle) == 0;
}

/// <summary>The shim's DeviceProxy exports and the value/table holders they return.</summary>
internal static unsafe partial class ClientNative
{
    private const string Lib = ShimErrors.Library;

    [LibraryImport(Lib, EntryPoint = "tns_values_count")] internal static partial int ValuesCount(nint values);
    [LibraryImport(Lib, EntryPoint = "tns_values_get")] internal static partial int ValuesGet(nint values, int i, TnsValue* data);
    [LibraryImport(Lib, EntryPoint = "tns_values_free")] internal static partial void ValuesFree(nint values);

    [LibraryImport(Lib, EntryPoint = "tns_table_rows")] internal static partial int TableRows(nint table);
    [LibraryImport(Lib, EntryPoint = "tns_table_cols")] internal static partial int TableCols(nint table, int row);
    [LibraryImport(Lib, EntryPoint = "tns_table_cell")] internal static partial byte* TableCell(nint table, int row, int col);
    [LibraryImport(Lib, EntryPoint = "tns_table_free")] internal static partial void TableFree(nint table);

    [LibraryImport(Lib, EntryPoint = "tns_proxy_create")] internal static partial int ProxyCreate(byte* name, out ProxyHandle proxy);
    [LibraryImport(Lib, EntryPoint = "tns_proxy_destroy")] internal static partial int ProxyDestroy(nint proxy);
    [LibraryImport(Lib, EntryPoint = "tns_proxy_ping")] internal static partial int Ping(ProxyHandle p, out int micros);
    [LibraryImport(Lib, EntryPoint = "tns_proxy_state")] internal static partial int State(ProxyHandle p, out int state);
    [LibraryImport(Lib, EntryPoint = "tns_proxy_status")] internal static partial int Status(ProxyHandle p, out nint table);
    [LibraryImport(Lib, EntryPoint = "tns_proxy_info")] internal static partial int Info(ProxyHandle p, out nint table);
    [LibraryImport(Lib, EntryPoint = "tns_proxy_name")] internal static partial int Name(ProxyHandle p, out nint table);
    [LibraryImport(Lib, EntryPoint = "tns_proxy_set_timeout")] internal static partial int SetTimeout(ProxyHandle p, int millis);
    [LibraryImport(Lib, EntryPoint = "tns_proxy_get_timeout")] internal static partial int GetTimeout(ProxyHandle p, out int millis);
    [LibraryImport(Lib, EntryPoint = "tns_proxy_set_source")] internal static partial int SetSource(ProxyHandle p, int source);
    [LibraryImport(Lib, EntryPoint = "tns_proxy_command")] internal static partial int Command(ProxyHandle p, byte* name, TnsValue* arg, out nint values);
    [LibraryImport(Lib, EntryPoint = "tns_proxy_read")] internal static partial int Read(ProxyHandle p, byte** names, int count, out nint values);
    [LibraryImport(Lib, EntryPoint = "tns_proxy_write")] internal static partial int Write(ProxyHandle p, TnsValue* value);
    [LibraryImport(Lib, EntryPoint = "tns_proxy_write_many")] internal static partial int WriteMany(ProxyHandle p, TnsValue* values, int count);
    [LibraryImport(Lib, EntryPoint = "tns_proxy_attribute_list")] internal static partial int AttributeList(ProxyHandle p, out nint table);
    [LibraryImport(Lib, EntryPoint = "tns_proxy_attribute_query")] internal static partial int AttributeQuery(ProxyHandle p, byte* name, out nint table);
    [LibraryImport(Lib, EntryPoint = "tns_proxy_command_query")] internal static partial int CommandQuery(ProxyHandle p, out nint table);
    [LibraryImport(Lib, EntryPoint = "tns_proxy_poll")] internal static partial int Poll(ProxyHandle p, byte* name, int periodMs);
    [LibraryImport(Lib, EntryPoint = "tns_proxy_poll_period")] internal static partial int PollPeriod(ProxyHandle p, byte* name, out int periodMs);

    [LibraryImport(Lib, EntryPoint = "tns_proxy_subscribe")]
    internal static partial int Subscribe(ProxyHandle p, byte* attr, int eventType, int stateless,
        delegate* unmanaged<nint, TnsEvent*, void> callback, nint user, out int id, out nint handle);

    [LibraryImport(Lib, EntryPoint = "tns_proxy_unsubscribe")]
    internal static partial int Unsubscribe(ProxyHandle p, int id, nint handle);
}
