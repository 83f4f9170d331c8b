// The event stream benchmark's load client (bench/run-streams.sh): Node's own http, 127.0.0.1
// only, bounded by STREAMS. One round against one `serve`:
//   1. submits STREAMS requests of bench/hold (they stay queued or running: nothing changes);
//   2. baseline: the server's CPU over IDLE_S seconds with no stream open (from /proc/PID/stat);
//   3. opens STREAMS event streams (with the key), waits for each one's first status event;
//   4. the server's CPU over IDLE_S seconds with every stream open and nothing changing;
//   5. cancels the requests at RATE per second (one committed change each) and, per stream,
//      takes (time the cancelled status arrived − its updated_at): commit → client latency.
// Prints one JSON line: {streams, idle_s, cpu_idle_baseline_pct, cpu_idle_streams_pct, rate,
// changes, latency_ms: {p50, p99, max}, achieved_rate}. CPU % is of one core.
import http from 'node:http';
import { readFileSync } from 'node:fs';

const base = new URL(process.env.SB_URL);
const key = process.env.SB_KEY;
const pid = process.env.SB_PID;
const streams = Number(process.env.STREAMS ?? 5000);
const idleS = Number(process.env.IDLE_S ?? 30);
const rate = Number(process.env.RATE ?? 1000);
const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
const streamAgent = new http.Agent({ keepAlive: false, maxSockets: Infinity });
const ticks = Number(process.env.CLK_TCK ?? 100);

const log = (m) => process.stderr.write(`[client] ${m}\n`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function call(method, path, body) {
  return new Promise((resolve, reject) => {
    const data = body ? JSON.stringify(body) : undefined;
    const req = http.request({ host: base.hostname, port: base.port, path, method, agent,
      headers: { authorization: `Bearer ${key}`, ...(data ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) } : {}) } },
      (res) => { let text = ''; res.setEncoding('utf8'); res.on('data', (c) => (text += c)); res.on('end', () => resolve({ status: res.statusCode, text })); });
    req.on('error', reject);
    req.end(data);
  });
}

async function pool(items, width, fn) {
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => { while (next < items.length) { const i = next++; await fn(items[i], i); } }));
}

function cpuSeconds() {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / ticks; // utime + stime
}

async function idleCpu() {
  const c0 = cpuSeconds(); const t0 = process.hrtime.bigint();
  await sleep(idleS * 1000);
  const c1 = cpuSeconds(); const t1 = process.hrtime.bigint();
  return Math.round(((c1 - c0) / (Number(t1 - t0) / 1e9)) * 10000) / 100;
}

// One stream: resolves `opened` at its first status event, `cancelled` with the latency of the cancelled status.
function follow(id) {
  let opened, cancelled, fail;
  const o = new Promise((r, j) => { opened = r; fail = j; });
  const c = new Promise((r) => (cancelled = r));
  const req = http.request({ host: base.hostname, port: base.port, path: `/svc/request/${id}/events`, agent: streamAgent,
    headers: { authorization: `Bearer ${key}`, accept: 'text/event-stream' } }, (res) => {
    if (res.statusCode !== 200) { fail(new Error(`stream ${id}: ${res.statusCode}`)); return; }
    res.setEncoding('utf8');
    let buffer = '';
    res.on('data', (chunk) => {
      const now = Date.now();
      buffer += chunk;
      let end;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end); buffer = buffer.slice(end + 2);
        const type = /^event: (.*)$/m.exec(block)?.[1];
        const data = block.split('\n').filter((l) => l.startsWith('data: ')).map((l) => l.slice(6)).join('\n');
        if (type !== 'status') continue;
        const request = JSON.parse(data);
        if (request.status === 'cancelled') cancelled(now - Date.parse(request.updated_at));
        else opened();
      }
    });
  });
  req.on('error', (e) => fail(e));
  req.end();
  return { opened: o, cancelled: c };
}

const ids = [];
log(`submitting ${streams} requests`);
await pool(Array.from({ length: streams }, (_, i) => i), 64, async (i) => {
  const r = await call('POST', '/svc/bench/hold/', { text: `s${i}-${process.pid}-${Date.now()}` });
  if (r.status !== 202) throw new Error(`submit: ${r.status} ${r.text}`);
  ids.push(JSON.parse(r.text).id);
});
await sleep(2000);
log(`baseline: server CPU over ${idleS} s, no stream open`);
const baseline = await idleCpu();
log(`opening ${streams} streams`);
const followers = [];
for (let i = 0; i < ids.length; i++) {
  followers.push(follow(ids[i]));
  if (i % 200 === 199) await Promise.all(followers.slice(i - 199, i + 1).map((f) => f.opened));
}
await Promise.all(followers.map((f) => f.opened));
await sleep(2000);
log(`server CPU over ${idleS} s, ${streams} streams open, nothing changing`);
const withStreams = await idleCpu();
log(`cancelling at ${rate}/s`);
const t0 = Date.now();
let sent = 0;
const cancels = [];
while (sent < ids.length) {
  const due = Math.min(ids.length, Math.floor(((Date.now() - t0) / 1000) * rate) + 1);
  while (sent < due) {
    const id = ids[sent++];
    cancels.push(call('DELETE', `/svc/request/${id}/`).then((r) => { if (r.status !== 200) throw new Error(`cancel: ${r.status} ${r.text}`); }));
  }
  await sleep(5);
}
await Promise.all(cancels);
const achieved = ids.length / ((Date.now() - t0) / 1000);
const latencies = (await Promise.all(followers.map((f) => f.cancelled))).sort((a, b) => a - b);
const q = (p) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))];
console.log(JSON.stringify({ streams, idle_s: idleS, cpu_idle_baseline_pct: baseline, cpu_idle_streams_pct: withStreams, rate,
  achieved_rate: Math.round(achieved), changes: latencies.length, latency_ms: { p50: q(0.5), p99: q(0.99), max: latencies[latencies.length - 1] } }));
process.exit(0);
