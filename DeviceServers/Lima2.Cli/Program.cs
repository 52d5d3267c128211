using System.CommandLine;

// lima2: a receiver's engine without Tango. Each sub-command lives in Commands/.
var root = new RootCommand("lima2: stream, receive and process detector data without Tango");
root.Subcommands.Add(Lima2.Cli.Commands.PeaksCommand.Create());
return root.Parse(args).Invoke();
