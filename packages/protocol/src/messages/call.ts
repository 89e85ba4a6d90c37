import { z } from 'zod';
import { WorkerLimitsSchema } from './limits.js';

/** The native ABIs a call can use. */
export const ABIS = ['auto', 'c', 'arroyo', 'vaccel'] as const;
export const AbiSchema = z.enum(ABIS);
export type Abi = z.infer<typeof AbiSchema>;

/**
 * The layout of vAccel's `struct vaccel_arg` a call asks for: `auto` (read from the library's
 * imports), `main` (vAccel's main branch since Sept 2025), `v0.7` (v0.7.x, the latest release),
 * or `v0.8`, the old name of `main`.
 */
export const VaccelLayoutSchema = z.enum(['auto', 'main', 'v0.7', 'v0.8']);
export type VaccelLayout = z.infer<typeof VaccelLayoutSchema>;

/** A sha256 digest in hex. */
export const Sha256Schema = z.string().regex(/^[0-9a-f]{64}$/i, 'a sha256 digest is 64 hex digits');

/** Host → worker: call one function of one library. */
export const CallParamsSchema = z.object({
  /** A path (made absolute by the host) or a bare name for the dynamic loader's search. */
  library: z.string().min(1),
  /** A symbol name or a C prototype. */
  fn: z.string().min(1),
  abi: AbiSchema,
  /** Wire-encoded arguments: an array for `c` and `arroyo`, `{ read, write }` for `vaccel`. */
  args: z.unknown(),
  limits: WorkerLimitsSchema,
  sha256: Sha256Schema.optional(),
  /** The library was shipped (see ShipParams): the worker loads the content `sha256` names from its cache; `library` is the host's path, for messages. */
  shipped: z.boolean().optional(),
  vaccelLayout: VaccelLayoutSchema.optional(),
  /**
   * A session's call: its worker is never replaced under it (the session's pointers and
   * resources live there), so a library changed on disk since it was loaded is refused, not
   * reloaded on a fresh worker.
   */
  inSession: z.boolean().optional(),
});
export type CallParams = z.infer<typeof CallParamsSchema>;

/** Worker → host: the call's wire-encoded result. */
export const CallResultSchema = z.object({ value: z.unknown() });
export type CallResult = z.infer<typeof CallResultSchema>;

/** Host → worker: describe a library. */
export const InspectParamsSchema = z.object({ library: z.string().min(1), sha256: Sha256Schema.optional(), shipped: z.boolean().optional() });
export type InspectParams = z.infer<typeof InspectParamsSchema>;

/** The self-describing metadata of an Arroyo plugin. */
export const ArroyoMetadataSchema = z.object({
  name: z.string(),
  argTypes: z.array(z.enum(['Bool', 'Int', 'UInt', 'Double', 'String'])),
  returnType: z.enum(['Bool', 'Int', 'UInt', 'Double', 'String']),
});
export type ArroyoMetadata = z.infer<typeof ArroyoMetadataSchema>;

/** Worker → host: what the worker learned by loading the library. */
export const InspectResultSchema = z.object({
  /** The file the loader loaded (a bare name resolved as the loader resolved it). */
  path: z.string(),
  /** `arroyo`: it exports plugin_metadata; `vaccel`: it imports vAccel's helpers; `c` otherwise. */
  abi: z.enum(['c', 'arroyo', 'vaccel']),
  arroyo: ArroyoMetadataSchema.optional(),
  /** For a vAccel library: the layout of `struct vaccel_arg` it gets by default, why, and the vAccel symbols it imports. */
  vaccel: z.object({ layout: z.enum(['main', 'v0.7']), reason: z.string(), helpers: z.array(z.string()) }).optional(),
});
export type InspectResult = z.infer<typeof InspectResultSchema>;
