import { type Command, InvalidArgumentError, Option } from 'commander';
import type { ReportTarget } from '../../harness/reports.js';
import { addLimitOptions, addSandboxOptions, addWorkerEnvOptions, parseCount, parseLogLevel } from '../options.js';

/** `plugin-run harness`: runs a spec's cases and corpus on one host, prints a summary, writes reports. */
export function registerHarness(program: Command): void {
  const command = program
    .command('harness')
    .description('run the cases and corpus of a spec (JSON or YAML) against a library; exit 0 when every outcome passed')
    .argument('<spec>', 'the spec file: spec.json or spec.yaml')
    .option('--report <format:file>', 'write a report: json:FILE or junit:FILE (repeatable)', collectReport)
    .addOption(new Option('--workers <n>', "worker processes running cases in parallel (overrides the spec's)").argParser(parseWorkers))
    .option('--failures-only', 'list only the failed outcomes in the table (the totals still count all)')
    .option('--json', 'print one JSON object: {"ok":…,"summary":{…},"outcomes":[…]}')
    .addOption(new Option('--log-level <level>', 'error|warn|info|debug (or 1-4): plugin output shows at info and above').argParser(parseLogLevel).default('warn'));
  addLimitOptions(command);
  addSandboxOptions(command);
  addWorkerEnvOptions(command);
  // --report's values are checked as they parse, by the harness's own parser: its module (and
  // the host it brings) loads just before this command's options parse, for this command alone.
  program.hook('preSubcommand', async (_program, subcommand) => {
    if (subcommand === command) reports ??= await import('../../harness/reports.js');
  });
  command.action(async (specPath: string, options: Record<string, unknown>) => {
    const { runHarnessCommand } = await import('./harness-run.js');
    process.exitCode = await runHarnessCommand(specPath, options);
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

function parseWorkers(text: string): number {
  const count = parseCount(text);
  if (count > 256) throw new InvalidArgumentError(`expected at most 256 workers, got ${JSON.stringify(text)}`);
  return count;
}
