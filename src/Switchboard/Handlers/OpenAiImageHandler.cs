using OpenAI.Images;

// OPENAI001: the client taking an AuthenticationPolicy (a keyless profile sends no Authorization) and the GPT image models' usage/format are marked for evaluation; the version is pinned and the wire tests check what is sent.
#pragma warning disable OPENAI001

namespace Switchboard.Handlers;

/// <summary>
/// <c>openai.image</c>: <c>POST {base_url}/images/generations</c> through the official SDK, at the
/// offer's endpoint profile. Each image is a binary result (its bytes stored once, listed as a
/// reference with its url). Images are asked for as base64 in the answer: an answer that only
/// names a URL is refused, because fetching it would send this executor to whatever host the
/// upstream named. Usage: <c>images</c> (and the tokens an answer reports).
/// </summary>
public sealed class OpenAiImageHandler(IHttpMessageHandlerFactory handlers) : IServiceHandler
{
    public string Id => "openai.image";

    public string? EndpointProfileFor(JsonObject parameters) => EndpointProfiles.NameIn(parameters);

    public IEnumerable<(string Key, string Problem)> CheckParams(JsonObject parameters) => OpenAiImageParams.Check(parameters);

    public async Task ExecuteAsync(HandlerContext context, CancellationToken cancellationToken)
    {
        var endpoint = EndpointProfiles.Resolve(context.Settings, context.Params);
        var model = context.Params.GetString("model") ?? throw HandlerException.Permanent("handler_misconfigured", "params.model is required");
        var options = OpenAiImageParams.Options(context.Params, model);
        var (clientOptions, http) = OpenAiSdk.Options(endpoint, handlers, context.MaxUpstreamBytes);
        using (http)
        {
            var client = new ImageClient(model, OpenAiSdk.Authentication(endpoint), clientOptions);
            var added = 0;
            // Bounded like openai.chat: a server that returns fewer images than asked is asked
            // again for the rest, at most create_qty times.
            for (var call = 0; added < context.Quantity && call < context.Quantity; call++)
            {
                var images = await OpenAiSdk.Call(
                    async () => (await client.GenerateImagesAsync(context.Prompt, context.Quantity - added, options, cancellationToken)).Value,
                    endpoint, context.Logger);
                foreach (var image in images)
                {
                    if (added == context.Quantity)
                    {
                        break;
                    }
                    if (image.ImageBytes is not { } bytes || bytes.ToMemory().Length == 0)
                    {
                        throw HandlerException.Permanent("upstream_bad_response",
                            "the upstream answered with an image URL instead of the image (Switchboard does not fetch from hosts an upstream names)");
                    }
                    var content = bytes.ToMemory();
                    context.AddResult(new BinaryResult(content, ImageMediaType.Of(content.Span, options.OutputFileFormat?.ToString())));
                    added++;
                }
                context.RecordUsage("images", images.Count);
                if (images.Usage is { } usage)
                {
                    context.RecordUsage("input_tokens", usage.InputTokenCount);
                    context.RecordUsage("output_tokens", usage.OutputTokenCount);
                    context.RecordUsage("total_tokens", usage.TotalTokenCount);
                }
            }
            if (added < context.Quantity)
            {
                throw HandlerException.Retry("upstream_bad_response", $"the upstream returned {added} of {context.Quantity} images");
            }
        }
    }
}

/// <summary>The media type of an image's bytes, by its signature; the asked-for format when the bytes say nothing.</summary>
public static class ImageMediaType
{
    public static string Of(ReadOnlySpan<byte> bytes, string? format)
    {
        if (bytes.StartsWith((ReadOnlySpan<byte>)[0x89, (byte)'P', (byte)'N', (byte)'G']))
        {
            return "image/png";
        }
        if (bytes.StartsWith((ReadOnlySpan<byte>)[0xFF, 0xD8, 0xFF]))
        {
            return "image/jpeg";
        }
        if (bytes.Length >= 12 && bytes[..4].SequenceEqual("RIFF"u8) && bytes[8..12].SequenceEqual("WEBP"u8))
        {
            return "image/webp";
        }
        return format switch
        {
            "jpeg" => "image/jpeg",
            "webp" => "image/webp",
            "png" => "image/png",
            _ => "application/octet-stream",
        };
    }
}
