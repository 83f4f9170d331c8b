// Baseline for bench/run.sh: the cheapest Kestrel endpoint, measured beside Switchboard.
var builder = WebApplication.CreateBuilder(args);
builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
var app = builder.Build();
app.MapGet("/", () => "Hello World!");
app.Run();
