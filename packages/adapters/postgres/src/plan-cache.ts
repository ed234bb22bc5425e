import type { Db } from './db.js';

/** A statement whose rows are one text column, with `params` parameters, each sent as text. */
export interface TextRowsStatement {
  /** The name of its function on PGlite: `pg_temp.<name>`. */
  readonly name: string;
  readonly sql: string;
  readonly params: number;
  /** The name of the column it returns. */
  readonly column: string;
}

/** The statement a {@link TextRowsStatement} is sent as on PGlite: a call of its function. */
export const callOf = (statement: TextRowsStatement) =>
  `SELECT ${statement.column} FROM pg_temp.${statement.name}(${Array.from({ length: statement.params }, (_, i) => `$${i + 1}`).join(', ')}) AS t(${statement.column})`;

/**
 * Runs the ledger's hottest statements with a plan made once per session. On a Postgres server they are named
 * prepared statements already (see `pgDb`). PGlite's `query` cannot name a statement, so it parsed and planned each
 * one again on every call: about 1 ms of a 2–3 ms batch write, measured. There, each statement is wrapped in a
 * PL/pgSQL function in the session's temporary schema, made from this code on first use, and PL/pgSQL keeps its
 * plan for the session. The function dies with the session, so it can never be older than the code calling it.
 */
export function createStatementRunner(db: Db): <R>(statement: TextRowsStatement, params: unknown[]) => Promise<{ rows: R[] }> {
  if (db.kind !== 'pglite') return (statement, params) => db.query(statement.sql, params);
  const made = new Map<string, Promise<unknown>>();
  const make = (statement: TextRowsStatement) => {
    let creating = made.get(statement.name);
    if (!creating) {
      const args = Array.from({ length: statement.params }, () => 'text').join(', ');
      creating = db
        .exec(
          `CREATE OR REPLACE FUNCTION pg_temp.${statement.name}(${args}) RETURNS SETOF text LANGUAGE plpgsql AS $outbid$ BEGIN RETURN QUERY ${statement.sql}; END $outbid$`,
        )
        .catch((error: unknown) => {
          made.delete(statement.name); // made again by the next call
          throw error;
        });
      made.set(statement.name, creating);
    }
    return creating;
  };
  return async (statement, params) => {
    await make(statement);
    return db.query(callOf(statement), params);
  };
}
