// Every exported option is documented where an editor shows it: the options are interfaces
// whose every property carries a JSDoc comment in the published declarations (zod's inferred
// types would lose them), and each says its default where it has one.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/fixtures.js';

/** The properties of `interface name` in a .d.ts file, each with the JSDoc right above it (or undefined). */
function documentedProperties(file: string, name: string): Array<{ property: string; doc: string | undefined }> {
  const text = readFileSync(join(ROOT, file), 'utf8');
  const start = text.search(new RegExp(`export interface ${name}( extends [\\w, ]+)? \\{`));
  expect(start, `${name} in ${file}`).toBeGreaterThanOrEqual(0);
  const body = text.slice(text.indexOf('{', start) + 1, text.indexOf('\n}', start));
  const found: Array<{ property: string; doc: string | undefined }> = [];
  const pattern = /(\/\*\*(?:[^*]|\*(?!\/))*\*\/\s*)?\n {4}(\w+)\??:/g;
  for (const match of `\n${body}`.matchAll(pattern)) found.push({ property: match[2]!, doc: match[1]?.replace(/\s*\*\s?/g, ' ').trim() });
  return found;
}

const OPTIONS: Array<[string, string, number]> = [
  ['packages/host/dist/options/host-options.d.ts', 'HostOptions', 28],
  ['packages/host/dist/options/host-options.d.ts', 'CallOptions', 5],
  ['packages/host/dist/options/host-options.d.ts', 'WorkerGroup', 4],
  ['packages/host/dist/options/host-options.d.ts', 'CallManyOptions', 2],
  ['packages/host/dist/options/host-options.d.ts', 'SessionCallOptions', 4],
  ['packages/host/dist/session/session.d.ts', 'SessionOptions', 5],
  ['packages/host/dist/sandbox/sandbox-options.d.ts', 'SandboxPaths', 3],
  ['packages/protocol/dist/messages/limits.d.ts', 'Limits', 6],
];

describe('option documentation', () => {
  it.each(OPTIONS)('%s: %s documents every property in its declarations', (file, name, count) => {
    const properties = documentedProperties(file, name);
    expect(properties).toHaveLength(count);
    const undocumented = properties.filter((p) => p.doc === undefined || p.doc.length < 20).map((p) => p.property);
    expect(undocumented).toEqual([]);
  });

  it('says the default of every HostOptions option that has one', () => {
    // limits says what fills it (DEFAULT_LIMITS) instead.
    const noDefault = new Set(['limits']);
    for (const { property, doc } of documentedProperties('packages/host/dist/options/host-options.d.ts', 'HostOptions')) {
      if (noDefault.has(property)) continue;
      expect(doc, property).toMatch(/Default[ :]/);
    }
  });
});
