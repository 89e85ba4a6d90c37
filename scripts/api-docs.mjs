#!/usr/bin/env node
// Writes docs/API.md, the reference of @airlock/host, from the published declarations
// (packages/*/dist/*.d.ts, built by tsc): every export of the package's index, in its order,
// with its documentation comment and its declaration (private members left out).
// `--check` writes nothing and exits 1 when docs/API.md is not what the source says now.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const PACKAGES = { '@airlock/protocol': join(root, 'packages/protocol/dist/index.d.ts'), '@airlock/host': join(root, 'packages/host/dist/index.d.ts') };
const target = join(root, 'docs/API.md');

/** The .d.ts a module specifier of `from` names. */
function moduleFile(specifier, from) {
  if (specifier in PACKAGES) return PACKAGES[specifier];
  return resolve(dirname(from), specifier.replace(/\.js$/, '.d.ts'));
}

/** The names a module's `export { … } from` and `export * from` lines re-export, in order: [{ name, from }]. */
function reexports(file) {
  const text = readFileSync(file, 'utf8');
  const found = [];
  for (const match of text.matchAll(/^export (?:type )?\{([^}]*)\} from '([^']+)';$/gm)) {
    for (const item of match[1].split(',')) {
      const name = item.trim().replace(/^type /, '');
      if (name) found.push({ name, from: moduleFile(match[2], file) });
    }
  }
  return found;
}

/** The declaration of `name` in a module (following its re-exports): its comment and its text. */
function declaration(name, file, seen = new Set()) {
  if (seen.has(file) || !existsSync(file)) return undefined;
  seen.add(file);
  const text = readFileSync(file, 'utf8');
  const start = new RegExp(`^export (?:declare )?(?:abstract )?(class|interface|type|function|const|enum) ${name}\\b`, 'm').exec(text);
  if (start) {
    const comment = /(\/\*\*(?:[^*]|\*(?!\/))*\*\/)\s*$/.exec(text.slice(0, start.index))?.[1];
    return { kind: start[1], comment, text: statement(text, start.index) };
  }
  for (const item of reexports(file)) if (item.name === name) return declaration(name, item.from, seen);
  // `export type { Name };` of an imported name.
  for (const match of text.matchAll(/^import (?:type )?\{([^}]*)\} from '([^']+)';$/gm)) {
    if (match[1].split(',').some((item) => item.trim().replace(/^type /, '') === name)) return declaration(name, moduleFile(match[2], file), seen);
  }
  for (const match of text.matchAll(/^export \* from '([^']+)';$/gm)) {
    const found = declaration(name, moduleFile(match[1], file), seen);
    if (found) return found;
  }
  return undefined;
}

/** The statement starting at `from`: up to its `;` or closing brace at depth 0; private members and source-map comments dropped. */
function statement(text, from) {
  let depth = 0;
  let end = from;
  for (; end < text.length; end += 1) {
    const c = text[end];
    if (c === '{' || c === '(' || c === '[' || c === '<') depth += 1;
    else if (c === '}' || c === ')' || c === ']' || (c === '>' && text[end - 1] !== '=')) depth -= 1;
    else if (c === ';' && depth === 0) break;
    if (c === '}' && depth === 0 && text[end + 1] === '\n' && /^export (?:declare )?(?:abstract )?(class|interface|enum)/.test(text.slice(from, from + 40))) break;
  }
  // Private members go, with the comment over each.
  const lines = text.slice(from, end + 1).split('\n');
  const isPrivate = (line) => line !== undefined && /^\s+(private|#private)\b/.test(line);
  const kept = [];
  for (let i = 0; i < lines.length; i += 1) {
    if (/^\s*\/\*\*/.test(lines[i])) {
      let last = i;
      while (last < lines.length - 1 && !lines[last].includes('*/')) last += 1;
      if (!isPrivate(lines[last + 1])) kept.push(...lines.slice(i, last + 1));
      else last += 1;
      i = last;
      continue;
    }
    if (!isPrivate(lines[i])) kept.push(lines[i]);
  }
  return kept.join('\n');
}

function render() {
  const lines = [
    '# `@airlock/host` API reference',
    '',
    'Generated from the published declarations by `node scripts/api-docs.mjs` (the test suite checks it is current).',
    'The README explains how these fit together; this lists every export with its documentation.',
    '',
  ];
  for (const { name, from } of reexports(PACKAGES['@airlock/host'])) {
    const found = declaration(name, from);
    if (!found) throw new Error(`api-docs: no declaration of ${name} (from ${from})`);
    lines.push(`## \`${name}\``, '');
    if (found.comment) lines.push(found.comment.replace(/^\/\*\*\s?|\s*\*\/$/g, '').split('\n').map((line) => line.replace(/^\s*\* ?/, '')).join('\n').trim(), '');
    lines.push('```ts', found.text.replace(/^export (declare )?/, ''), '```', '');
  }
  return `${lines.join('\n').trimEnd()}\n`;
}

const markdown = render();
if (process.argv.includes('--check')) {
  const current = existsSync(target) ? readFileSync(target, 'utf8') : '';
  if (current !== markdown) {
    console.error('docs/API.md is not current: run `node scripts/api-docs.mjs`');
    process.exit(1);
  }
} else {
  writeFileSync(target, markdown);
  console.log(`api-docs: ${target} written`);
}
