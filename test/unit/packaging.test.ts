// What a fresh clone and a user's `npm install` depend on: every package's tsconfig references
// the packages it imports (tsc -b builds references in parallel otherwise), bins live in the
// source tree (npm links them before `prepare` builds dist/), and each tarball carries its
// README and LICENSE and no build-info files.
import { execFileSync } from 'node:child_process';
import { accessSync, constants, readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/fixtures.js';

const PACKAGES = ['protocol', 'worker', 'host'] as const;

interface PackageJson {
  name: string;
  license?: string;
  bin?: Record<string, string>;
  os?: string[];
  dependencies?: Record<string, string>;
}

function packageJson(name: string): PackageJson {
  return JSON.parse(readFileSync(join(ROOT, 'packages', name, 'package.json'), 'utf8')) as PackageJson;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    return statSync(path).isDirectory() ? sourceFiles(path) : path.endsWith('.ts') ? [path] : [];
  });
}

/** The @airlock/* packages imported anywhere in a package's sources. */
function importedWorkspacePackages(name: string): string[] {
  const found = new Set<string>();
  for (const file of sourceFiles(join(ROOT, 'packages', name, 'src'))) {
    for (const match of readFileSync(file, 'utf8').matchAll(/from '@airlock\/([a-z-]+)'/g)) found.add(match[1]!);
  }
  return [...found].sort();
}

describe('packaging', () => {
  it.each(PACKAGES)('%s: its tsconfig references every workspace package it imports, and its package.json depends on them', (name) => {
    const tsconfig = JSON.parse(readFileSync(join(ROOT, 'packages', name, 'tsconfig.json'), 'utf8')) as { references?: Array<{ path: string }> };
    const referenced = (tsconfig.references ?? []).map((reference) => relative(join(ROOT, 'packages'), resolve(ROOT, 'packages', name, reference.path))).sort();
    const imported = importedWorkspacePackages(name);
    expect(referenced).toEqual(imported);
    expect(Object.keys(packageJson(name).dependencies ?? {}).filter((dep) => dep.startsWith('@airlock/')).map((dep) => dep.slice(9)).sort()).toEqual(imported);
  });

  it.each(PACKAGES)('%s: bins are executable files in the source tree, not in dist/', (name) => {
    for (const [bin, target] of Object.entries(packageJson(name).bin ?? {})) {
      const path = join(ROOT, 'packages', name, target);
      expect(target, `${bin} must not point into dist/ (npm links bins before dist/ is built)`).not.toMatch(/(^|\/)dist\//);
      expect(() => accessSync(path, constants.X_OK), `${path} is executable`).not.toThrow();
      expect(readFileSync(path, 'utf8')).toMatch(/^#!\/usr\/bin\/env node\n/);
    }
  });

  it.each(PACKAGES)('%s: npm pack carries README.md and LICENSE, no build info, and says its license', (name) => {
    const output = execFileSync('npm', ['pack', '--dry-run', '--json', '--workspace', `packages/${name}`], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    const [pack] = JSON.parse(output) as Array<{ files: Array<{ path: string }> }>;
    const files = pack!.files.map((file) => file.path);
    expect(files).toContain('README.md');
    expect(files).toContain('LICENSE');
    expect(files.filter((file) => /tsbuildinfo/.test(file))).toEqual([]);
    expect(files.filter((file) => file.startsWith('dist/')).length).toBeGreaterThan(0);
    expect(packageJson(name).license).toBe('MIT');
  });

  it('the packages that load native code say what they run on', () => {
    for (const name of ['worker', 'host']) expect(packageJson(name).os).toEqual(['linux']);
  });
});
