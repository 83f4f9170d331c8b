namespace Switchboard.Tests.Infrastructure;

/// <summary>The calls a client makes in nearly every request test, written once.</summary>
public static class ApiCalls
{
    /// <summary>POSTs <paramref name="body"/> as JSON, with an <c>Idempotency-Key</c> when one is given.</summary>
    public static Task<HttpResponseMessage> PostJsonAsync(this HttpClient client, string path, object body, string? idempotencyKey = null)
    {
        var message = new HttpRequestMessage(HttpMethod.Post, path) { Content = JsonContent.Create(body) };
        if (idempotencyKey is not null)
        {
            message.Headers.Add("Idempotency-Key", idempotencyKey);
        }
        return client.SendAsync(message);
    }

    /// <summary>POSTs <paramref name="body"/> as JSON, asserts the submission was accepted (202) and returns the new request's id.</summary>
    public static async Task<string> SubmitAsync(this HttpClient client, string path, object body)
    {
        var response = await client.PostAsJsonAsync(path, body);
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        return await SwitchboardFactory.IdOf(response);
    }

    /// <summary>
    /// Reads GET <c>/svc/request/ID/</c> until <paramref name="condition"/> holds, and returns
    /// that answer; fails the test with the last one after <paramref name="timeout"/> (20 s by default).
    /// </summary>
    public static Task<JsonObject> WaitForRequest(this HttpClient client, string id, Func<JsonObject, bool> condition, TimeSpan? timeout = null) =>
        Wait.For(() => SwitchboardFactory.Get(client, id), condition, timeout ?? TimeSpan.FromSeconds(20), $"request {id}");

    /// <summary>Reads the admin health document (<c>/admin/api/health</c>) until <paramref name="until"/> holds for it, and returns it.</summary>
    public static Task<JsonObject> WaitForHealth(this HttpClient admin, Func<JsonObject, bool> until, TimeSpan timeout) =>
        Wait.For(async () => (await admin.GetFromJsonAsync<JsonObject>("/admin/api/health"))!, until, timeout, "the health document to match",
            TimeSpan.FromMilliseconds(100));
}
