using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace Switchboard.OpenApi;

/// <summary>
/// Our problems carry a <c>code</c> beside RFC 9457's members (<see cref="Problems"/>): the
/// framework's ProblemDetails schema learns it, with the codes of <see cref="ProblemCodes.All"/>.
/// </summary>
public static class ProblemSchema
{
    /// <summary>
    /// The web JSON defaults read numbers from strings too, so the framework describes every
    /// number as "integer or numeric string". Our answers always write numbers, and the bodies
    /// that take numbers are read by our own code: the documents say "integer".
    /// </summary>
    public static Task NumbersAreNumbers(OpenApiSchema schema, OpenApiSchemaTransformerContext context, CancellationToken cancellationToken)
    {
        if (schema.Type is { } type && (type & (JsonSchemaType.Integer | JsonSchemaType.Number)) != 0 && (type & JsonSchemaType.String) != 0)
        {
            schema.Type = type & ~JsonSchemaType.String;
            schema.Pattern = null;
        }
        return Task.CompletedTask;
    }

    public static Task AddCode(OpenApiSchema schema, OpenApiSchemaTransformerContext context, CancellationToken cancellationToken)
    {
        if (!typeof(ProblemDetails).IsAssignableFrom(context.JsonTypeInfo.Type))
        {
            return Task.CompletedTask;
        }
        // Always set in our answers (Problems.Of, the status pages and the framework's own).
        schema.Properties ??= new Dictionary<string, IOpenApiSchema>();
        schema.Properties["type"] = new OpenApiSchema { Type = JsonSchemaType.String, Description = $"A link to the code's entry at {ProblemCodes.PageUrl}." };
        schema.Properties["title"] = new OpenApiSchema { Type = JsonSchemaType.String };
        schema.Properties["status"] = new OpenApiSchema { Type = JsonSchemaType.Integer };
        schema.Properties["code"] = new OpenApiSchema
        {
            Description = $"The stable code to branch on; each is explained at {ProblemCodes.PageUrl}.",
            // A listed code, or http_<status> for an answer no endpoint gave a code of its own.
            AnyOf =
            [
                new OpenApiSchema
                {
                    Type = JsonSchemaType.String,
                    Enum = [.. ProblemCodes.All.Where(p => p.Status != 0).Select(p => (System.Text.Json.Nodes.JsonNode)p.Code)],
                },
                new OpenApiSchema { Type = JsonSchemaType.String, Pattern = "^http_[0-9]{3}$" },
            ],
        };
        schema.Required ??= new HashSet<string>();
        schema.Required.Add("code");
        schema.Required.Add("status");
        schema.Required.Add("title");
        return Task.CompletedTask;
    }
}
