// BullMQ's side of benches/peers/run (run with NODE_PATH pointing at the
// scratch dir's node_modules):
//
//   node bullmq.js enqueue                 one queue.add, then close
//   node bullmq.js bulk KIND N             queue.addBulk in chunks of 1,000
//   node bullmq.js worker KIND C [N]       a Worker of concurrency C; prints
//                                          "ready" once connected, and with N
//                                          exits after N completions, printing
//                                          {"completed":..,"failed":..}
//
// Environment: PEERS_REDIS_PORT, PEERS_URL (the HTTP target).
//
// Configuration: BullMQ's defaults (ioredis connection, one per Queue and
// two per Worker), except that http and noop jobs are added with
// removeOnComplete: true (as taskq's HTTP jobs set ignore_result); shell
// jobs keep their completed record, as taskq's do. HTTP uses Node 20's
// global fetch (undici: keep-alive, a connection pool per origin). The
// worker counts its own 'completed' events, so no extra Redis command per
// job is needed to know when the drain is done.
'use strict';

const { Queue, Worker } = require('bullmq');
const { execFile } = require('node:child_process');

const connection = { host: '127.0.0.1', port: Number(process.env.PEERS_REDIS_PORT || 6379) };
const URL = process.env.PEERS_URL || 'http://127.0.0.1/ok';
const QUEUE = 'peers';
const CHUNK = 1000;

function opts(kind) {
  return kind === 'shell' ? {} : { removeOnComplete: true };
}

const processors = {
  noop: async () => {},
  shell: () =>
    new Promise((resolve, reject) => {
      execFile('true', (err) => (err ? reject(err) : resolve()));
    }),
  http: async () => {
    const res = await fetch(URL);
    await res.text();
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
  },
};

async function main() {
  const [what, kind, arg1, arg2] = process.argv.slice(2);
  if (what === 'enqueue') {
    const queue = new Queue(QUEUE, { connection });
    await queue.add('noop', {}, opts('noop'));
    await queue.close();
  } else if (what === 'bulk') {
    const queue = new Queue(QUEUE, { connection });
    let left = Number(arg1);
    while (left > 0) {
      const k = Math.min(CHUNK, left);
      const jobs = [];
      for (let i = 0; i < k; i++) jobs.push({ name: kind, data: {}, opts: opts(kind) });
      await queue.addBulk(jobs);
      left -= k;
    }
    await queue.close();
  } else if (what === 'worker') {
    const concurrency = Number(arg1);
    const target = arg2 ? Number(arg2) : 0;
    const proc = processors[kind];
    if (!proc) throw new Error(`unknown kind ${kind}`);
    let completed = 0;
    let failed = 0;
    let closing = false;
    const worker = new Worker(QUEUE, proc, { connection, concurrency });
    const finish = async () => {
      if (closing) return;
      closing = true;
      await worker.close();
      console.log(JSON.stringify({ completed, failed }));
      process.exit(0);
    };
    worker.on('completed', () => {
      completed++;
      if (target && completed + failed >= target) finish();
    });
    worker.on('failed', () => {
      failed++;
      if (target && completed + failed >= target) finish();
    });
    worker.on('error', (err) => console.error(err));
    process.on('SIGTERM', finish);
    process.on('SIGINT', finish);
    await worker.waitUntilReady();
    console.log('ready');
  } else {
    throw new Error(`unknown command ${what}`);
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
