import { describe, expect, it } from 'vitest';
import { loadConfig, outboxOn } from '../src/config.js';

const SECRET = 'config-test-secret-of-32-characters!!!';

describe('OUTBID_OUTBOX', () => {
  it('auto (the default) writes the outbox only when KAFKA_BROKERS names a bus other instances read', () => {
    expect(outboxOn(loadConfig({ OUTBID_JWT_SECRET: SECRET }))).toBe(false);
    expect(outboxOn(loadConfig({ OUTBID_JWT_SECRET: SECRET, DATABASE_URL: 'postgres://127.0.0.1/x', REDIS_URL: 'redis://127.0.0.1:6379' }))).toBe(false);
    expect(outboxOn(loadConfig({ OUTBID_JWT_SECRET: SECRET, KAFKA_BROKERS: '127.0.0.1:9092' }))).toBe(true);
    expect(outboxOn(loadConfig({ OUTBID_JWT_SECRET: SECRET, OUTBID_OUTBOX: 'on' }))).toBe(true);
    expect(outboxOn(loadConfig({ OUTBID_JWT_SECRET: SECRET, OUTBID_OUTBOX: 'on', KAFKA_BROKERS: '127.0.0.1:9092' }))).toBe(true);
    expect(outboxOn(loadConfig({ OUTBID_JWT_SECRET: SECRET, OUTBID_OUTBOX: 'off' }))).toBe(false);
  });

  it('off with KAFKA_BROKERS, or an unknown value, stops the server with a message naming the variable', () => {
    expect(() => loadConfig({ OUTBID_JWT_SECRET: SECRET, OUTBID_OUTBOX: 'off', KAFKA_BROKERS: '127.0.0.1:9092' })).toThrow(/OUTBID_OUTBOX=off with KAFKA_BROKERS/);
    expect(() => loadConfig({ OUTBID_JWT_SECRET: SECRET, OUTBID_OUTBOX: 'yes' })).toThrow(/OUTBID_OUTBOX/);
  });
});
