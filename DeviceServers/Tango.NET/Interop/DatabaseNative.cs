using System.Runtime.InteropServices;

namespace Tango.Interop;

/// <summary>A native <c>Tango::Database</c>.</summary>
internal sealed class DatabaseHandle : SafeHandle
{
    public DatabaseHandle() : base(0, ownsHandle: true)
    {
    }

    public override bool IsInvalid => handle == 0;

    protected override bool ReleaseHandle() => DatabaseNative.Destroy(handle) == 0;
}

/// <summary>The shim's Database exports (native/database.cpp). Tables are read with <see cref="ClientNative"/>.</summary>
internal static unsafe partial class DatabaseNative
{
    private const string Lib = ShimErrors.Library;

    /// <summary>Property owner kinds of the generic property exports.</summary>
    internal const int Device = 0, Class = 1;

    [LibraryImport(Lib, EntryPoint = "tns_db_create")] internal static partial int Create(byte* host, int port, out DatabaseHandle db);
    [LibraryImport(Lib, EntryPoint = "tns_db_destroy")] internal static partial int Destroy(nint db);
    [LibraryImport(Lib, EntryPoint = "tns_db_add_server")] internal static partial int AddServer(DatabaseHandle db, byte* server, byte* cls, byte** devices, int n);
    [LibraryImport(Lib, EntryPoint = "tns_db_delete_server")] internal static partial int DeleteServer(DatabaseHandle db, byte* server);
    [LibraryImport(Lib, EntryPoint = "tns_db_add_device")] internal static partial int AddDevice(DatabaseHandle db, byte* name, byte* cls, byte* server);
    [LibraryImport(Lib, EntryPoint = "tns_db_delete_device")] internal static partial int DeleteDevice(DatabaseHandle db, byte* name);
    [LibraryImport(Lib, EntryPoint = "tns_db_server_list")] internal static partial int ServerList(DatabaseHandle db, byte* filter, out nint table);
    [LibraryImport(Lib, EntryPoint = "tns_db_device_exported")] internal static partial int DeviceExported(DatabaseHandle db, byte* filter, out nint table);
    [LibraryImport(Lib, EntryPoint = "tns_db_device_info")] internal static partial int DeviceInfo(DatabaseHandle db, byte* name, out nint table);
    [LibraryImport(Lib, EntryPoint = "tns_db_put_server_info")] internal static partial int PutServerInfo(DatabaseHandle db, byte* server, byte* host, int controlled, int level);
    [LibraryImport(Lib, EntryPoint = "tns_db_server_info")] internal static partial int ServerInfo(DatabaseHandle db, byte* server, out nint table);
    [LibraryImport(Lib, EntryPoint = "tns_db_get_properties")] internal static partial int GetProperties(DatabaseHandle db, int kind, byte* owner, byte** names, int n, out nint table);
    [LibraryImport(Lib, EntryPoint = "tns_db_put_properties")] internal static partial int PutProperties(DatabaseHandle db, int kind, byte* owner, byte** cells, int* rowLengths, int rows);
    [LibraryImport(Lib, EntryPoint = "tns_db_delete_properties")] internal static partial int DeleteProperties(DatabaseHandle db, int kind, byte* owner, byte** names, int n);
    [LibraryImport(Lib, EntryPoint = "tns_db_get_attribute_properties")] internal static partial int GetAttributeProperties(DatabaseHandle db, int kind, byte* owner, byte** attrs, int n, out nint table);
    [LibraryImport(Lib, EntryPoint = "tns_db_put_attribute_properties")] internal static partial int PutAttributeProperties(DatabaseHandle db, int kind, byte* owner, byte** cells, int* rowLengths, int rows);
    [LibraryImport(Lib, EntryPoint = "tns_db_delete_attribute_properties")] internal static partial int DeleteAttributeProperties(DatabaseHandle db, int kind, byte* owner, byte** cells, int* rowLengths, int rows);
}
