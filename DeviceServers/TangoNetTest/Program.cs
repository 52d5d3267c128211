using Tango.Server;
using TangoNetTest;

// TangoNetTest <instance> [-v4] [-nodb -dlist sys/tg_test/1] [-ORBendPoint giop:tcp:127.0.0.1:PORT]
return TangoServer.Run(args, typeof(TangoNetTestDevice), typeof(TangoNetDynamicDevice),
    typeof(TangoNetConfiguredDevice));
