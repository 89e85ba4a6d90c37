import { AIRLOCK_VERSION, EXIT_CODES } from '@airlock/protocol';
import { Command, CommanderError } from 'commander';
import { registerCall } from './commands/call.js';
import { registerExec } from './commands/exec.js';
import { registerFuzz } from './commands/fuzz.js';
import { registerHarness } from './commands/harness.js';
import { registerInspect } from './commands/inspect.js';
import { registerShell } from './commands/shell.js';

// Each command registers here with its options alone; what it runs (the host, vscode-jsonrpc,
// the harness's YAML parser) loads in its action, once the command line has parsed.
// `--help`, `--version` and the usage errors commander finds thus load none of it, and no
// command loads another's.
// With --json a usage error is JSON on stdout like every other failure, and nothing goes to
// stderr; without it, the error's one line and a pointer to --help (not the whole help).
const json = process.argv.slice(2).includes('--json');
const program = new Command('plugin-run')
  .description('Run untrusted native code in isolated, supervised worker processes')
  .version(AIRLOCK_VERSION)
  .configureOutput({ writeErr: (text) => (json ? undefined : process.stderr.write(text)) })
  .showHelpAfterError('(add --help for the usage)')
  .exitOverride();

registerCall(program);
registerInspect(program);
registerExec(program);
registerShell(program);
registerHarness(program);
registerFuzz(program);

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) {
    // Help and version exit 0; every usage error is INVALID_ARGUMENT.
    process.exitCode = error.exitCode === 0 ? 0 : EXIT_CODES.INVALID_ARGUMENT;
    if (json && error.exitCode !== 0) {
      const message = error.message.replace(/^error: /, '');
      process.stdout.write(`${JSON.stringify({ ok: false, error: { code: 'INVALID_ARGUMENT', message, details: { usage: error.code } } })}\n`);
    }
  } else {
    process.stderr.write(`plugin-run: ${(error as Error).stack ?? String(error)}\n`);
    process.exitCode = EXIT_CODES.PROTOCOL_ERROR;
  }
}
