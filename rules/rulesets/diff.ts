/**
 * A line diff (longest common subsequence) in unified style: `-` removed, `+` added, `  ` kept, with
 * `context` unchanged lines around each change. Rulesets are a few hundred lines, so O(n·m) is fine.
 */
export function lineDiff(before: string, after: string, context = 2): string {
  const a = before.split('\n');
  const b = after.split('\n');
  const n = a.length;
  const m = b.length;
  const lcs: Uint32Array[] = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
  for (let i = n - 1; i >= 0; i--) for (let j = m - 1; j >= 0; j--) lcs[i]![j] = a[i] === b[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
  const ops: [' ' | '-' | '+', string][] = [];
  let i = 0;
  let j = 0;
  while (i < n && j < m) {
    if (a[i] === b[j]) {
      ops.push([' ', a[i++]!]);
      j++;
    } else if (lcs[i + 1]![j]! >= lcs[i]![j + 1]!) ops.push(['-', a[i++]!]);
    else ops.push(['+', b[j++]!]);
  }
  while (i < n) ops.push(['-', a[i++]!]);
  while (j < m) ops.push(['+', b[j++]!]);
  const keep = ops.map((op, k) => op[0] !== ' ' || ops.slice(Math.max(0, k - context), k + context + 1).some((o) => o[0] !== ' '));
  const out: string[] = [];
  let skipped = false;
  ops.forEach((op, k) => {
    if (keep[k]) {
      if (skipped) out.push('@@');
      skipped = false;
      out.push(`${op[0]} ${op[1]}`);
    } else skipped = true;
  });
  return ops.every((o) => o[0] === ' ') ? '' : out.join('\n');
}
