// Figures 2, 4, 6 (throughput): calls per second with 64 callers in flight, for every subject,
// in interleaved rounds; the best round counts.
import { CALLS, IN_FLIGHT, progress, timeInFlight } from '../lib/common.mjs';

export async function inFlight(subjects, rounds = 5, calls = CALLS * 2) {
  const perSecond = Object.fromEntries(subjects.map((s) => [s.name, []]));
  for (let round = 0; round < rounds; round++) {
    for (const subject of subjects) {
      progress(`${subject.name}, ${IN_FLIGHT} in flight, round ${round + 1}/${rounds}`);
      perSecond[subject.name].push(await timeInFlight(subject.call, calls, IN_FLIGHT));
    }
  }
  return Object.fromEntries(
    subjects.map((s) => [s.name, { callsPerSecond: Math.max(...perSecond[s.name]), rounds: perSecond[s.name], calls, inFlight: IN_FLIGHT }]),
  );
}
