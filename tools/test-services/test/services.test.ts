import { describe, expect, it } from 'vitest';
import { redisCommand, startPostgres, startRedis } from '../src/index.js';
import { execFileSync } from 'node:child_process';

describe('test services', () => {
  it('starts a redis-server on a free loopback port, kills it and restarts it empty', async () => {
    const redis = await startRedis();
    try {
      expect(await redisCommand(redis.port, 'SET k v')).toBe('+OK');
      await redis.restart();
      expect(await redisCommand(redis.port, 'GET k')).toBe('$-1');
    } finally {
      await redis.stop();
    }
  });

  it('starts a Postgres server as an unprivileged user and answers SQL', async () => {
    const pg = await startPostgres();
    try {
      const out = execFileSync('psql', [pg.url, '-tAc', 'select 40 + 2'], { encoding: 'utf8' });
      expect(out.trim()).toBe('42');
      const db = await pg.createDatabase('scratch');
      expect(execFileSync('psql', [db, '-tAc', 'select current_database()'], { encoding: 'utf8' }).trim()).toBe('scratch');
    } finally {
      await pg.stop();
    }
  });
});
