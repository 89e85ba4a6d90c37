// Baseline peer: a hand-written newline-JSON loop over a pipe that calls add() in-process.
import koffi from 'koffi';
import { createInterface } from 'node:readline';
const add = koffi.load(process.argv[2]).func('int add(int a, int b)');
const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  const { id, args } = JSON.parse(line);
  process.stdout.write(`${JSON.stringify({ id, result: add(args[0], args[1]) })}\n`);
});
