// The worker of the Fastify + BullMQ peer (issue 23): one node process, as Switchboard's
// executor. Started by bench/fastify-bullmq/run.sh.
//
//   node worker.mjs REDIS_PORT QUEUE CONCURRENCY
//
// A BullMQ Worker running the "echo" job, as Switchboard's echo.render: the output is the text
// rendered into "Echo {text}", returned, so BullMQ records it with the job as completed
// (returnvalue, finishedOn) in the same Redis call that takes the next job. Nothing else is
// written: no outcome row, no credits settled.
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const nodeDir = process.env.SB_NODE_MODULES || path.join(here, '..', 'out', 'node');
const require = createRequire(path.join(nodeDir, 'package.json'));
const { Worker } = require('bullmq');

const redisPort = Number.parseInt(process.argv[2], 10);
const queueName = process.argv[3];
const concurrency = Number.parseInt(process.argv[4] ?? '100', 10);
if (!Number.isInteger(redisPort) || !queueName || !Number.isInteger(concurrency) || concurrency <= 0) {
  console.error('usage: node worker.mjs REDIS_PORT QUEUE [CONCURRENCY=100]');
  process.exit(2);
}

const worker = new Worker(queueName, async (job) => ({ output: `Echo ${job.data.text}` }), {
  connection: { host: '127.0.0.1', port: redisPort, maxRetriesPerRequest: null },
  concurrency,
});
worker.on('failed', (job, err) => console.error(`worker: job ${job?.id} failed: ${err?.message}`));
worker.on('error', (err) => console.error(`worker: ${err?.message}`));

await worker.waitUntilReady();
console.log('worker ready');
const stop = async () => {
  await worker.close();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
