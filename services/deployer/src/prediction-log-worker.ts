// The prediction log's writer thread: the serving thread hands it columns of served predictions
// and it writes them to Postgres, so building array literals, the pg protocol and their garbage
// never run between two Predict calls. Requests are answered in the order they came: a flush is
// answered once everything sent before it was written (or a write failed: then it is kept and
// retried with a growing pause, and the flush is answered `ok: false`).
import { setTimeout as sleep } from 'node:timers/promises';
import { parentPort, workerData } from 'node:worker_threads';
import { createPool } from '@refit/platform/pg';
import { writeFailures, writePredictions, type LogReply, type LogRequest, type LogWorkerData, type PredictionColumns } from './prediction-log-writer.js';

/** Most rows one insert carries (several batches are merged up to this). */
const MAX_ROWS_PER_WRITE = 50_000;
const RETRY_FIRST_MS = 100;
const RETRY_MAX_MS = 5_000;

const port = parentPort;
if (!port) throw new Error('prediction-log-worker runs as a worker thread');
const data = workerData as LogWorkerData;
const pool = createPool({ url: data.url, schema: data.schema, max: 2, applicationName: `refit:${data.schema}:prediction-log` });
pool.on('error', () => undefined);

const queue: LogRequest[] = [];
let pumping = false;
let closing = false;
const reply = (m: LogReply) => port.postMessage(m);

port.on('message', (m: LogRequest | { type: 'close' }) => {
  if (m.type === 'close') {
    closing = true;
    void pool.end().finally(() => port.close());
    return;
  }
  queue.push(m);
  void pump();
});

async function pump(): Promise<void> {
  if (pumping) return;
  pumping = true;
  let pause = RETRY_FIRST_MS;
  try {
    while (queue.length > 0 && !closing) {
      const head = queue[0];
      if (head.type === 'flush') {
        queue.shift();
        reply({ type: 'flushed', seq: head.seq, ok: true });
        continue;
      }
      // A group of the same kind, in order: merged into one statement.
      const group: LogRequest[] = [];
      let rows = 0;
      for (const m of queue) {
        if (m.type !== head.type) break;
        const n = m.type === 'predictions' ? m.columns.n : m.failures.length;
        if (group.length > 0 && rows + n > MAX_ROWS_PER_WRITE) break;
        group.push(m);
        rows += n;
      }
      try {
        if (head.type === 'predictions') await writePredictions(pool, group.map((m) => (m as { columns: PredictionColumns }).columns));
        else await writeFailures(pool, group.flatMap((m) => (m.type === 'failures' ? m.failures : [])));
        queue.splice(0, group.length);
        reply({ type: 'written', seqs: group.map((m) => m.seq), rows: head.type === 'predictions' ? rows : 0 });
        pause = RETRY_FIRST_MS;
      } catch (err) {
        // Kept, in order, for the next attempt (the inserts are idempotent); whoever waits on a
        // flush hears that it did not make it this time.
        reply({ type: 'failed', message: err instanceof Error ? err.message : String(err), rows, retryInMs: pause });
        for (let i = queue.length - 1; i >= 0; i--) {
          const m = queue[i];
          if (m.type === 'flush') {
            queue.splice(i, 1);
            reply({ type: 'flushed', seq: m.seq, ok: false });
          }
        }
        await sleep(pause, undefined, { ref: false });
        pause = Math.min(RETRY_MAX_MS, pause * 2);
      }
    }
  } finally {
    pumping = false;
  }
}

reply({ type: 'ready' });
