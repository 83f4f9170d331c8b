namespace Switchboard.Tests.Infrastructure;

/// <summary>The one check of an error answer, imported everywhere (GlobalUsings.cs): every refusal is a problem with a stable code (STYLE.md §3).</summary>
public static class ProblemAssert
{
    /// <summary>
    /// Asserts <paramref name="response"/> is <c>application/problem+json</c> with
    /// <paramref name="status"/> and the <c>code</c> <paramref name="code"/>; returns the problem
    /// for what else the test checks in it.
    /// </summary>
    public static async Task<JsonObject> Problem(HttpResponseMessage response, HttpStatusCode status, string code)
    {
        Assert.Equal(status, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = (await response.Content.ReadFromJsonAsync<JsonObject>())!;
        Assert.Equal(code, problem["code"]!.GetValue<string>());
        return problem;
    }
}
