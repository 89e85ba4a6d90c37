import { TEMP_DIR_FILES } from '@airlock/protocol';
/** Int32 slots of the memory watcher's shared control block. */
export const SLOT = {
  /** 0 while idle; the current call's generation (never 0) while a call with a memory limit runs. */
  ARMED: 0,
  /** Set to 1 by the thread once it is polling-ready. */
  READY: 1,
  /** Set to 1 by the thread when it wrote evidence; cleared by the main thread after emptying the file. */
  DIRTY: 2,
  /** Never written: the thread sleeps on it between polls. */
  SLEEP: 3,
  COUNT: 4,
} as const;

/** What the watcher thread is started with. */
export interface WatchThreadData {
  /** SLOT.COUNT int32 slots, then two float64: the pressure threshold and the limit (absolute bytes). */
  shared: SharedArrayBuffer;
  evidencePath: string;
  pageSize: number;
  pollMicros: number;
}

/** Bytes of the shared block. */
export const SHARED_BYTES = SLOT.COUNT * 4 + 2 * 8;

/** Name of the evidence file in the worker's TMPDIR (the host reads it when the worker dies). */
export const MEMORY_EVIDENCE_FILE = TEMP_DIR_FILES.memoryEvidence;
