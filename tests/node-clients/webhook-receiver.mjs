// A webhook receiver for the tests, verifying with the npm `standardwebhooks` package (an
// implementation no one here wrote). Listens on 127.0.0.1 (a free port, printed as the first
// line of stdout: {"port": N}).
//
//   POST /_secrets/<name>  {"secrets": ["whsec_…", …]}  the secrets that verify deliveries to /<name>
//   GET  /_log                                          every delivery seen so far, as JSON
//   POST /<name>[?fail=N][&gone=1][&delay=MS]           a delivery: verified with the name's secrets
//     (any one of them verifies) and answered 400 when none does; else 410 with gone=1, 500 for the
//     first N deliveries of each webhook-id with fail=N, after delay ms with delay=MS, else 204.
import http from "node:http";
import { Webhook } from "standardwebhooks";

const secrets = new Map();
const log = [];
const seenPerId = new Map();

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

function verify(name, body, headers) {
  for (const secret of secrets.get(name) ?? []) {
    try {
      return new Webhook(secret).verify(body, headers);
    } catch {
      // next secret
    }
  }
  return null;
}

const server = http.createServer(async (req, res) => {
  const url = new URL(req.url, "http://127.0.0.1");
  const body = await readBody(req);
  const parts = url.pathname.split("/").filter((p) => p.length > 0);
  if (req.method === "GET" && parts[0] === "_log") {
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify(log));
    return;
  }
  if (req.method === "POST" && parts[0] === "_secrets" && parts.length === 2) {
    secrets.set(parts[1], JSON.parse(body).secrets);
    res.writeHead(204);
    res.end();
    return;
  }
  const name = parts[0] ?? "";
  const id = req.headers["webhook-id"] ?? null;
  const payload = verify(name, body, req.headers);
  const n = (seenPerId.get(id) ?? 0) + 1;
  seenPerId.set(id, n);
  let status = 204;
  if (payload === null) {
    status = 400;
  } else if (url.searchParams.get("gone") === "1") {
    status = 410;
  } else if (n <= Number(url.searchParams.get("fail") ?? "0")) {
    status = 500;
  }
  const delay = Number(url.searchParams.get("delay") ?? "0");
  if (delay > 0) {
    await new Promise((r) => setTimeout(r, delay));
  }
  log.push({ name, id, attempt: Number(req.headers["switchboard-webhook-attempt"] ?? "0"), timestamp: req.headers["webhook-timestamp"] ?? null, signature: req.headers["webhook-signature"] ?? null, verified: payload !== null, status, payload });
  res.writeHead(status);
  res.end(status === 400 ? "bad signature" : "");
});

// `--urls http://127.0.0.1:PORT` (bench/run-webhooks.sh, through bench/lib.sh's start_server):
// that port, stopped by a signal. Otherwise (the tests) a free port, stopped when stdin closes.
const urls = process.argv.indexOf("--urls");
const port = urls > 0 ? Number(new URL(process.argv[urls + 1]).port) : 0;
server.listen(port, "127.0.0.1", () => {
  process.stdout.write(JSON.stringify({ port: server.address().port }) + "\n");
});
if (urls < 0) {
  process.stdin.on("end", () => server.close(() => process.exit(0)));
  process.stdin.resume();
}
