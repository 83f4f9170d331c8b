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
//   start_latency_ms  from just before a job's add call to its processor starting (p50, p99);
//                     both clocks are this process's performance.now(), sent in the job data
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
for (const [name, v] of Object.entries({ port, jobs, concurrency, addInflight, bulkSize, timeoutS })) {
  if (!Number.isInteger(v) || v <= 0) {
    console.error(`bench.mjs: bad ${name}: usage: node bench.mjs REDIS_PORT [JOBS] [CONCURRENCY]`);
    process.exit(2);
  }
}

const timer = setTimeout(() => {
  console.error(`bench.mjs: gave up after ${timeoutS} s (${completed} of ${expected} jobs completed)`);
  process.exit(1);
}, timeoutS * 1000);

// Worker needs maxRetriesPerRequest: null (blocking commands); the Queue uses the same options.
const connection = { host: '127.0.0.1', port, maxRetriesPerRequest: null };
const queueName = `sb-bench-bullmq-${Date.now()}-${process.pid}`;
const queue = new Queue(queueName, {
  connection,
  defaultJobOptions: { removeOnComplete: !keepCompleted, removeOnFail: false },
});

// Per measured job: when its add call started, when its processor started.
const addedAt = new Float64Array(jobs);
const startedAt = new Float64Array(jobs);
let expected = warmup;
let completed = 0;
let failed = 0;
let lastCompleted = 0;
let onAllDone = null;

const worker = new Worker(
  queueName,
  async (job) => {
    if (job.data.m) startedAt[job.data.i] = performance.now();
  },
  { connection, concurrency },
);
worker.on('completed', () => {
  completed++;
  if (completed === expected) {
    lastCompleted = performance.now();
    onAllDone?.();
  }
});
worker.on('failed', (job, err) => {
  failed++;
  console.error(`bench.mjs: job ${job?.id} failed: ${err?.message}`);
});
worker.on('error', (err) => console.error(`bench.mjs: worker error: ${err?.message}`));

const allDone = () =>
  new Promise((resolve) => {
    if (completed === expected) resolve();
    else onAllDone = resolve;
  });

// Adds jobs [0, n) one by one with at most `inflight` calls outstanding.
async function addOneByOne(n, measured) {
  let next = 0;
  const caller = async () => {
    while (next < n) {
      const i = next++;
      const t = performance.now();
      if (measured) addedAt[i] = t;
      await queue.add('noop', { i, m: measured });
    }
  };
  await Promise.all(Array.from({ length: Math.min(addInflight, n) }, caller));
}

async function addInBulk(n, measured) {
  for (let start = 0; start < n; start += bulkSize) {
    const batch = [];
    const t = performance.now();
    for (let i = start; i < Math.min(n, start + bulkSize); i++) {
      if (measured) addedAt[i] = t;
      batch.push({ name: 'noop', data: { i, m: measured } });
    }
    await queue.addBulk(batch);
  }
}

function percentile(sorted, p) {
  const k = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[k];
}
const round = (x, d = 1) => Math.round(x * 10 ** d) / 10 ** d;

try {
  await queue.waitUntilReady();
  await worker.waitUntilReady();
  const info = new Redis(connection);
  const redisVersion = (await info.info('server')).match(/redis_version:(\S+)/)?.[1];
  info.disconnect();

  if (warmup > 0) {
    await addOneByOne(warmup, false);
    await allDone();
  }

  completed = 0;
  expected = jobs;
  const t0 = performance.now();
  if (bulk) await addInBulk(jobs, true);
  else await addOneByOne(jobs, true);
  const tAdded = performance.now();
  await allDone();

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
      keep_completed: keepCompleted,
      added_per_s: round(jobs / ((tAdded - t0) / 1000), 0),
      completed_per_s: round(jobs / ((lastCompleted - t0) / 1000), 0),
      start_latency_ms_p50: round(percentile(lat, 50), 2),
      start_latency_ms_p99: round(percentile(lat, 99), 2),
      seconds: round((lastCompleted - t0) / 1000, 2),
    }),
  );
  await worker.close();
  await queue.obliterate({ force: true });
  await queue.close();
  clearTimeout(timer);
  process.exit(0);
} catch (err) {
  console.error(`bench.mjs: ${err?.stack || err}`);
  // Best effort: leave no queue behind, but never wait long for it.
  const cleanup = (async () => {
    await worker.close(true);
    await queue.obliterate({ force: true });
  })().catch(() => {});
  await Promise.race([cleanup, new Promise((r) => setTimeout(r, 5000))]);
  process.exit(1);
}
