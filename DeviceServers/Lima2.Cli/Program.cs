using System.CommandLine;
using Lima2.Cli.Commands;

// lima2: a receiver's engine without Tango. Each sub-command lives in Commands/.
var root = new RootCommand("lima2: stream, receive and process detector data without Tango");
var verbose = new Option<bool>("--verbose") { Description = "print the stack trace of an error", Recursive = true };
root.Options.Add(verbose);
root.Subcommands.Add(StreamCommand.Create());
root.Subcommands.Add(ReceiveCommand.Create());
root.Subcommands.Add(PeaksCommand.Create());
var parsed = root.Parse(args);
try
{
    return await parsed.InvokeAsync(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
}
catch (OperationCanceledException)
{
    return 130; // Ctrl+C while setting up
}
catch (Exception e)
{
    // bad settings, a missing file, an endpoint that cannot be bound: one line, the trace only when asked for
    var error = e is AggregateException { InnerExceptions: [var single] } ? single : e;
    Console.Error.WriteLine($"lima2 {parsed.CommandResult.Command.Name}: {error.Message.ReplaceLineEndings(" ")}");
    if (parsed.GetValue(verbose))
        Console.Error.WriteLine(error);
    return 2;
}
