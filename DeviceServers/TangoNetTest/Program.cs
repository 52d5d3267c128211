// TangoNetTest is being written (issue: Tango.NET binding); it will start its Tango server here.
Console.Error.WriteLine("TangoNetTest: not built yet");
return 1;
