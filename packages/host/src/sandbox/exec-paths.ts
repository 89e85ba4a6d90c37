import { existsSync, mkdirSync, realpathSync } from 'node:fs';
import { dirname } from 'node:path';
import type { ExecParams } from '@airlock/protocol';

/** What a sandboxed command sees beyond the sandbox's own: read-only paths, and writable ones. */
export interface ExecPaths {
  readable: string[];
  writable: string[];
}

/**
 * What a command needs to see in a sandbox: its working directory, its tools, its PATH
 * directories and its inputs (SRC) read-only; the directories of its outputs (OUT) writable,
 * created here first as the worker would create them (a bind needs a directory to show).
 * Nothing else of the workspace: a command reads what its spec declares.
 */
export function execPaths(params: Pick<ExecParams, 'cwd' | 'tools' | 'path' | 'deps' | 'out'>): ExecPaths {
  const readable = new Set<string>();
  const add = (path: string | undefined) => {
    if (path !== undefined && existsSync(path)) readable.add(path);
  };
  add(params.cwd);
  for (const tool of Object.values(params.tools ?? {})) {
    add(tool);
    // A tool that is a symlink (node_modules/.bin) runs as the file it points to.
    if (existsSync(tool)) add(realpathSync(tool));
  }
  for (const dir of params.path ?? []) add(dir);
  for (const path of groupPaths(params.deps)) add(path);
  const writable = new Set<string>();
  for (const path of groupPaths(params.out)) {
    const dir = path.endsWith('/') ? path.slice(0, -1) || '/' : dirname(path);
    mkdirSync(dir, { recursive: true });
    writable.add(dir);
  }
  return { readable: [...readable], writable: [...writable] };
}

function groupPaths(groups: string[] | Record<string, string[]> | undefined): string[] {
  if (groups === undefined) return [];
  return Array.isArray(groups) ? groups : Object.values(groups).flat();
}
