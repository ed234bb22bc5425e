import { startPostgres, type PostgresServer } from '@outbid/test-services';
import { afterAll, beforeAll } from 'vitest';

/** A PostgreSQL server for this test file: started before its tests, stopped after. */
export function usePostgresServer() {
  let server: PostgresServer;
  beforeAll(async () => {
    server = await startPostgres();
  }, 60_000);
  afterAll(async () => {
    await server?.stop();
  });
  return {
    get url() {
      return server.url;
    },
    createDatabase: (name: string) => server.createDatabase(name),
  };
}
