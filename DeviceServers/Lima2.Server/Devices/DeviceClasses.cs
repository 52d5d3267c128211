using Lima2.Protocol;
using Tango;
using Tango.Server;

namespace Lima2.Server.Devices;

/// <summary>The Tango classes Lima2Server serves, and their Pogo descriptions (<c>Lima2Server --pogo pogo/</c>).</summary>
public static class DeviceClasses
{
    public static readonly Type[] All =
    [
        typeof(ControlDevice), typeof(ReceiverDevice), typeof(LegacyProcessingDevice), typeof(SmxProcessingDevice),
        typeof(XpcsProcessingDevice), typeof(FailingProcessingDevice),
    ];

    /// <summary>The Pogo XMI of <paramref name="deviceClass"/>, with the Tango states its devices show.</summary>
    public static string PogoXmi(Type deviceClass)
    {
        var name = ClassSpec.From(deviceClass).Name;
        return Tango.Server.PogoXmi.Generate(deviceClass, "Acquisition", $"Lima2 {name} (C#, Lima2Server)",
            "DeviceServers/Lima2.Server", States(deviceClass));
    }

    /// <summary>Writes <c>&lt;class&gt;.xmi</c> of every class into <paramref name="folder"/>, each path to <paramref name="output"/>.</summary>
    public static int WritePogo(string folder, TextWriter output)
    {
        Directory.CreateDirectory(folder);
        foreach (var type in All)
        {
            var path = Path.Combine(folder, $"{ClassSpec.From(type).Name}.xmi");
            File.WriteAllText(path, PogoXmi(type));
            output.WriteLine(path);
        }
        return 0;
    }

    /// <summary>Control and receiver: their acq_state as Tango states; a processing device: its ReadState's.</summary>
    private static IEnumerable<DevState> States(Type deviceClass) =>
        typeof(ProcessingDevice).IsAssignableFrom(deviceClass)
            ? [DevState.On, DevState.Running, DevState.Fault]
            : Enum.GetValues<AcqState>().Select(StateMapping.ToDevState);
}
