import { readFileSync } from 'node:fs';
import { type ArroyoMetadata, ArgumentError, parseArroyoCliArgument, parseVaccelCliRead, parseVaccelCliWrite } from '@airlock/protocol';
import { AirlockError } from '../../errors/airlock-error.js';

/** Runs a parser, turning its ArgumentError into INVALID_ARGUMENT. */
function parsing<T>(parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    if (error instanceof ArgumentError) throw new AirlockError('INVALID_ARGUMENT', error.message, { argument: error.position });
    throw error;
  }
}

/** Command-line argument parsers of the self-describing ABIs. */
export const cliArgumentParsers = {
  /** Positional words parsed by the plugin's own metadata, arity checked first. */
  arroyo(metadata: ArroyoMetadata, words: string[]): unknown[] {
    if (words.length !== metadata.argTypes.length) {
      throw new AirlockError(
        'INVALID_ARGUMENT',
        `The plugin ${metadata.name} takes ${metadata.argTypes.length} argument(s) (${metadata.argTypes.join(', ') || 'none'}), got ${words.length}`,
        { argument: Math.min(words.length, metadata.argTypes.length) },
      );
    }
    return parsing(() => words.map((word, i) => parseArroyoCliArgument(metadata.argTypes[i]!, word, i)));
  },
  /** `--read TYPE:VALUE` (bytes also as `@file`) and `--write TYPE[:count]` into `{ read, write }`. */
  vaccel(read: string[] | undefined, write: string[] | undefined, words: string[]): unknown {
    if (words.length > 0) {
      throw new AirlockError('INVALID_ARGUMENT', `vAccel calls take --read TYPE:VALUE and --write TYPE options, not positional arguments (got ${JSON.stringify(words)})`);
    }
    return parsing(() => ({
      read: (read ?? []).map((text, i) => parseVaccelCliRead(text, i, (path) => new Uint8Array(readFileSync(path)))),
      write: (write ?? []).map((text, i) => parseVaccelCliWrite(text, i)),
    }));
  },
};
