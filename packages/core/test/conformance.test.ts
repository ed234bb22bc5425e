import { createMemoryBus, createMemoryEngine, createMemoryLedger, createMemoryScheduler } from '@outbid/core';
import {
  describeBusConformance,
  describeEngineConformance,
  describeLedgerConformance,
  describeSchedulerConformance,
} from '@outbid/core/testing';

describeEngineConformance('memory', { create: async () => createMemoryEngine() });
describeLedgerConformance('memory', { create: async () => createMemoryLedger(), offers: { applyChanges: true, applyChangesAndAudit: true } });
describeBusConformance('memory', { create: async () => createMemoryBus() });
describeSchedulerConformance('memory', { create: async () => createMemoryScheduler({ retryDelayMs: 100 }) });
