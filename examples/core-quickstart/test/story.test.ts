import { expect, it } from 'vitest';
import { auctionStory } from '../auction-story.js';

it('the quickstart story runs as its README says', async () => {
  const lines: string[] = [];
  const { final, events } = await auctionStory((line) => lines.push(line));
  expect(final).toMatchObject({ status: 'ended', currentWinnerId: 'alice', currentPrice: 5_100, bidCount: 5, extensionCount: 2 });
  expect(lines).toContain('alice bids $21.00: accepted [replayed] → leader alice at $21.00, next ≥ $21.50');
  expect(events.filter((e) => e.type === 'AuctionEnded')).toHaveLength(1);
});
