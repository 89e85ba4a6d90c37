import { type Command, InvalidArgumentError, Option } from 'commander';
import type { ReportTarget } from '../../harness/reports.js';
import { addLimitOptions, addPoolOptions, addSandboxOptions, addWorkerEnvOptions, parseCount, parseDuration, parseLogLevel } from '../options.js';

/** `plugin-run harness`: runs a spec's cases and corpus on one host, prints a summary, writes reports. */
export function registerHarness(program: Command): void {
  const command = program
    .command('harness')
    .description('run the cases and corpus of a spec (JSON or YAML) against a library; exit 0 when every outcome passed')
    .argument('[spec]', 'the spec file: spec.json or spec.yaml (none with --replay)')
    .option('--report <format:file>', 'write a report: json:FILE or junit:FILE (repeatable)', collectReport)
    .option('--crashes <dir>', 'copy each failing corpus input into DIR (made if missing), named by its group and content hash, with a JSON record beside it')
    .option('--minimize', "reduce each group's first corpus input while it still fails with the same signature (needs --crashes, where the reduced inputs go)")
    .addOption(new Option('--minimize-tries <n>', 'calls one group\'s minimization makes at most').argParser(parseCount).default(500))
    .addOption(new Option('--minimize-time <duration>', "time one group's minimization takes at most, such as 30s").argParser(parseDurationOption).default(60_000, '60s'))
    .option('--replay <file>', 'run one input kept by --crashes again (FILE or FILE.json), with the call its record describes; exit 1 if it still fails')
    .option('--failures-only', 'list only the failed outcomes in the table (the totals still count all)')
    .option('--json', 'print one JSON object: {"ok":…,"summary":{…},"outcomes":[…]}')
    .addOption(new Option('--log-level <level>', 'error|warn|info|debug (or 1-4): plugin output shows at info and above').argParser(parseLogLevel).default('warn'));
  addPoolOptions(command, true);
  addLimitOptions(command);
  addSandboxOptions(command);
  addWorkerEnvOptions(command);
  // --report's values are checked as they parse, by the harness's own parser: its module (and
  // the host it brings) loads just before this command's options parse, for this command alone.
  program.hook('preSubcommand', async (_program, subcommand) => {
    if (subcommand === command) reports ??= await import('../../harness/reports.js');
  });
  command.action(async (specPath: string | undefined, options: Record<string, unknown>) => {
    // Usage errors (exit 2), worded as commander words its own.
    const usage = (message: string): never => command.error(`error: ${message}`, { exitCode: 2, code: 'harness.usage' });
    if (options.replay !== undefined && specPath !== undefined) usage(`give a spec or --replay FILE, not both (got ${JSON.stringify(specPath)} and --replay ${JSON.stringify(options.replay)})`);
    if (options.replay === undefined && specPath === undefined) usage("missing argument 'spec' (expected plugin-run harness SPEC, or --replay FILE)");
    if (options.minimize === true && options.crashes === undefined) usage('--minimize needs --crashes DIR (where the minimized inputs are kept)');
    const { runHarnessCommand, runReplayCommand } = await import('./harness-run.js');
    process.exitCode = specPath === undefined ? await runReplayCommand(options.replay as string, options) : await runHarnessCommand(specPath, options);
  });
}

/** The harness's report module, once the hook above has loaded it. */
let reports: typeof import('../../harness/reports.js') | undefined;

function collectReport(value: string, previous: ReportTarget[] = []): ReportTarget[] {
  try {
    return [...previous, reports!.parseReportTarget(value)];
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
}

function parseDurationOption(text: string): number {
  try {
    return parseDuration(text);
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
}
