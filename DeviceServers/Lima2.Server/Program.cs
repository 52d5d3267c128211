using Lima2.Server;
using Lima2.Server.Devices;
using Tango.Server;

// Lima2Server <instance> [-v4] [-ORBendPoint giop:tcp:127.0.0.1:PORT]   (a Tango server, as Starter runs it)
// Lima2Server --register <beamline.yaml>                                 (register servers, devices, properties)
// Lima2Server --instances <beamline.yaml>                                (the server instances, control first)
// Lima2Server --pogo <folder>                                            (a Pogo XMI file per class)
if (args is ["--register", var config, ..])
    return Registration.Register(config, Console.Out);
if (args is ["--instances", var beamline, ..])
    return Registration.ListInstances(beamline, Console.Out);
if (args is ["--pogo", var folder, ..])
    return DeviceClasses.WritePogo(folder, Console.Out);
var instance = args.FirstOrDefault(a => !a.StartsWith('-')) ?? "";
ServerLog.Install(instance);
var server = new TangoServer(DeviceClasses.All);
// stored before the server says it is ready: a client that connects then builds its documents from them
if (!args.Contains("-nodb"))
    server.Initialised += () => Schemas.Publish(server.Devices.OfType<IAcqDevice>().Select(d => (d.ClassName, d.Plugin)), Console.Error);
return server.Run(args);
