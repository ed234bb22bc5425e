import type { Outbid } from '@outbid/core';

/** Creates `count` auctions whose ends spread evenly over one second from `firstEnd`, 32 creations at a time. */
export async function createEndingWithinOneSecond(outbid: Outbid, count: number, firstEnd: number, tag: string): Promise<Array<{ id: string; endAt: number }>> {
  const auctions: Array<{ id: string; endAt: number }> = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: 32 }, async () => {
      while (next < count) {
        const i = next++;
        const endAt = firstEnd + Math.floor((i / count) * 1_000);
        const a = await outbid.createAuction('seller', { postId: `${tag}-${i}`, startAt: Date.now(), endAt, startPrice: 100, increment: { type: 'fixed', amount: 10 } });
        auctions.push({ id: a.id, endAt });
      }
    }),
  );
  return auctions;
}

/** The p-th percentile (nearest rank) of `values`. */
export const percentile = (values: number[], p: number): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
};
