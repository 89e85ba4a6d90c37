/**
 * Which layout of `struct vaccel_arg` a vAccel library gets. The struct changed on vAccel's main
 * branch after v0.7.1 (PR #198, Sept 2025), and a library built for one layout reads garbage
 * (and crashes) when handed the other, so airlock reads the layout from the library itself: the
 * vAccel helpers it imports say which vAccel it was built against. No native code here.
 */

/** The layouts of `struct vaccel_arg`, named after the vAccel versions that use them. */
export const VACCEL_LAYOUTS = ['main', 'v0.7'] as const;
/** A layout of `struct vaccel_arg`. */
export type VaccelLayoutName = (typeof VACCEL_LAYOUTS)[number];

/** Old names kept working: `v0.8` was airlock's name for the main branch's layout. */
export const VACCEL_LAYOUT_ALIASES: Readonly<Record<string, VaccelLayoutName>> = Object.freeze({ 'v0.8': 'main' });

/** The newest vAccel release, whose layout a library that imports no helper gets. */
export const VACCEL_LATEST_RELEASE = 'v0.7.1';
/** The layout of {@link VACCEL_LATEST_RELEASE}. */
export const VACCEL_LATEST_RELEASE_LAYOUT: VaccelLayoutName = 'v0.7';

/** What `vaccel_exec` returns when the function's status is non-zero, by layout (version). */
export const VACCEL_EXEC_FAILURE: Readonly<Record<VaccelLayoutName, { status: number; name: string }>> = Object.freeze({
  main: { status: 71, name: 'VACCEL_EBACKEND' },
  'v0.7': { status: 8, name: 'VACCEL_ENOEXEC' },
});

/** The argument helpers of vAccel v0.7 (deprecated, with the main layout, on the main branch). */
const V07_HELPERS: ReadonlySet<string> = new Set([
  'vaccel_args_init',
  'vaccel_add_serial_arg',
  'vaccel_add_nonserial_arg',
  'vaccel_expect_serial_arg',
  'vaccel_expect_nonserial_arg',
  'vaccel_extract_serial_arg',
  'vaccel_extract_nonserial_arg',
  'vaccel_write_serial_arg',
  'vaccel_write_nonserial_arg',
  'vaccel_delete_args',
]);

/** The argument helpers of vAccel's main branch: `vaccel_arg_array_*` and `vaccel_arg_*`. */
function isMainHelper(name: string): boolean {
  return name.startsWith('vaccel_arg_array_') || /^vaccel_arg_(init|new|release|delete|from_buf|init_from_buf)$/.test(name);
}

/** Why a library gets its layout. */
export interface VaccelLayoutDecision {
  readonly layout: VaccelLayoutName;
  /** In words, for `inspect` and errors. */
  readonly reason: string;
  /** The vAccel symbols the library imports (`vaccel_*`), sorted. */
  readonly helpers: readonly string[];
}

/** The vAccel symbols among a library's imports. */
export function vaccelImports(imports: readonly string[]): string[] {
  return imports.filter((name) => name.startsWith('vaccel_')).sort();
}

const listed = (names: readonly string[]): string => (names.length > 3 ? `${names.slice(0, 3).join(', ')} and ${names.length - 3} more` : names.join(', '));

/**
 * The layout a library gets from what it imports: `vaccel_arg_array_*` is the main branch's
 * API; v0.7's helpers (`vaccel_extract_serial_arg` …) mean v0.7, unless the libvaccel the
 * library is bound to has the main API too (main still ships v0.7's helpers, over its own
 * layout: `boundToMain`); a library that imports neither gets the latest release's layout.
 */
export function decideVaccelLayout(imports: readonly string[], boundToMain: boolean): VaccelLayoutDecision {
  const helpers = vaccelImports(imports);
  const main = helpers.filter(isMainHelper);
  if (main.length > 0) {
    return { layout: 'main', reason: `it imports ${listed(main)}, vAccel's argument API since the layout changed after ${VACCEL_LATEST_RELEASE}`, helpers };
  }
  const old = helpers.filter((name) => V07_HELPERS.has(name));
  if (old.length > 0) {
    if (boundToMain) {
      return { layout: 'main', reason: `it imports ${listed(old)} from a libvaccel that has vaccel_arg_array_* (the main branch, whose v0.7 helpers take its own layout)`, helpers };
    }
    return { layout: 'v0.7', reason: `it imports ${listed(old)}, the argument helpers of vAccel v0.7`, helpers };
  }
  return {
    layout: VACCEL_LATEST_RELEASE_LAYOUT,
    reason: `it imports no vAccel argument helper: the layout of vAccel's latest release, ${VACCEL_LATEST_RELEASE} (choose vaccelArgLayout 'main' for the main branch)`,
    helpers,
  };
}

/** A layout name or alias as a layout (`v0.8` → `main`), or undefined for `auto` and unknown names. */
export function vaccelLayoutNamed(name: string): VaccelLayoutName | undefined {
  if ((VACCEL_LAYOUTS as readonly string[]).includes(name)) return name as VaccelLayoutName;
  return VACCEL_LAYOUT_ALIASES[name];
}
