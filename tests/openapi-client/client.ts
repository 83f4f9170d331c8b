// A client of the client API, typed by openapi-typescript from the document the server serves
// (out/svc.ts) and calling it with openapi-fetch: no line of it is hand-written against the
// server's shapes. OpenApiClientTests compiles it with tsc (a type error in it fails the test)
// and runs it against a real server: SB_URL, SB_KEY. It prints one JSON line of what it saw.
import createClient from "openapi-fetch";
import type { paths, components } from "./out/svc.js";

type Problem = components["schemas"]["ProblemDetails"];
// Node's one global used here (no @types/node needed for it).
declare const process: { env: Record<string, string | undefined> };

const baseUrl = process.env.SB_URL!;
const client = createClient<paths>({ baseUrl, headers: { Authorization: `Bearer ${process.env.SB_KEY}` } });

async function until<T>(what: string, read: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const value = await read();
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function get(id: string) {
  const { data, error } = await client.GET("/svc/request/{id}/", { params: { path: { id } } });
  if (error) throw new Error(`GET ${id}: ${error.code}`);
  return data;
}

// Submit an offer (its inputs are the body's required properties), poll it, read its results.
const submitted = await client.POST("/svc/text/shout/", { body: { word: "hello" } });
if (submitted.response.status !== 202 || !submitted.data) throw new Error(`submit answered ${submitted.response.status}`);
const id: string = submitted.data.id;
const done = await until("the request to finish", async () => {
  const request = await get(id);
  return ["succeeded", "failed"].includes(request.status) ? request : undefined;
});
const results: unknown[] = done.results;

// Submit a slow one and cancel it.
const slow = await client.POST("/svc/text/slow/", { body: { word: "later" } });
if (!slow.data) throw new Error(`slow submit answered ${slow.response.status}`);
const cancelled = await client.DELETE("/svc/request/{id}/", { params: { path: { id: slow.data.id } } });
if (!cancelled.data) throw new Error(`cancel answered ${cancelled.response.status}: ${cancelled.error?.code}`);

// A problem: invalid inputs, typed as the document's problem schema. The type of the offer's
// body requires "word": leaving it out does not compile (the directive fails tsc if it did).
// @ts-expect-error "word" is required by the offer's schema
const invalid = await client.POST("/svc/text/shout/", { body: { nope: "x" } });
const problem: Problem | undefined = invalid.error;
if (!problem) throw new Error(`invalid inputs answered ${invalid.response.status}`);
// Its type resolves to a page of the docs that explains the code.
const typePage = await fetch(new URL(problem.type ?? "", baseUrl));
const typeHtml = await typePage.text();

console.log(JSON.stringify({
  id,
  status: done.status,
  results,
  cancelled: cancelled.data.status,
  problem: { status: invalid.response.status, contentType: invalid.response.headers.get("content-type"), code: problem.code, title: problem.title, type: problem.type },
  typePage: { status: typePage.status, anchored: typeHtml.includes(`id="${problem.code}"`) },
}));
