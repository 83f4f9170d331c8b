// BullMQ peer for the distributed benchmark: how fast BullMQ enqueues and runs no-op jobs on the
// same Redis that Switchboard uses. Run through bench/bullmq/run.sh, which installs bullmq and
// ioredis into bench/out/node. Prints one JSON line and exits 0; any failure exits 1.
//
//   node bench.mjs REDIS_PORT [JOBS=20000] [CONCURRENCY=100]
//
// Environment (all optional):
//   ADD_INFLIGHT=64   queue.add calls in flight at once (see "How jobs are added")
//   BULK=0            1: add with queue.addBulk in chunks of BULK_SIZE instead (one caller)
//   BULK_SIZE=500
//   WARMUP=2000       jobs run first, unmeasured, on the same queue and worker (JIT, connections)
//   WORKER_PROCESS=0  1: run the Worker in a child process of its own (a separate consumer, as
//                     in a deployment; also a second core for BullMQ) instead of beside the adds
//   KEEP_COMPLETED=1  0: removeOnComplete (BullMQ's default, 1, keeps every finished job in Redis)
//   TIMEOUT=120       seconds before the run gives up and exits 1
//   SB_NODE_MODULES   folder holding node_modules/bullmq (default bench/out/node)
//
// How jobs are added: like a web API that enqueues one job per HTTP request, each job is its own
// queue.add call on one shared Queue (one Redis connection, as one API process would have), with
// at most ADD_INFLIGHT calls outstanding, i.e. ADD_INFLIGHT concurrent requests. addBulk is faster
// but is not what an API answering one request at a time can do; BULK=1 reports it for reference.
//
// What is measured (the worker runs from the start, so adding and processing overlap):
//   added_per_s       JOBS / (time from the first add call to the last add resolving)
//   completed_per_s   JOBS / (time from the first add call to the last `completed` event)
//   start_latency_ms  from just before a job's add call to its processor starting (p50, p99),
//                     on one clock (timeOrigin + performance.now(), sent in the job data). Adding is faster
//                     than processing, so a backlog builds: under this load it is mostly
//                     queueing time, not BullMQ's idle pick-up time.
//   node_cpu_s        CPU seconds (user + system) of this node process between the first add call
//                     and the last `completed` event (null with WORKER_PROCESS=1: the worker's
//                     CPU is in its own process)
//   redis_cpu_s       CPU seconds of the Redis server over the same window (INFO cpu)
//
// Choices, measured on the 2-core dev machine (Redis 7.0, BullMQ 6.7, 20,000 jobs; the machine is
// shared, so single runs vary by about ±30 %): worker concurrency 10, 50, 100 and 200 all gave
// 3,100–4,600 completed/s with no order between them (node ≈ 1 core and redis ≈ 0.8 core are
// busy whatever the concurrency); 100 is kept as BullMQ's usual setting for I/O-bound jobs. The
// worker in its own process (WORKER_PROCESS=1) was no faster on 2 cores. ADD_INFLIGHT=8 lowered
// added/s to ~2,400; 256 raised it but not completed/s.
import { fork } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const nodeDir = process.env.SB_NODE_MODULES || path.join(here, '..', 'out', 'node');
const require = createRequire(path.join(nodeDir, 'package.json'));
const { Queue, Worker } = require('bullmq');
const bullmqVersion = require('bullmq/package.json').version;
const ioredis = require('ioredis');
const Redis = ioredis.Redis ?? ioredis.default ?? ioredis;

const int = (v, d) => (v === undefined || v === '' ? d : Number.parseInt(v, 10));
const port = int(process.argv[2], NaN);
const jobs = int(process.argv[3], 20000);
const concurrency = int(process.argv[4], 100);
const addInflight = int(process.env.ADD_INFLIGHT, 64);
const bulk = process.env.BULK === '1';
const bulkSize = int(process.env.BULK_SIZE, 500);
const warmup = int(process.env.WARMUP, 2000);
const keepCompleted = process.env.KEEP_COMPLETED !== '0';
const timeoutS = int(process.env.TIMEOUT, 120);
const workerProcess = process.env.WORKER_PROCESS === '1';
for (const [name, v] of Object.entries({ port, jobs, concurrency, addInflight, bulkSize, timeoutS })) {
  if (!Number.isInteger(v) || v <= 0) {
    console.error(`bench.mjs: bad ${name}: usage: node bench.mjs REDIS_PORT [JOBS] [CONCURRENCY]`);
    process.exit(2);
  }
}

// Worker needs maxRetriesPerRequest: null (blocking commands); the Queue uses the same options.
const connection = { host: '127.0.0.1', port, maxRetriesPerRequest: null };
// One clock for both processes when the worker runs in its own (ms since the epoch, sub-ms).
const now = () => performance.timeOrigin + performance.now();

// The consuming side: a Worker with a no-op processor that notes when each measured job started
// and calls onAllDone(lastCompletedTime) once `expected` jobs have completed.
function consume(queueName) {
  // completed and target count every job of the run, warm-up included.
  const side = { target: Infinity, completed: 0, failed: 0, startedAt: new Float64Array(jobs) };
  side.worker = new Worker(
    queueName,
    async (job) => {
      if (job.data.m) side.startedAt[job.data.i] = now();
    },
    { connection, concurrency },
  );
  side.worker.on('completed', () => {
    side.completed++;
    if (side.completed === side.target) side.onAllDone?.(now());
  });
  side.worker.on('failed', (job, err) => {
    side.failed++;
    console.error(`bench.mjs: job ${job?.id} failed: ${err?.message}`);
  });
  side.worker.on('error', (err) => console.error(`bench.mjs: worker error: ${err?.message}`));
  return side;
}

// WORKER_PROCESS=1: this file, started again with --worker, runs the Worker in a child process and
// talks to the parent over IPC: {ready}, then {expect: total} → {done: time}, {report} → the
// start times.
if (process.argv[5] === '--worker') {
  const side = consume(process.argv[6]);
  await side.worker.waitUntilReady();
  process.on('message', async (msg) => {
    if (msg.expect !== undefined) {
      side.target = msg.expect;
      side.onAllDone = (t) => process.send({ done: t, failed: side.failed });
      if (side.completed >= side.target) side.onAllDone(now());
    } else if (msg.report) {
      await side.worker.close();
      process.send({ startedAt: Array.from(side.startedAt), failed: side.failed }, () => process.exit(0));
    }
  });
  process.send({ ready: true });
  await new Promise(() => {});
}

// Fail fast (not after TIMEOUT of reconnect attempts) when nothing answers on the port.
let redisVersion;
{
  const probe = new Redis({ ...connection, lazyConnect: true, retryStrategy: () => null });
  probe.on('error', () => {});
  try {
    await probe.connect();
    redisVersion = (await probe.info('server')).match(/redis_version:(\S+)/)?.[1];
  } catch (err) {
    console.error(`bench.mjs: no Redis on 127.0.0.1:${port}: ${err?.message}`);
    process.exit(1);
  }
  probe.disconnect();
}

// On failure or timeout: stop the worker process, try (5 s at most) to obliterate the queue.
let stopping = false;
async function bail(message) {
  if (stopping) return;
  stopping = true;
  console.error(`bench.mjs: ${message}`);
  child?.kill('SIGKILL');
  const cleanup = (async () => {
    await side?.worker.close(true);
    await queue.obliterate({ force: true });
  })().catch(() => {});
  await Promise.race([cleanup, new Promise((r) => setTimeout(r, 5000))]);
  process.exit(1);
}
const timer = setTimeout(() => bail(`gave up after ${timeoutS} s`), timeoutS * 1000);

const queueName = `sb-bench-bullmq-${Date.now()}-${process.pid}`;
const queue = new Queue(queueName, {
  connection,
  defaultJobOptions: { removeOnComplete: !keepCompleted, removeOnFail: false },
});

// Per measured job: when its add call started.
const addedAt = new Float64Array(jobs);
let child = null;
let side = null;
// expect(n), called before adding n more jobs: a promise of the time the last of them completed.
let expect;
let total = 0;
let finish; // → { startedAt, failed } and the worker closed
if (workerProcess) {
  const args = [port, jobs, concurrency, '--worker', queueName].map(String);
  child = fork(fileURLToPath(import.meta.url), args, {
    env: process.env,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const next = (key) =>
    new Promise((resolve, reject) => {
      const onMessage = (msg) => {
        if (msg[key] !== undefined) {
          child.off('message', onMessage);
          resolve(msg);
        }
      };
      child.on('message', onMessage);
      child.once('exit', (code) => reject(new Error(`worker process exited (${code})`)));
    });
  const ready = next('ready');
  await ready;
  expect = (n) => {
    const done = next('done').then((m) => m.done);
    total += n;
    child.send({ expect: total });
    return done;
  };
  finish = () => {
    const report = next('startedAt');
    child.send({ report: true });
    return report;
  };
} else {
  side = consume(queueName);
  await side.worker.waitUntilReady();
  expect = (n) =>
    new Promise((resolve) => {
      total += n;
      side.target = total;
      side.onAllDone = resolve;
      if (side.completed >= side.target) resolve(now());
    });
  finish = async () => {
    await side.worker.close();
    return { startedAt: side.startedAt, failed: side.failed };
  };
}

// Adds jobs [0, n) one by one with at most `inflight` calls outstanding.
async function addOneByOne(n, measured) {
  let next = 0;
  const caller = async () => {
    while (next < n && !stopping) {
      const i = next++;
      const t = now();
      if (measured) addedAt[i] = t;
      await queue.add('noop', { i, m: measured });
    }
  };
  await Promise.all(Array.from({ length: Math.min(addInflight, n) }, caller));
}

async function addInBulk(n, measured) {
  for (let start = 0; start < n && !stopping; start += bulkSize) {
    const batch = [];
    const t = now();
    for (let i = start; i < Math.min(n, start + bulkSize); i++) {
      if (measured) addedAt[i] = t;
      batch.push({ name: 'noop', data: { i, m: measured } });
    }
    await queue.addBulk(batch);
  }
}

// CPU seconds Redis has used so far (all its threads), from INFO cpu.
const statsConnection = new Redis({ ...connection, lazyConnect: true });
statsConnection.on('error', () => {});
async function redisCpu() {
  const info = await statsConnection.info('cpu');
  const field = (k) => Number.parseFloat(info.match(new RegExp(`${k}:([0-9.]+)`))?.[1] ?? 'NaN');
  return field('used_cpu_user') + field('used_cpu_sys');
}
const cpuSeconds = (u) => (u.user + u.system) / 1e6;

function percentile(sorted, p) {
  const k = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[k];
}
const round = (x, d = 1) => Math.round(x * 10 ** d) / 10 ** d;

try {
  await queue.waitUntilReady();

  if (warmup > 0) {
    const warmedUp = expect(warmup);
    await addOneByOne(warmup, false);
    await warmedUp;
  }

  await statsConnection.connect();
  const redisCpu0 = await redisCpu();
  const allDone = expect(jobs);
  const cpu0 = process.cpuUsage();
  const t0 = now();
  if (bulk) await addInBulk(jobs, true);
  else await addOneByOne(jobs, true);
  const tAdded = now();
  const lastCompleted = await allDone;
  const cpu1 = process.cpuUsage(cpu0);
  const redisCpu1 = await redisCpu();
  const { startedAt, failed } = await finish();

  if (failed > 0) throw new Error(`${failed} jobs failed`);
  const lat = new Float64Array(jobs);
  for (let i = 0; i < jobs; i++) lat[i] = startedAt[i] - addedAt[i];
  lat.sort();
  console.log(
    JSON.stringify({
      peer: 'bullmq',
      bullmq: bullmqVersion,
      redis: redisVersion,
      jobs,
      add: bulk ? `addBulk x${bulkSize}` : `add, ${addInflight} in flight`,
      concurrency,
      worker: workerProcess ? 'own process' : 'same process',
      keep_completed: keepCompleted,
      added_per_s: round(jobs / ((tAdded - t0) / 1000), 0),
      completed_per_s: round(jobs / ((lastCompleted - t0) / 1000), 0),
      start_latency_ms_p50: round(percentile(lat, 50), 2),
      start_latency_ms_p99: round(percentile(lat, 99), 2),
      seconds: round((lastCompleted - t0) / 1000, 2),
      node_cpu_s: workerProcess ? null : round(cpuSeconds(cpu1), 2),
      redis_cpu_s: round(redisCpu1 - redisCpu0, 2),
    }),
  );
  await queue.obliterate({ force: true });
  await queue.close();
  statsConnection.disconnect();
  clearTimeout(timer);
  process.exit(0);
} catch (err) {
  await bail(err?.stack || err);
}
