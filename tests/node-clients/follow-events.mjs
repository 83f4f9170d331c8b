// Follows one request's event stream with the npm `eventsource` client (not code of ours) and
// prints one JSON line per thing it saw: {"seen":"open"} each time a connection opens (so a
// reconnect shows), then {"seen":"event","type","id","data"} per event. On `end` it closes the
// source and exits 0; it gives up (exit 2) after SB_TIMEOUT_MS. The client reconnects on its
// own when a connection drops, sending Last-Event-ID: that is what the test cuts to show.
// Usage: SB_STREAM_URL=http://127.0.0.1:PORT/svc/request/ID/events?token=... node follow-events.mjs
import { EventSource } from 'eventsource';

const url = process.env.SB_STREAM_URL;
const timeout = Number(process.env.SB_TIMEOUT_MS ?? 30000);
const print = (line) => process.stdout.write(JSON.stringify(line) + '\n');

const source = new EventSource(url);
source.onopen = () => print({ seen: 'open' });
source.onerror = (e) => print({ seen: 'error', message: e.message ?? null, code: e.code ?? null });
for (const type of ['status', 'progress', 'partial', 'result', 'end']) {
  source.addEventListener(type, (e) => {
    print({ seen: 'event', type, id: e.lastEventId, data: e.data });
    if (type === 'end') {
      source.close();
      process.exit(0);
    }
  });
}
setTimeout(() => {
  print({ seen: 'timeout' });
  source.close();
  process.exit(2);
}, timeout);
