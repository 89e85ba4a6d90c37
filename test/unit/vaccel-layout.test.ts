import { describe, expect, it } from 'vitest';
import { VACCEL_EXEC_FAILURE, decideVaccelLayout, vaccelImports, vaccelLayoutNamed } from '@airlock/protocol';

describe('decideVaccelLayout', () => {
  it('reads main from vaccel_arg_array_* imports', () => {
    const decision = decideVaccelLayout(['printf', 'vaccel_arg_array_wrap', 'vaccel_arg_array_get_int32'], false);
    expect(decision).toEqual({
      layout: 'main',
      reason: "it imports vaccel_arg_array_get_int32, vaccel_arg_array_wrap, vAccel's argument API since the layout changed after v0.7.1",
      helpers: ['vaccel_arg_array_get_int32', 'vaccel_arg_array_wrap'],
    });
  });

  it("reads v0.7 from v0.7's helpers, unless the libvaccel bound has main's API", () => {
    expect(decideVaccelLayout(['vaccel_extract_serial_arg', 'vaccel_write_serial_arg'], false)).toMatchObject({ layout: 'v0.7', reason: 'it imports vaccel_extract_serial_arg, vaccel_write_serial_arg, the argument helpers of vAccel v0.7' });
    expect(decideVaccelLayout(['vaccel_extract_serial_arg'], true)).toMatchObject({ layout: 'main', reason: expect.stringContaining('from a libvaccel that has vaccel_arg_array_*') });
  });

  it('gives the latest release layout to a library importing no helper', () => {
    for (const imports of [[], ['malloc'], ['vaccel_session_init']]) {
      expect(decideVaccelLayout(imports, false)).toMatchObject({ layout: 'v0.7', reason: expect.stringContaining("vAccel's latest release, v0.7.1") });
    }
    expect(decideVaccelLayout(['vaccel_session_init'], false).helpers).toEqual(['vaccel_session_init']);
  });

  it('names layouts and the old alias, and what vaccel_exec returns per version', () => {
    expect(vaccelLayoutNamed('main')).toBe('main');
    expect(vaccelLayoutNamed('v0.7')).toBe('v0.7');
    expect(vaccelLayoutNamed('v0.8')).toBe('main');
    expect(vaccelLayoutNamed('auto')).toBeUndefined();
    expect(vaccelLayoutNamed('v0.9')).toBeUndefined();
    expect(VACCEL_EXEC_FAILURE).toEqual({ main: { status: 71, name: 'VACCEL_EBACKEND' }, 'v0.7': { status: 8, name: 'VACCEL_ENOEXEC' } });
    expect(vaccelImports(['b', 'vaccel_b', 'vaccel_a'])).toEqual(['vaccel_a', 'vaccel_b']);
  });
});
