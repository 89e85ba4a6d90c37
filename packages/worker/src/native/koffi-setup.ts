import koffi from 'koffi';

/**
 * koffi's sync stack size must be set before the first library loads; native code runs on this
 * stack, so it bounds how deep a plugin may recurse before it overflows (and gets a SIGSEGV).
 */
export const NATIVE_STACK_BYTES = 8 * 1024 * 1024;
koffi.config({ sync_stack_size: NATIVE_STACK_BYTES });
