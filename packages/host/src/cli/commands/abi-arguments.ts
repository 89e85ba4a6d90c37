import { type ArroyoMetadata, ArgumentError } from '@airlock/protocol';
import { AirlockError } from '../../errors/airlock-error.js';

/** Command-line argument parsers of the self-describing ABIs. */
export const cliArgumentParsers = {
  arroyo(metadata: ArroyoMetadata, words: string[]): unknown[] {
    void metadata;
    return words;
  },
  vaccel(read: string[] | undefined, write: string[] | undefined, words: string[]): unknown {
    if (words.length > 0) throw new AirlockError('INVALID_ARGUMENT', `vAccel calls take --read and --write options, not positional arguments (got ${JSON.stringify(words)})`);
    void read;
    void write;
    throw new ArgumentError('vAccel arguments from the command line are not wired yet', 0);
  },
};
