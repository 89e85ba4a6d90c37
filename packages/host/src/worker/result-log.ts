import { closeSync, openSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { CallErrorSchema, RESULT_LOG_BYTES, RESULT_LOG_NAME, type ResultsParams } from '@airlock/protocol';

/**
 * The outcomes a dead worker had logged but not yet sent (see the worker's ResultLog), as
 * consecutive results from `from` on. Tainted like any frame: entries that are malformed, out
 * of sequence or past a gap end the reading; entries before `from` (sent already) are skipped.
 */
export function readResultLog(tempDir: string, from: number): ResultsParams | undefined {
  let text: string;
  try {
    const fd = openSync(join(tempDir, RESULT_LOG_NAME), 'r');
    try {
      const bytes = Buffer.alloc(RESULT_LOG_BYTES);
      const read = readSync(fd, bytes, 0, bytes.length, 0);
      if (read < 8) return undefined;
      const committed = Math.min(bytes.readUInt32LE(0), read);
      text = bytes.toString('utf8', 8, committed);
    } finally {
      closeSync(fd);
    }
  } catch {
    return undefined;
  }
  const values: unknown[] = [];
  const errors: Record<string, ReturnType<typeof CallErrorSchema.parse>> = {};
  for (const line of text.split('\n')) {
    if (line.length === 0) continue;
    let entry: unknown;
    try {
      entry = JSON.parse(line);
    } catch {
      break;
    }
    if (!Array.isArray(entry) || typeof entry[0] !== 'number') break;
    const seq = entry[0];
    if (seq < from + values.length) continue;
    if (seq !== from + values.length) break;
    if (entry.length === 3) {
      const error = CallErrorSchema.safeParse(entry[2]);
      if (!error.success) break;
      errors[values.length] = error.data;
      values.push(null);
    } else if (entry.length === 2) values.push(entry[1]);
    else break;
  }
  if (values.length === 0) return undefined;
  return { first: from, values, ...(Object.keys(errors).length > 0 && { errors }) };
}
