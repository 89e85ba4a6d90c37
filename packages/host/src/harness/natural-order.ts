// Corpus files run in the order people number them: `case2` before `case10`.

/**
 * Compares two names piece by piece: runs of digits by their value (then by length, so that
 * `01` and `1` still differ), everything else by UTF-16 code units, as a plain sort would.
 */
export function naturalCompare(a: string, b: string): number {
  const left = a.match(/\d+|\D+/g) ?? [];
  const right = b.match(/\d+|\D+/g) ?? [];
  for (let i = 0; i < Math.min(left.length, right.length); i += 1) {
    const x = left[i]!;
    const y = right[i]!;
    if (x === y) continue;
    const digits = /^\d/.test(x) && /^\d/.test(y);
    if (digits) {
      const [bx, by] = [BigInt(x), BigInt(y)];
      if (bx !== by) return bx < by ? -1 : 1;
      return x.length - y.length;
    }
    return x < y ? -1 : 1;
  }
  return left.length - right.length;
}
