using System.Globalization;
using Tango.Interop;

namespace Tango.Client;

/// <summary>What the Tango database knows about a device (<c>get_device_info</c>).</summary>
public sealed record DbDeviceInfo(string Name, string ClassName, string Server, string Host, bool Exported, int Pid,
    string Ior, string Version, string StartedDate, string StoppedDate);

/// <summary>
/// How Starter (and Astor) see a server (<c>DbPutServerInfo</c>): the host whose Starter runs it, whether Starter
/// controls it, and its start-up level (1 first; Starter starts controlled servers level by level).
/// </summary>
public sealed record DbServerInfo(string Name, string Host, bool Controlled, int StartupLevel);

/// <summary>
/// The Tango database (a DataBaseds device): servers, devices, and properties. Property values are lists of
/// strings, as Tango stores them; a property that is not defined reads as an empty list.
/// </summary>
public sealed unsafe class Database : IDisposable
{
    private readonly DatabaseHandle _handle;

    /// <summary>The database of TANGO_HOST (the environment variable, then /etc/tangorc).</summary>
    public Database()
    {
        ShimErrors.Check(DatabaseNative.Create(null, 0, out _handle));
    }

    public Database(string host, int port)
    {
        using var h = new NativeStrings(host);
        ShimErrors.Check(DatabaseNative.Create(h[0], port, out _handle));
    }

    // ---- servers and devices ----

    /// <summary>Registers server <c>Exec/instance</c> with devices of one class.</summary>
    public void AddServer(string server, string className, params IReadOnlyList<string> devices)
    {
        using var s = new NativeStrings(server, className);
        using var d = new NativeStrings(devices);
        ShimErrors.Check(DatabaseNative.AddServer(_handle, s[0], s[1], d.Pointers, d.Count));
    }

    /// <summary>Removes a server and all its devices.</summary>
    public void DeleteServer(string server)
    {
        using var s = new NativeStrings(server);
        ShimErrors.Check(DatabaseNative.DeleteServer(_handle, s[0]));
    }

    public void AddDevice(string name, string className, string server)
    {
        using var s = new NativeStrings(name, className, server);
        ShimErrors.Check(DatabaseNative.AddDevice(_handle, s[0], s[1], s[2]));
    }

    public void DeleteDevice(string name)
    {
        using var s = new NativeStrings(name);
        ShimErrors.Check(DatabaseNative.DeleteDevice(_handle, s[0]));
    }

    /// <summary>Registered servers (<c>Exec/instance</c>) matching a wildcard.</summary>
    public IReadOnlyList<string> GetServerList(string filter = "*")
    {
        using var f = new NativeStrings(filter);
        return Row(DatabaseNative.ServerList(_handle, f[0], out var table), table);
    }

    /// <summary>Names of exported (running) devices matching a wildcard, e.g. <c>*/limaprocessing/uuid*</c>.</summary>
    public IReadOnlyList<string> GetDeviceExported(string filter)
    {
        using var f = new NativeStrings(filter);
        return Row(DatabaseNative.DeviceExported(_handle, f[0], out var table), table);
    }

    public DbDeviceInfo GetDeviceInfo(string name)
    {
        using var n = new NativeStrings(name);
        var r = Row(DatabaseNative.DeviceInfo(_handle, n[0], out var table), table);
        return new DbDeviceInfo(r[0], r[1], r[2], r[3], r[4] != "0", int.Parse(r[5], CultureInfo.InvariantCulture),
            r[6], r[7], r[8], r[9]);
    }

    public void PutServerInfo(DbServerInfo info)
    {
        using var s = new NativeStrings(info.Name, info.Host);
        ShimErrors.Check(DatabaseNative.PutServerInfo(_handle, s[0], s[1], info.Controlled ? 1 : 0, info.StartupLevel));
    }

    /// <summary>A server that has none reads with an empty host, not controlled, level 0.</summary>
    public DbServerInfo GetServerInfo(string server)
    {
        using var s = new NativeStrings(server);
        var r = Row(DatabaseNative.ServerInfo(_handle, s[0], out var table), table);
        return new DbServerInfo(r[0], r[1], r[2] != "0", int.Parse(r[3], CultureInfo.InvariantCulture));
    }

    // ---- device and class properties ----

    /// <summary>The named device properties; no names: all of them.</summary>
    public IReadOnlyDictionary<string, string[]> GetDeviceProperty(string device, params IReadOnlyList<string> names) =>
        GetProperties(DatabaseNative.Device, device, names);

    public void PutDeviceProperty(string device, IReadOnlyDictionary<string, string[]> properties) =>
        PutProperties(DatabaseNative.Device, device, properties);

    public void DeleteDeviceProperty(string device, params IReadOnlyList<string> names) =>
        DeleteProperties(DatabaseNative.Device, device, names);

    /// <summary>The named class properties; no names: all of them.</summary>
    public IReadOnlyDictionary<string, string[]> GetClassProperty(string className, params IReadOnlyList<string> names) =>
        GetProperties(DatabaseNative.Class, className, names);

    public void PutClassProperty(string className, IReadOnlyDictionary<string, string[]> properties) =>
        PutProperties(DatabaseNative.Class, className, properties);

    public void DeleteClassProperty(string className, params IReadOnlyList<string> names) =>
        DeleteProperties(DatabaseNative.Class, className, names);

    // ---- attribute properties ----

    /// <summary>Class attribute properties: attribute → property → values, e.g.
    /// <c>GetClassAttributeProperty("LimaReceiver", "acq_params")["acq_params"]["schema"][0]</c>.
    /// Every requested attribute is in the result, with no properties when none are defined.</summary>
    public IReadOnlyDictionary<string, IReadOnlyDictionary<string, string[]>> GetClassAttributeProperty(
        string className, params IReadOnlyList<string> attributes) =>
        GetAttributeProperties(DatabaseNative.Class, className, attributes);

    public void PutClassAttributeProperty(string className,
        IReadOnlyDictionary<string, IReadOnlyDictionary<string, string[]>> properties) =>
        PutAttributeProperties(DatabaseNative.Class, className, properties);

    public void DeleteClassAttributeProperty(string className, string attribute, params IReadOnlyList<string> names) =>
        DeleteAttributeProperties(DatabaseNative.Class, className, attribute, names);

    public IReadOnlyDictionary<string, IReadOnlyDictionary<string, string[]>> GetDeviceAttributeProperty(
        string device, params IReadOnlyList<string> attributes) =>
        GetAttributeProperties(DatabaseNative.Device, device, attributes);

    public void PutDeviceAttributeProperty(string device,
        IReadOnlyDictionary<string, IReadOnlyDictionary<string, string[]>> properties) =>
        PutAttributeProperties(DatabaseNative.Device, device, properties);

    public void DeleteDeviceAttributeProperty(string device, string attribute, params IReadOnlyList<string> names) =>
        DeleteAttributeProperties(DatabaseNative.Device, device, attribute, names);

    public void Dispose() => _handle.Dispose();

    // ---- plumbing: properties travel as rows [name, values...] / [attribute, property, values...] ----

    private Dictionary<string, string[]> GetProperties(int kind, string owner, IReadOnlyList<string> names)
    {
        using var o = new NativeStrings(owner);
        using var n = new NativeStrings(names);
        ShimErrors.Check(DatabaseNative.GetProperties(_handle, kind, o[0], n.Pointers, n.Count, out var table));
        return NativeText.TakeTable(table).ToDictionary(r => r[0], r => r[1..]);
    }

    private void PutProperties(int kind, string owner, IReadOnlyDictionary<string, string[]> properties)
    {
        using var o = new NativeStrings(owner);
        PassRows(properties.Select(p => (IReadOnlyList<string>)[p.Key, .. p.Value]),
            (cells, lengths, rows) => DatabaseNative.PutProperties(_handle, kind, o[0], cells, lengths, rows));
    }

    private void DeleteProperties(int kind, string owner, IReadOnlyList<string> names)
    {
        using var o = new NativeStrings(owner);
        using var n = new NativeStrings(names);
        ShimErrors.Check(DatabaseNative.DeleteProperties(_handle, kind, o[0], n.Pointers, n.Count));
    }

    private Dictionary<string, IReadOnlyDictionary<string, string[]>> GetAttributeProperties(int kind, string owner,
        IReadOnlyList<string> attributes)
    {
        using var o = new NativeStrings(owner);
        using var a = new NativeStrings(attributes);
        ShimErrors.Check(DatabaseNative.GetAttributeProperties(_handle, kind, o[0], a.Pointers, a.Count, out var table));
        var rows = NativeText.TakeTable(table);
        return attributes.Distinct().ToDictionary(attr => attr, IReadOnlyDictionary<string, string[]> (attr) =>
            rows.Where(r => r[0] == attr).ToDictionary(r => r[1], r => r[2..]));
    }

    private void PutAttributeProperties(int kind, string owner,
        IReadOnlyDictionary<string, IReadOnlyDictionary<string, string[]>> properties)
    {
        using var o = new NativeStrings(owner);
        PassRows(properties.SelectMany(a => a.Value.Select(p => (IReadOnlyList<string>)[a.Key, p.Key, .. p.Value])),
            (cells, lengths, rows) => DatabaseNative.PutAttributeProperties(_handle, kind, o[0], cells, lengths, rows));
    }

    private void DeleteAttributeProperties(int kind, string owner, string attribute, IReadOnlyList<string> names)
    {
        using var o = new NativeStrings(owner);
        PassRows(names.Select(p => (IReadOnlyList<string>)[attribute, p]),
            (cells, lengths, rows) => DatabaseNative.DeleteAttributeProperties(_handle, kind, o[0], cells, lengths, rows));
    }

    private delegate int RowsCall(byte** cells, int* rowLengths, int rows);

    private static void PassRows(IEnumerable<IReadOnlyList<string>> rows, RowsCall call)
    {
        var list = rows.ToList();
        var lengths = list.Select(r => r.Count).ToArray();
        using var cells = new NativeStrings(list.SelectMany(r => r).ToList());
        fixed (int* l = lengths)
            ShimErrors.Check(call(cells.Pointers, l, list.Count));
    }

    private static string[] Row(int rc, nint table)
    {
        ShimErrors.Check(rc);
        return NativeText.TakeTable(table)[0];
    }
}
