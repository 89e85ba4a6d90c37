import { SCALAR_TYPES, type CType, formatCType } from './c-types.js';

/** One parameter of a parsed prototype. */
export interface CParameter {
  /** The name as written, or `arg<i>` when the prototype leaves it out. */
  name: string;
  type: CType;
}

/** A parsed C prototype such as `int add(int a, int b)`. */
export interface CPrototype {
  name: string;
  returns: CType;
  parameters: CParameter[];
  /** The prototype as the user wrote it. */
  source: string;
}

/** Thrown for a prototype airlock cannot parse or cannot call; the message says why. */
export class PrototypeError extends Error {
  override name = 'PrototypeError';
}

const QUALIFIERS = new Set(['const', 'volatile', 'restrict', '__restrict', 'extern', 'static', 'inline']);
const TYPE_WORDS = new Set(['signed', 'unsigned', 'short', 'long', 'int', 'char', 'bool', '_Bool', 'void', 'float', 'double']);
const TAG_WORDS = new Set(['struct', 'union', 'enum']);
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Whether `fn` looks like a prototype rather than a bare symbol name. */
export function isPrototype(fn: string): boolean {
  return fn.includes('(');
}

/** Parses a C prototype in koffi's syntax; throws PrototypeError naming what is wrong. */
export function parsePrototype(source: string): CPrototype {
  const tokens = tokenize(source);
  const open = tokens.indexOf('(');
  const close = tokens.lastIndexOf(')');
  if (open < 0 || close < open) throw new PrototypeError(`Prototype ${JSON.stringify(source)} has no parameter list: expected something like 'int add(int a, int b)'`);
  if (close !== tokens.length - 1 && !(close === tokens.length - 2 && tokens[tokens.length - 1] === ';')) {
    throw new PrototypeError(`Unexpected ${JSON.stringify(tokens.slice(close + 1).join(' '))} after the parameter list of ${JSON.stringify(source)}`);
  }
  const head = parseDeclaration(tokens.slice(0, open), source, 'return type');
  if (head.name === undefined) throw new PrototypeError(`Prototype ${JSON.stringify(source)} has no function name`);
  const inner = tokens.slice(open + 1, close);
  const parameters: CParameter[] = [];
  if (!(inner.length === 0 || (inner.length === 1 && inner[0] === 'void'))) {
    for (const [index, group] of splitOn(inner, ',').entries()) {
      if (group.length === 1 && group[0] === '...') {
        throw new PrototypeError(`Prototype ${JSON.stringify(source)} is variadic ('...'): declare the exact parameter types of the call instead`);
      }
      const declaration = parseDeclaration(group, source, `parameter ${index + 1}`);
      if (declaration.type.kind === 'void') throw new PrototypeError(`Parameter ${index + 1} of ${JSON.stringify(source)} has type void`);
      parameters.push({ name: declaration.name ?? `arg${index}`, type: declaration.type });
    }
  }
  return { name: head.name, returns: head.type, parameters, source };
}

function tokenize(source: string): string[] {
  const tokens: string[] = [];
  const pattern = /\s*(\.\.\.|[A-Za-z_][A-Za-z0-9_]*|[*(),;\[\]]|\S)/y;
  let match: RegExpExecArray | null;
  while ((match = pattern.exec(source)) !== null) tokens.push(match[1]!);
  if (tokens.length === 0) throw new PrototypeError('The prototype is empty');
  for (const token of tokens) {
    if (token === '[' || token === ']') throw new PrototypeError(`Array parameters are not supported in ${JSON.stringify(source)}: write a pointer and a size_t length instead`);
    if (!IDENTIFIER.test(token) && !['*', '(', ')', ',', ';', '...'].includes(token)) {
      throw new PrototypeError(`Unexpected ${JSON.stringify(token)} in prototype ${JSON.stringify(source)}`);
    }
  }
  return tokens;
}

function splitOn(tokens: string[], separator: string): string[][] {
  const groups: string[][] = [[]];
  for (const token of tokens) {
    if (token === separator) groups.push([]);
    else groups[groups.length - 1]!.push(token);
  }
  return groups;
}

/** `const unsigned char *name` → its type and (optional) name. */
function parseDeclaration(tokens: string[], source: string, what: string): { type: CType; name?: string } {
  const firstStar = tokens.indexOf('*');
  const baseTokens = firstStar < 0 ? tokens : tokens.slice(0, firstStar);
  const afterStars = firstStar < 0 ? [] : tokens.slice(firstStar).filter((t) => t !== '*' && !QUALIFIERS.has(t));
  const depth = tokens.filter((t) => t === '*').length;
  if (tokens.some((t) => t === '(' || t === ')' || t === ',')) {
    throw new PrototypeError(`Function pointers are not supported (${what} of ${JSON.stringify(source)})`);
  }
  const isConst = baseTokens.includes('const');
  let words = baseTokens.filter((t) => !QUALIFIERS.has(t));
  let name: string | undefined;
  if (afterStars.length > 1) throw new PrototypeError(`Cannot read ${what} ${JSON.stringify(tokens.join(' '))} of ${JSON.stringify(source)}`);
  if (afterStars.length === 1) name = afterStars[0];
  else if (firstStar < 0 && words.length >= 2 && !TYPE_WORDS.has(words[words.length - 1]!) && !TAG_WORDS.has(words[words.length - 2]!)) {
    name = words[words.length - 1];
    words = words.slice(0, -1);
  }
  if (words.length === 0) throw new PrototypeError(`The ${what} of ${JSON.stringify(source)} has no type`);
  const spelled = words.join(' ');
  let base: CType | { kind: 'opaque'; name: string } | undefined = SCALAR_TYPES.get(spelled);
  if (base === undefined) {
    const opaque = TAG_WORDS.has(words[0]!) ? words.length === 2 : words.length === 1 && !TYPE_WORDS.has(words[0]!);
    if (!opaque) throw new PrototypeError(`Unknown type ${JSON.stringify(spelled)} in the ${what} of ${JSON.stringify(source)}`);
    if (depth === 0 && TAG_WORDS.has(words[0]!)) {
      throw new PrototypeError(`The ${what} of ${JSON.stringify(source)} passes ${JSON.stringify(spelled)} by value: only scalars and pointers cross the boundary (use a pointer)`);
    }
    if (depth === 0) {
      const near = nearestScalar(spelled);
      throw new PrototypeError(
        `Unknown type ${JSON.stringify(spelled)} in the ${what} of ${JSON.stringify(source)}${near !== undefined ? ` (did you mean ${JSON.stringify(near)}?)` : ''}: ` +
          'a parameter or result is a C scalar (int, double, uint64_t, size_t, bool …) or a pointer (a typedef of a struct: pass a pointer to it)',
      );
    }
    base = { kind: 'opaque', name: spelled };
  }
  if (depth === 0) return { type: base as CType, ...(name !== undefined && { name }) };
  let type: CType = { kind: 'pointer', to: base, const: isConst };
  for (let level = 1; level < depth; level += 1) type = { kind: 'pointer', to: type, const: false };
  return { type, ...(name !== undefined && { name }) };
}

/** Writes a prototype back in a normal form, e.g. for `plugin-run inspect`. */
export function formatPrototype(prototype: CPrototype): string {
  const params = prototype.parameters.map((p) => `${formatCType(p.type)} ${p.name}`.replace('* ', '*'));
  return `${formatCType(prototype.returns)} ${prototype.name}(${params.length === 0 ? 'void' : params.join(', ')})`.replace('* ', '*');
}

/** The known scalar spelling closest to a misspelt one (at most two edits away), if any. */
function nearestScalar(spelled: string): string | undefined {
  let best: { name: string; distance: number } | undefined;
  for (const name of SCALAR_TYPES.keys()) {
    const distance = editDistance(spelled, name);
    if (distance <= 2 && (best === undefined || distance < best.distance)) best = { name, distance };
  }
  return best?.name;
}

/** Levenshtein distance, with a transposition counted as one edit (itn → int). */
function editDistance(a: string, b: string): number {
  const rows = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i += 1) {
    for (let j = 1; j <= b.length; j += 1) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let value = Math.min(rows[i - 1]![j]! + 1, rows[i]![j - 1]! + 1, rows[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) value = Math.min(value, rows[i - 2]![j - 2]! + 1);
      rows[i]![j] = value;
    }
  }
  return rows[a.length]![b.length]!;
}
