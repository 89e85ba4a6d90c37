// Launchers: the command prefix (ssh, `docker exec -i`, `kubectl exec -i`) through which a host
// reaches a worker on another machine, how one is written on plugin-run's command line, and the
// command line that starts a launched worker. Nothing here spawns anything.
import { basename } from 'node:path';

/** The far side's command of a launched group unless it says otherwise: @airlock/worker's bin, as its own supervisor. */
export const DEFAULT_REMOTE_COMMAND: readonly string[] = Object.freeze(['airlock-worker', '--remote']);

/**
 * Splits a command line the way a POSIX shell splits words, for the quoting people type on a
 * command line: blanks separate words, '…' keeps everything literally, "…" keeps blanks and
 * honours \" and \\, a backslash outside quotes escapes the next character. Nothing is expanded
 * ($, ~, globs): the words go to spawn() as they are. Throws naming an unclosed quote.
 */
export function splitCommandLine(text: string): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if (c === "'") {
      const end = text.indexOf("'", i + 1);
      if (end < 0) throw new Error(`Unclosed ' in the command line ${JSON.stringify(text)}`);
      word += text.slice(i + 1, end);
      inWord = true;
      i = end;
    } else if (c === '"') {
      let j = i + 1;
      for (; j < text.length && text[j] !== '"'; j++) {
        if (text[j] === '\\' && (text[j + 1] === '"' || text[j + 1] === '\\')) j++;
        word += text[j];
      }
      if (j >= text.length) throw new Error(`Unclosed " in the command line ${JSON.stringify(text)}`);
      inWord = true;
      i = j;
    } else if (c === '\\') {
      if (i + 1 < text.length) word += text[++i];
      inWord = true;
    } else if (c === ' ' || c === '\t' || c === '\n') {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
    } else {
      word += c;
      inWord = true;
    }
  }
  if (inWord) words.push(word);
  return words;
}

/** A `--launcher 'ssh build-box'` value: its words, at least one. Throws naming the value. */
export function parseLauncher(text: string): string[] {
  const words = splitCommandLine(text);
  if (words.length === 0) throw new Error(`--launcher must name a command (e.g. 'ssh build-box'), got ${JSON.stringify(text)}`);
  return words;
}

/**
 * A `--workers` value: `N` (N local workers) or `N@launcher` (N workers through that launcher,
 * split as a shell would; only the first @ separates, so `2@ssh root@box` works). Throws naming
 * the value and the form expected.
 */
export function parseWorkersArgument(text: string): { count: number; launcher?: string[] } {
  const at = text.indexOf('@');
  const countText = (at < 0 ? text : text.slice(0, at)).trim();
  const expected = `expected N or N@'launcher command' with N an integer from 1 to 256`;
  const count = /^\d+$/.test(countText) ? Number(countText) : Number.NaN;
  if (!(count >= 1 && count <= 256)) throw new Error(`--workers ${JSON.stringify(text)}: ${expected}`);
  if (at < 0) return { count };
  const launcher = splitCommandLine(text.slice(at + 1));
  if (launcher.length === 0) throw new Error(`--workers ${JSON.stringify(text)}: the launcher after @ is empty; ${expected}`);
  return { count, launcher };
}

/** A word as a POSIX shell reads it back unchanged: as it is when nothing in it is special, else in single quotes. */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}

/**
 * The command line that starts one worker of a launched group: the launcher, then the far side's
 * command. ssh joins the words of its remote command and hands them to the far side's shell, so
 * for ssh each word is quoted for that shell; docker and kubectl pass the words as they are.
 */
export function launchedCommandLine(group: { launcher: string[]; command?: string[] | undefined }): { command: string; args: string[] } {
  const [command, ...prefix] = group.launcher as [string, ...string[]];
  const words = group.command ?? DEFAULT_REMOTE_COMMAND;
  const throughShell = basename(command) === 'ssh';
  return { command, args: [...prefix, ...(throughShell ? words.map(shellQuote) : words)] };
}
