import { readFileSync, readdirSync } from 'node:fs';

/**
 * This process's descriptors above the worker's stdio (0-3) that are not close-on-exec, which a
 * child would inherit: native code of the app may open files without O_CLOEXEC.
 */
export function inheritableFds(): number[] {
  const found: number[] = [];
  let names: string[];
  try {
    names = readdirSync('/proc/self/fd');
  } catch {
    return found;
  }
  for (const name of names) {
    const fd = Number(name);
    if (!(fd > 3) || fd > 9999) continue;
    try {
      const flags = /^flags:\s+([0-7]+)/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'latin1'))?.[1];
      if (flags !== undefined && (Number.parseInt(flags, 8) & O_CLOEXEC) === 0) found.push(fd);
    } catch {
      /* closed meanwhile (the listing's own descriptor) */
    }
  }
  return found;
}
const O_CLOEXEC = 0o2000000;

