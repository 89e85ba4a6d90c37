// Makes an environment plan real on disk (the bin dir of tool links, the LIST_SRC files, the
// outputs' directories), and measures the declared outputs afterwards. Shared by the worker's
// exec operation and the interactive shell.
import { lstatSync, mkdirSync, readdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { EnvironmentError, type EnvironmentPlan } from './build-environment.js';
import { isExecutableFile } from './drivers.js';

/** Creates what the plan needs; a tool that is not an executable file is an EnvironmentError. */
export function materialize(plan: EnvironmentPlan): void {
  for (const { name, target } of plan.links) {
    if (!isExecutableFile(target)) throw new EnvironmentError(`tool ${JSON.stringify(name)}: ${target} is not an executable file`);
  }
  if (plan.binDir !== undefined) {
    mkdirSync(plan.binDir, { recursive: true });
    for (const { link, target } of plan.links) symlinkSync(target, link);
  }
  for (const { path, content } of plan.files) writeFileSync(path, content, { mode: 0o600 });
  for (const dir of plan.directories) {
    try {
      mkdirSync(dir, { recursive: true });
    } catch (error) {
      throw new EnvironmentError(`cannot create the output directory ${dir}: ${(error as Error).message}`);
    }
  }
}

/** The declared outputs that exist, with their sizes (a directory: the bytes of its files). */
export function measureOutputs(plan: EnvironmentPlan): Array<{ path: string; size: number }> {
  const found: Array<{ path: string; size: number }> = [];
  for (const { path } of plan.outputs) {
    try {
      const stat = statSync(path);
      found.push({ path, size: stat.isDirectory() ? treeSize(path) : stat.size });
    } catch {
      /* not produced */
    }
  }
  return found;
}

function treeSize(dir: string, depth = 0): number {
  if (depth > 64) return 0;
  let total = 0;
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    try {
      const stat = lstatSync(path);
      if (stat.isDirectory()) total += treeSize(path, depth + 1);
      else if (stat.isFile()) total += stat.size;
    } catch {
      /* vanished */
    }
  }
  return total;
}
