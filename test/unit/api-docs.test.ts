// docs/API.md is generated from the published declarations: it must be what the source says now.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/fixtures.js';

describe('docs/API.md', () => {
  it('is current (node scripts/api-docs.mjs regenerates it) and lists every export of @airlock/host', () => {
    const check = spawnSync(process.execPath, [join(ROOT, 'scripts/api-docs.mjs'), '--check'], { encoding: 'utf8' });
    expect(check.stderr).toBe('');
    expect(check.status).toBe(0);
    const api = readFileSync(join(ROOT, 'docs/API.md'), 'utf8');
    const index = readFileSync(join(ROOT, 'packages/host/dist/index.d.ts'), 'utf8');
    const names = [...index.matchAll(/\{([^}]*)\}/g)].flatMap((m) => m[1]!.split(',').map((item) => item.trim().replace(/^type /, ''))).filter(Boolean);
    expect(names.length).toBeGreaterThan(30);
    for (const name of names) expect(api, name).toContain(`## \`${name}\``);
    expect(api).toContain('Worker processes serving calls in parallel: a number of local workers, or groups of workers');
  });
});
