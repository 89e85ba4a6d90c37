import type { Host } from '../host.js';

/** Milliseconds on this process's clock, as the debug lines show them (since plugin-run started). */
const at = (ms: number): string => `+${ms.toFixed(1)}ms`;
const mib = (bytes: number): string => `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;

/**
 * `--log-level debug`: the life of the command's calls on stderr, with timings on this
 * process's clock: each worker's spawn and handshake, each call (how long it ran, its CPU and
 * memory, whether it was its worker's first, which loads the library), each worker's exit.
 */
export function attachDebugLog(host: Host, write: (line: string) => void = (line) => process.stderr.write(`${line}\n`)): void {
  const served = new Set<number>();
  write(`plugin-run: debug ${at(performance.now())} host created`);
  host.on('worker-start', (event) => {
    write(`plugin-run: debug ${at(event.readyAt)} worker ${event.pid} spawned at ${at(event.spawnedAt)}, handshake answered after ${event.startMs.toFixed(1)} ms`);
  });
  host.on('call', (event) => {
    const where = event.workerPid === undefined ? 'before reaching a worker' : `on worker ${event.workerPid}`;
    const first = event.workerPid !== undefined && !served.has(event.workerPid);
    if (event.workerPid !== undefined) served.add(event.workerPid);
    const measures = [event.cpuMs !== undefined && `cpu ${event.cpuMs} ms`, event.peakRssBytes !== undefined && `peak rss ${mib(event.peakRssBytes)}`].filter(Boolean).join(', ');
    write(
      `plugin-run: debug ${at(performance.now())} call ${JSON.stringify(event.fn)} in ${event.library}: ${event.outcome} after ${event.durationMs.toFixed(1)} ms ${where}` +
        `${measures ? ` (${measures})` : ''}${first ? '; its first call there, loading the library' : ''}`,
    );
  });
  host.on('worker-retire', (event) => write(`plugin-run: debug ${at(performance.now())} worker ${event.pid} retires: ${event.reason}`));
  host.on('worker-exit', (event) => {
    const status = event.signal !== null ? `signal ${event.signal}` : `exit status ${event.exitCode}`;
    write(`plugin-run: debug ${at(performance.now())} worker ${event.pid} exited (${event.reason}; ${status})`);
  });
}
