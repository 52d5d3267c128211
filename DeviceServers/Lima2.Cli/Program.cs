using System.CommandLine;
using Lima2.Cli.Commands;

// lima2: a receiver's engine without Tango. Each sub-command lives in Commands/.
var root = new RootCommand("lima2: stream, receive and process detector data without Tango");
root.Subcommands.Add(StreamCommand.Create());
root.Subcommands.Add(ReceiveCommand.Create());
root.Subcommands.Add(PeaksCommand.Create());
root.Subcommands.Add(BenchCommand.Create());
return await root.Parse(args).InvokeAsync();
