/**
 * The order in which a round of `pnpm bench bids` measures its setups.
 *
 * A window can inherit what the window before it left behind: another setup's dead rows for autovacuum, dirty
 * pages for the checkpointer, a Redis AOF to rewrite. A plain rotation keeps every setup's neighbours, so with the
 * default setups Redis + Postgres's window would follow the peer's in every round and carry all of that alone.
 * Here each round steps through the setups with a stride of its own: round r starts at setup r − 1 (mod n) and
 * goes k_r setups further each time, k_r being the strides coprime with n (each gives every setup once) in turn.
 * A setup's predecessor within round r is then the one k_r before it, so over the strides' rounds it follows a
 * different setup each time (for a prime n, never the same one twice in n − 1 rounds). Two setups alternate.
 */
export function roundOrder<T>(setups: readonly T[], round: number): T[] {
  const n = setups.length;
  const strides = strideCycle(n);
  const stride = strides[(round - 1) % strides.length]!;
  return setups.map((_, i) => setups[(round - 1 + i * stride) % n]!);
}

function strideCycle(n: number): number[] {
  const strides: number[] = [];
  for (let k = 1; k < n; k++) if (gcd(k, n) === 1) strides.push(k);
  return strides.length > 0 ? strides : [1];
}

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}
