export * from '@airlock/protocol';

/** The part of a zod schema the worker uses to check incoming params. */
export interface ZodLike<T> {
  safeParse(value: unknown): { success: true; data: T } | { success: false; error: { message: string } };
}
