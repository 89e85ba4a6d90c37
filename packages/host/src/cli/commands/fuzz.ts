import { type Command, InvalidArgumentError, Option } from 'commander';
import { addLimitOptions, addPoolOptions, addSandboxOptions, addWorkerEnvOptions, parseCount, parseDuration, parseLogLevel } from '../options.js';

/** `plugin-run fuzz`: mutates a corpus against a library's function, keeping new outcomes, grouping and keeping failures. */
export function registerFuzz(program: Command): void {
  const command = program
    .command('fuzz')
    .description("mutate corpus inputs against a function taking bytes (a spec's first corpus entry, or LIBRARY FN); exit 1 when something failed")
    .argument('<target...>', "a spec (spec.yaml: its first corpus entry's fn, expect and dir), or a library and a prototype such as 'int decode(const uint8_t *data, size_t len)'")
    .option('--corpus <dir>', "the inputs to start from, where new ones are written (default: the spec's corpus dir)")
    .addOption(new Option('--time <duration>', 'fuzz this long at most, such as 60s or 5m (default 60s, or no bound with --runs)').argParser(durationOption))
    .addOption(new Option('--runs <n>', 'run this many mutated inputs at most (after each corpus input once)').argParser(parseCount))
    .addOption(new Option('--seed <n>', 'seed of the mutations: the same seed and corpus make the same run (default: random, printed)').argParser(seedOption))
    .option('--crashes <dir>', 'where failing inputs (three per group) and minimized ones are kept, with a JSON record beside each', 'crashes')
    .option('--minimize', "at the end, reduce each group's first input while it fails with the same signature")
    .addOption(new Option('--minimize-tries <n>', "calls one group's minimization makes at most").argParser(parseCount).default(500))
    .addOption(new Option('--minimize-time <duration>', "time one group's minimization takes at most").argParser(durationOption).default(60_000, '60s'))
    .addOption(new Option('--max-len <bytes>', 'longest input the mutations make').argParser(parseCount).default(4096))
    .option('--json', 'print one JSON object: {"ok":…,"seed":…,"execs":…,"corpus":{…},"groups":[…]}')
    .addOption(new Option('--log-level <level>', 'error|warn|info|debug (or 1-4): plugin output shows at info and above').argParser(parseLogLevel).default('warn'));
  addPoolOptions(command, true);
  addLimitOptions(command);
  addSandboxOptions(command);
  addWorkerEnvOptions(command);
  command.action(async (target: string[], options: Record<string, unknown>) => {
    if (target.length > 2) command.error(`error: expected a spec, or a library and a function, got ${target.length} arguments`, { exitCode: 2, code: 'fuzz.usage' });
    if (target.length === 2 && options.corpus === undefined) command.error('error: fuzzing LIBRARY FN needs --corpus DIR (the inputs to start from)', { exitCode: 2, code: 'fuzz.usage' });
    const { runFuzzCommand } = await import('./fuzz-run.js');
    process.exitCode = await runFuzzCommand(target, options);
  });
}

function durationOption(text: string): number {
  try {
    return parseDuration(text);
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
}

function seedOption(text: string): number {
  if (!/^\d+$/.test(text) || Number(text) > 0xffffffff) throw new InvalidArgumentError(`expected a whole number from 0 to 4294967295, got ${JSON.stringify(text)}`);
  return Number(text);
}
