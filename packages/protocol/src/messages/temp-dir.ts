/**
 * The worker's temp dir is a second, one-way channel: the host creates it and reads it after
 * the worker has died, when nothing can be asked over JSON-RPC any more.
 */
export const TEMP_DIR_FILES = {
  /** Written by the worker's memory watcher when the worker came near its memory limit. */
  memoryEvidence: '.airlock-memory-pressure',
  /** A directory holding one empty file per running command, named by its process group id. */
  commandGroups: '.airlock-command-groups',
} as const;
