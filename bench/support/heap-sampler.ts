// Preloaded into a measured process (`node --expose-gc -r .../heap-sampler.js`):
// every HEAP_SAMPLE_MS (default 1 s) it forces a full GC and notes the heap
// still in use: what the process really holds, as opposed to its RSS, which
// also keeps garbage V8 has not collected yet (left alone, V8 may run no full
// GC at all during a long run). The forced GCs cost the process a few per
// cent of its speed. On exit it writes the figures as JSON to HEAP_SAMPLE_FILE.
import { writeFileSync } from 'node:fs';

const file = process.env.HEAP_SAMPLE_FILE;
const gc = (globalThis as { gc?: () => void }).gc;
if (file && gc) {
  const live: number[] = [];
  const timer = setInterval(() => {
    gc();
    live.push(process.memoryUsage().heapUsed);
  }, Number(process.env.HEAP_SAMPLE_MS ?? 1000));
  timer.unref();
  process.on('exit', () => {
    writeFileSync(file, JSON.stringify({ samples: live.length, liveHeapMax: Math.max(0, ...live), liveHeapLast: live[live.length - 1] ?? 0 }));
  });
}
