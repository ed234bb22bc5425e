/**
 * @outbid/core: auction rules, the ports (engine, ledger, bus, scheduler, clock), in-memory
 * implementations of each, and the service that composes them.
 * @packageDocumentation
 */
export * from './errors.js';
export * from './domain/money.js';
export * from './domain/text.js';
export * from './domain/increments.js';
export * from './domain/soft-close.js';
export * from './domain/auction.js';
export * from './domain/bid.js';
export * from './domain/events.js';
export * from './rules/place-bid.js';
export * from './rules/transitions.js';
export { assertBatchOrder, isValidSuccessor } from './rules/verify-change.js';
export * from './ports/clock.js';
export * from './ports/engine.js';
export * from './ports/ledger.js';
export * from './ports/bus.js';
export * from './ports/scheduler.js';
export * from './ports/purger.js';
export * from './ports/rate-limiter.js';
export { createHttpPurger, type HttpPurgerOptions } from './cdn/http-purger.js';
export { createMemoryEngine, type MemoryEngineOptions } from './memory/engine.js';
export { createMemoryLedger } from './memory/ledger.js';
export { createMemoryBus, type MemoryBus } from './memory/bus.js';
export { createMemoryScheduler, type MemoryScheduler, type MemorySchedulerOptions } from './memory/scheduler.js';
export { FakeClock, settle } from './memory/fake-clock.js';
export { createFailoverEngine, type FailoverEngine, type FailoverEngineOptions } from './engines/failover.js';
export { createOutboxRelay, type OutboxRelay, type OutboxRelayOptions } from './service/relay.js';
export * from './service/api.js';
export { createOutbid } from './service/outbid.js';
export { startEngineUpdater } from './service/upkeep.js';
export { uuidv7 } from './ids.js';
export { fnv1a32 } from './hash.js';
export { encodeCursor, decodeCursor, isPositionCursor, isSafeIntegerArray } from './cursor.js';
export { zodIssues } from './validation.js';
