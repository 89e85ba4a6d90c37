// The start-up file of `plugin-run shell`, after heph's shell mode: the driver's strictness,
// a prompt, and helpers that run the command given on the command line — `run` (with the
// driver's flags, in a subshell), `xrun` (the same, traced) and `show` (print it).
import { shellQuote } from './drivers.js';

export type ShellDriver = 'bash' | 'sh';

/** The rc file's text for a driver and an optional command. */
export function shellRc(driver: ShellDriver, command: string): string {
  const flags = driver === 'bash' ? 'euo pipefail' : 'eu';
  const traced = driver === 'bash' ? 'euxo pipefail' : 'eux';
  const lines: string[] = [];
  if (driver === 'sh') lines.push('unset ENV');
  lines.push(driver === 'bash' ? 'set -uo pipefail' : 'set -u');
  lines.push(driver === 'bash' ? `PS1='[airlock] \\w \\$ '` : `PS1='[airlock] $ '`);
  lines.push(`echo ${shellQuote(`airlock shell (${driver}): the command's environment; exit or Ctrl-D leaves`)}`);
  if (command.trim().length > 0) {
    const end = delimiter(command);
    lines.push(
      `run() (`,
      `  set -${flags}`,
      command,
      `)`,
      `xrun() (`,
      `  set -${traced}`,
      command,
      `)`,
      `show() {`,
      `  cat <<'${end}'`,
      command,
      end,
      `}`,
      `echo 'run   : runs the command'`,
      `echo 'xrun  : runs the command with trace'`,
      `echo 'show  : prints the command'`,
    );
  }
  return `${lines.join('\n')}\n`;
}

/** A here-document delimiter that no line of the command equals. */
function delimiter(command: string): string {
  const lines = new Set(command.split('\n'));
  let end = 'AIRLOCK_EOF';
  for (let n = 1; lines.has(end); n += 1) end = `AIRLOCK_EOF_${n}`;
  return end;
}

/** argv of the interactive shell (the rc file is read through --rcfile for bash, $ENV for sh). */
export function interactiveShell(driver: ShellDriver, program: string, rcFile: string): { argv: string[]; env: Record<string, string> } {
  if (driver === 'bash') return { argv: [program, '--noprofile', '--rcfile', rcFile, '-i'], env: {} };
  return { argv: [program, '-i'], env: { ENV: rcFile } };
}

/**
 * `script -q -e -c CMD /dev/null` (util-linux): a real PTY whose controlling terminal is the
 * shell's. script puts the caller's terminal in raw mode itself, copies its window size to the
 * PTY and follows SIGWINCH, and exits with the shell's status (-e). Nothing to compile or ship.
 */
export function ptyCommand(script: string, argv: readonly string[]): string[] {
  return [script, '-q', '-e', '-c', `exec ${argv.map(shellQuote).join(' ')}`, '/dev/null'];
}
