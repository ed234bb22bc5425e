import { auctionStory } from './auction-story.js';

await auctionStory();
