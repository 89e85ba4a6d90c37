import type { Readable } from 'node:stream';

/** Which stream a line of plugin output came from. */
export type OutputStream = 'stdout' | 'stderr';

/** One line the plugin (or a command) wrote. */
export interface OutputLine {
  stream: OutputStream;
  line: string;
}

/** Lines of a call kept for its error's `output`. */
const KEPT_LINES = 20;
/** Longest line kept; longer ones are cut (a binary flood has no newlines). */
const MAX_LINE = 4096;

/**
 * Reads a worker's plugin output (its fd 3 for stdout, its stderr) straight from the pipes, so
 * that nothing is lost when the worker dies: counts the bytes of the current call against its
 * output limit, keeps its last lines for errors, and hands every line to a listener.
 */
export class OutputCapture {
  private readonly partial: Record<OutputStream, string> = { stdout: '', stderr: '' };
  private recent: string[] = [];
  private bytes = 0;
  private limit = Number.POSITIVE_INFINITY;
  private onExceeded: ((bytes: number) => void) | undefined;
  /** Resolves when every stream has ended (the worker and all it started closed them). */
  readonly ended: Promise<void>;

  constructor(
    streams: Partial<Record<OutputStream, Readable | null | undefined>>,
    private readonly onLine: (line: OutputLine) => void,
  ) {
    const ends: Promise<void>[] = [];
    for (const stream of ['stdout', 'stderr'] as const) {
      const readable = streams[stream];
      if (!readable) continue;
      readable.on('data', (chunk: Buffer) => this.take(stream, chunk));
      ends.push(
        new Promise<void>((resolve) => {
          readable.once('close', resolve);
          readable.once('end', resolve);
          readable.once('error', () => resolve());
        }).then(() => this.flush(stream)),
      );
    }
    this.ended = Promise.all(ends).then(() => undefined);
  }

  /** Starts counting for a new call. */
  beginCall(maxBytes: number | undefined, onExceeded: (bytes: number) => void): void {
    this.recent = [];
    this.bytes = 0;
    this.limit = maxBytes ?? Number.POSITIVE_INFINITY;
    this.onExceeded = onExceeded;
  }

  /** Stops counting; returns the call's last lines. */
  endCall(): string[] {
    this.onExceeded = undefined;
    this.limit = Number.POSITIVE_INFINITY;
    return this.lastLines();
  }

  /** The current call's last lines, partial lines included. */
  lastLines(): string[] {
    const tails = (['stdout', 'stderr'] as const).map((s) => this.partial[s]).filter((t) => t.length > 0);
    return [...this.recent, ...tails].slice(-KEPT_LINES);
  }

  private take(stream: OutputStream, chunk: Buffer): void {
    this.bytes += chunk.length;
    if (this.bytes > this.limit && this.onExceeded) {
      const notify = this.onExceeded;
      this.onExceeded = undefined;
      notify(this.bytes);
    }
    let text = this.partial[stream] + chunk.toString('utf8');
    let newline = text.indexOf('\n');
    while (newline >= 0) {
      this.emit(stream, text.slice(0, newline));
      text = text.slice(newline + 1);
      newline = text.indexOf('\n');
    }
    if (text.length > MAX_LINE) {
      this.emit(stream, text.slice(0, MAX_LINE));
      text = '';
    }
    this.partial[stream] = text;
  }

  private flush(stream: OutputStream): void {
    if (this.partial[stream].length > 0) this.emit(stream, this.partial[stream]);
    this.partial[stream] = '';
  }

  private emit(stream: OutputStream, raw: string): void {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    const kept = line.length > MAX_LINE ? `${line.slice(0, MAX_LINE)}…` : line;
    this.recent.push(kept);
    if (this.recent.length > KEPT_LINES) this.recent.shift();
    this.onLine({ stream, line: kept });
  }
}
