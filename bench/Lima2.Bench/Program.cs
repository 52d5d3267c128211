using System.CommandLine;
using Lima2.Bench;

// lima2-bench: measures lima2's receive path against the limits of the machine it runs on. Not part of the product.
var root = BenchCommand.Create();
var verbose = new Option<bool>("--verbose") { Description = "print the stack trace of an error", Recursive = true };
root.Options.Add(verbose);
var parsed = root.Parse(args);
try
{
    return await parsed.InvokeAsync(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
}
catch (OperationCanceledException)
{
    return 130;
}
catch (Exception e)
{
    var error = e is AggregateException { InnerExceptions: [var single] } ? single : e;
    Console.Error.WriteLine($"lima2-bench: {error.Message.ReplaceLineEndings(" ")}");
    if (parsed.GetValue(verbose))
        Console.Error.WriteLine(error);
    return 2;
}
