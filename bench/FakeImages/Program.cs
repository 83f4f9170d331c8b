// Fake upstream for bench/run-binary.sh: POST /v1/images/generations answers like OpenAI's
// images API with `n` images as b64_json, each IMAGE_BYTES (default 1 MiB): a PNG signature, then
// deterministic bytes, with the request's number written into bytes 16..23 so every image is its
// own (stored as its own blob, as real images would be). Only for 127.0.0.1.
using System.Buffers.Binary;
using System.Text.Json;

var size = int.Parse(Environment.GetEnvironmentVariable("IMAGE_BYTES") ?? "1048576", System.Globalization.CultureInfo.InvariantCulture);
var template = new byte[size];
ReadOnlySpan<byte> png = [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A];
png.CopyTo(template);
var state = 2463534242u;
for (var i = png.Length; i < template.Length; i++)
{
    state ^= state << 13;
    state ^= state >> 17;
    state ^= state << 5;
    template[i] = (byte)state;
}
long served = 0;

var builder = WebApplication.CreateBuilder(args);
builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
var app = builder.Build();
app.MapGet("/", () => "fake images");
app.MapPost("/v1/images/generations", async (HttpContext http) =>
{
    using var body = await JsonDocument.ParseAsync(http.Request.Body);
    var n = body.RootElement.TryGetProperty("n", out var count) ? count.GetInt32() : 1;
    http.Response.ContentType = "application/json";
    await using var writer = new Utf8JsonWriter(http.Response.BodyWriter);
    writer.WriteStartObject();
    writer.WriteNumber("created", DateTimeOffset.UtcNow.ToUnixTimeSeconds());
    writer.WriteStartArray("data");
    var image = new byte[size];
    for (var k = 0; k < n; k++)
    {
        template.CopyTo(image, 0);
        BinaryPrimitives.WriteInt64LittleEndian(image.AsSpan(16), Interlocked.Increment(ref served));
        writer.WriteStartObject();
        writer.WriteBase64String("b64_json", image);
        writer.WriteEndObject();
    }
    writer.WriteEndArray();
    writer.WriteEndObject();
    await writer.FlushAsync();
});
app.Run();
