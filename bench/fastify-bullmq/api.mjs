// The api of the Fastify + BullMQ peer (issue 23): what a team without Switchboard would put in
// front of BullMQ. Started by bench/fastify-bullmq/run.sh; one node process, as Switchboard's api.
//
//   node api.mjs PORT REDIS_PORT QUEUE KEYS_FILE
//
// POST /svc/:service/:action/ with `Authorization: Bearer KEY` and a JSON body {"text": "..."}:
//   - the key: SHA-256 of it looked up in a Map built at start from KEYS_FILE (lines "user key"),
//     as a service that stores only key hashes would do; 401 when missing or unknown;
//   - the offer: service/action must be one the api knows (bench/echo); 404 otherwise;
//   - the body: Fastify's JSON schema (an object with a string `text` of at most 4,096
//     characters, nothing else; body at most 8 KiB); 400 otherwise;
//   - the id: the first 128 bits of SHA-256 over user, offer and text (length-prefixed, as
//     Switchboard's request id), used as BullMQ's jobId, so that a repeated submission is the
//     same job (BullMQ ignores an add whose jobId exists), as Switchboard de-duplicates;
//   - queue.add(offer, {user, text}, {jobId}) on one shared Queue, then 202 {"id": ...}.
// GET /healthz answers "ok" once the queue's Redis connection is ready.
// What it does not do that Switchboard does: no durable row, no credits charged, no ledger row,
// no claim or outcome written by conditional updates; Redis (appendfsync everysec) is the only
// store, and a crash may lose the last second of accepted jobs.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const nodeDir = process.env.SB_NODE_MODULES || path.join(here, '..', 'out', 'node');
const require = createRequire(path.join(nodeDir, 'package.json'));
const Fastify = require('fastify');
const { Queue } = require('bullmq');

const [port, redisPort] = process.argv.slice(2, 4).map((v) => Number.parseInt(v, 10));
const queueName = process.argv[4];
const keysFile = process.argv[5];
if (!Number.isInteger(port) || !Number.isInteger(redisPort) || !queueName || !keysFile) {
  console.error('usage: node api.mjs PORT REDIS_PORT QUEUE KEYS_FILE');
  process.exit(2);
}

const sha256 = (s) => createHash('sha256').update(s).digest();
// key hash (hex) → user; the keys themselves are not kept.
const users = new Map();
for (const line of readFileSync(keysFile, 'utf8').split('\n')) {
  const [user, key] = line.trim().split(/\s+/);
  if (user && key) users.set(sha256(key).toString('hex'), user);
}
const offers = new Set(['bench/echo']);

function requestId(user, offer, text) {
  const hash = createHash('sha256');
  for (const part of [user, offer, text]) {
    const bytes = Buffer.from(part, 'utf8');
    const length = Buffer.alloc(4);
    length.writeUInt32BE(bytes.length);
    hash.update(length).update(bytes);
  }
  return hash.digest('hex').slice(0, 32);
}

const queue = new Queue(queueName, {
  connection: { host: '127.0.0.1', port: redisPort, maxRetriesPerRequest: null },
  // BullMQ's defaults, said out loud: finished jobs stay in Redis with their result.
  defaultJobOptions: { removeOnComplete: false, removeOnFail: false },
});

// Strict validation: Fastify's default Ajv would coerce {"text": 1} into "1" and silently drop
// unknown fields; a 400 for both is what Switchboard answers.
const app = Fastify({
  logger: false,
  bodyLimit: 8192,
  ajv: { customOptions: { coerceTypes: false, removeAdditional: false } },
});

const submitSchema = {
  params: {
    type: 'object',
    properties: { service: { type: 'string' }, action: { type: 'string' } },
    required: ['service', 'action'],
  },
  body: {
    type: 'object',
    properties: { text: { type: 'string', maxLength: 4096 } },
    required: ['text'],
    additionalProperties: false,
  },
  response: { 202: { type: 'object', properties: { id: { type: 'string' } } } },
};

// Authentication runs before the body is validated (onRequest), as an auth hook would.
async function authenticate(request, reply) {
  const header = request.headers.authorization;
  const user = header?.startsWith('Bearer ') ? users.get(sha256(header.slice(7)).toString('hex')) : undefined;
  if (user === undefined) return reply.code(401).send({ code: 'unauthorized', message: 'a valid API key is required' });
  request.user = user;
}

app.decorateRequest('user', null);
app.post('/svc/:service/:action/', { schema: submitSchema, onRequest: authenticate }, async (request, reply) => {
  const offer = `${request.params.service}/${request.params.action}`;
  if (!offers.has(offer)) return reply.code(404).send({ code: 'not_found', message: `no offer ${offer}` });
  const { text } = request.body;
  const id = requestId(request.user, offer, text);
  await queue.add(offer, { user: request.user, text }, { jobId: id });
  return reply.code(202).send({ id });
});
app.get('/healthz', async () => 'ok');

await queue.waitUntilReady();
await app.listen({ host: '127.0.0.1', port });
const stop = async () => {
  await app.close();
  await queue.close();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
