// Reads one measured batch of the Fastify + BullMQ peer back from Redis, after it drained:
// every job created at or after T0 (ms since the epoch, the harness's clock before the first
// request). Prints one JSON line: jobs, failed (all of the queue), first_created and
// last_finished (ms, BullMQ's `timestamp` set by queue.add in the api and `finishedOn` set by
// the worker), and queued→running p50/p99 (processedOn − timestamp), as Switchboard's
// started_at − created_at.
//
//   node stats.mjs REDIS_PORT QUEUE T0
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const nodeDir = process.env.SB_NODE_MODULES || path.join(here, '..', 'out', 'node');
const require = createRequire(path.join(nodeDir, 'package.json'));
const ioredis = require('ioredis');
const Redis = ioredis.Redis ?? ioredis.default ?? ioredis;

const redisPort = Number.parseInt(process.argv[2], 10);
const queueName = process.argv[3];
const t0 = Number(process.argv[4]);
const redis = new Redis({ host: '127.0.0.1', port: redisPort });
const key = (k) => `bull:${queueName}:${k}`;

const failed = await redis.zcard(key('failed'));
// The completed set is scored by finishedOn: only jobs that finished after T0 can be measured.
const ids = await redis.zrangebyscore(key('completed'), t0, '+inf');
const pipeline = redis.pipeline();
for (const id of ids) pipeline.hmget(key(id), 'timestamp', 'processedOn', 'finishedOn');
const rows = ids.length ? await pipeline.exec() : [];
let jobs = 0;
let first = Infinity;
let last = -Infinity;
const waits = [];
for (const [err, fields] of rows) {
  if (err) throw err;
  const [created, processed, finished] = fields.map(Number);
  if (!(created >= t0)) continue;
  jobs++;
  first = Math.min(first, created);
  last = Math.max(last, finished);
  waits.push(processed - created);
}
waits.sort((a, b) => a - b);
const pct = (p) => (waits.length ? waits[Math.min(waits.length - 1, Math.max(0, Math.ceil((p / 100) * waits.length) - 1))] : null);
console.log(JSON.stringify({ jobs, failed, first_created: jobs ? first : null, last_finished: jobs ? last : null, p50: pct(50), p99: pct(99) }));
redis.disconnect();
