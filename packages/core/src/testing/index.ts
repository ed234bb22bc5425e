/**
 * @outbid/core/testing: the conformance suites every adapter runs (vitest), the fake clock and fixtures.
 * @packageDocumentation
 */
export { describeEngineConformance, type EngineSuiteOptions } from './engine-suite.js';
export { describeLedgerConformance, type LedgerSuiteOptions } from './ledger-suite.js';
export { describeBusConformance, eventsFor, type BusSuiteOptions } from './bus-suite.js';
export { describeSchedulerConformance, type SchedulerSuiteOptions } from './scheduler-suite.js';
export {
  auctionFixture,
  bidCommand,
  maxBidCommand,
  buyNowCommand,
  acceptedChange,
  decidedChange,
  allAcceptedBids,
  eventually,
  sleep,
  testId,
} from './fixtures.js';
export { FakeClock, settle } from '../memory/fake-clock.js';
