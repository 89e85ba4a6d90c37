// host.bind's types, checked by the TypeScript compiler itself: test/types/bind.ts compiles, and
// each line marked @ts-expect-error is an error when the mark is taken away.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/fixtures.js';

const TSC = join(ROOT, 'node_modules/typescript/bin/tsc');

function compile(project: string): { status: number; output: string } {
  try {
    execFileSync(process.execPath, [TSC, '-p', project], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    return { status: 0, output: '' };
  } catch (error) {
    const e = error as { status: number; stdout: string };
    return { status: e.status, output: e.stdout };
  }
}

describe('host.bind types', () => {
  it('infer the signature of a literal prototype (tsc --noEmit)', { timeout: 60_000 }, () => {
    expect(compile(join(ROOT, 'test/types/tsconfig.json'))).toEqual({ status: 0, output: '' });
  });

  it('refuse a wrong argument: every line marked @ts-expect-error fails to compile without its mark', { timeout: 60_000 }, () => {
    const dir = mkdtempSync(join(ROOT, 'test/types/.unmarked-'));
    try {
      const source = readFileSync(join(ROOT, 'test/types/bind.ts'), 'utf8');
      const marked = source.split('\n').filter((line) => line.trim().startsWith('// @ts-expect-error')).length;
      writeFileSync(join(dir, 'bind.ts'), source.replaceAll('// @ts-expect-error', '// (unmarked)'));
      writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ extends: '../tsconfig.json', include: ['*.ts'] }));
      const { status, output } = compile(join(dir, 'tsconfig.json'));
      expect(status).not.toBe(0);
      // One error per marked line (a line may hold more than one: cos.many([0, 1]) has two elements).
      const lines = new Set(output.split('\n').flatMap((line) => /bind\.ts\((\d+),\d+\): error TS\d+/.exec(line)?.[1] ?? []));
      expect(lines.size).toBe(marked);
      expect(output).toContain("Argument of type 'string' is not assignable to parameter of type 'number'");
      expect(output).toContain('Expected 1 arguments, but got 2');
      expect(output).toContain("Type 'Promise<number>' is not assignable to type 'Promise<string>'");
      expect(output).toContain("Argument of type 'string' is not assignable to parameter of type 'number | bigint'");
      expect(output).toContain("Type 'number' is not assignable to type '[number]'");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
