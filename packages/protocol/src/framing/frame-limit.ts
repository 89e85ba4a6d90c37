/**
 * Default largest frame either end of a channel accepts (128 MiB, binary parts included),
 * checked from the header before anything is allocated. A module of its own: the CLI reads it
 * before it loads anything else of the protocol.
 */
export const DEFAULT_MAX_FRAME_BYTES = 128 * 1024 * 1024;
