// Figure 1: add() called straight through koffi in the bench process. What a call costs with
// no process boundary at all; every other figure pays for the boundary on top of this.
import koffi from 'koffi';
import { ADD, CALLS, TYPES_LIB, expectEqual, now } from '../lib/common.mjs';

export async function inProcess(rounds = 3) {
  const add = koffi.load(TYPES_LIB).func(ADD);
  const calls = CALLS * 40;
  for (let i = 0; i < 10_000; i++) add(i, 1);
  const perCall = [];
  for (let round = 0; round < rounds; round++) {
    const start = now();
    let sum = 0;
    for (let i = 0; i < calls; i++) sum += add(i, 1);
    perCall.push(((now() - start) * 1e3) / calls);
    expectEqual(sum, (calls * (calls - 1)) / 2 + calls, 'sum of add(i, 1)');
  }
  return { usPerCall: Math.min(...perCall), rounds: perCall, calls };
}
