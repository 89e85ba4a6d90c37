// Figures 2, 3, 6 (sequential): µs per call with one caller awaiting each call, for every
// subject, in interleaved rounds (a noisy moment hits them all alike); the best round counts.
import { CALLS, progress, timeSequential } from '../lib/common.mjs';

export async function sequential(subjects, rounds = 5, calls = CALLS) {
  const perCall = Object.fromEntries(subjects.map((s) => [s.name, []]));
  for (let round = 0; round < rounds; round++) {
    for (const subject of subjects) {
      progress(`${subject.name} sequential, round ${round + 1}/${rounds}`);
      perCall[subject.name].push(await timeSequential(subject.call, calls));
    }
  }
  return Object.fromEntries(subjects.map((s) => [s.name, { usPerCall: Math.min(...perCall[s.name]), rounds: perCall[s.name], calls }]));
}
