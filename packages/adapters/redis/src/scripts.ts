import { Command, type Cluster, type Redis } from 'ioredis';
import { SCRIPTS, type ScriptName } from './generated/scripts.js';
import { PACKAGE_VERSION } from './version.js';

export type ScriptArg = string | number;
/**
 * A script argument, or a list of them: ioredis flattens lists into the command. Long lists (a long auction's
 * idempotency records) must go as lists, never spread into the call: a spread of ~100,000 arguments overflows the
 * JavaScript stack.
 */
export type ScriptArgs = ScriptArg | readonly ScriptArg[];

/** What each script returns (see the `Returns` section of its header in lua/). */
export interface ScriptReplies {
  place_bid: ScriptArg[];
  /** One place_bid reply per bid. */
  place_bids: ScriptArg[][];
  start: ScriptArg[];
  end: ScriptArg[];
  cancel: ScriptArg[];
  hydrate: ScriptArg[];
  /** Tokens granted (0 when the window is spent), then the ms until the window resets. */
  rate_limit: [number, number];
  /** redisNow, then member, dueAt pairs. */
  schedule_claim: string[];
  /** 1 when the lease was held, 0 when it had expired. */
  schedule_ack: number;
}

/** Calls one registered script: KEYS first (as many as its header lists), then ARGV. */
export type ScriptCall = <N extends ScriptName & keyof ScriptReplies>(script: N, ...args: ScriptArgs[]) => Promise<ScriptReplies[N]>;

/**
 * The command a script is registered under: versioned, so two versions of this package sharing one Redis (a
 * rolling deploy) never run each other's scripts.
 */
export const commandName = (script: ScriptName) => `outbid_${script}_${PACKAGE_VERSION.replace(/\W/g, '_')}`;

/**
 * Registers the scripts on the client (ioredis runs EVALSHA and falls back to EVAL on NOSCRIPT, after a restart
 * or a failover) and returns a typed call.
 */
export function registerScripts(redis: Redis | Cluster, scripts: readonly ScriptName[]): ScriptCall {
  for (const name of scripts) redis.defineCommand(commandName(name), { numberOfKeys: SCRIPTS[name].numberOfKeys, lua: SCRIPTS[name].lua });
  const commands = redis as unknown as Record<string, (...args: ScriptArgs[]) => Promise<unknown>>;
  return (script, ...args) => {
    const command = commands[commandName(script)];
    if (!command) throw new Error(`@outbid/redis: script ${script} was not registered on this client`);
    return command.apply(redis, args) as Promise<never>;
  };
}

/**
 * The same call sent as its own `EVALSHA` command, at once: never through ioredis's auto-pipeline (which would wait
 * for a turn of the event loop, and for the replies of the auto-pipeline in flight) nor through a `Pipeline` object.
 * A `Pipeline` keeps whatever it references from dying young: each one built moves about a kilobyte to the old
 * generation, and a pipeline's commands, arguments and replies go with it (`pnpm bench bids` traced the bid engine's
 * pipelines as most of the server's promoted bytes; see BENCHMARKS.md). Written while the caller holds the
 * connection's socket corked, a turn's calls still leave in one write. On NOSCRIPT (a Redis restarted or failed
 * over since the script was loaded) the call is sent again with `EVAL`, which also puts the script back in Redis's
 * cache, as ioredis does for a registered command.
 */
export function directCall(redis: Redis): ScriptCall {
  const keyPrefix = redis.options.keyPrefix;
  const options = keyPrefix ? { replyEncoding: 'utf8' as const, keyPrefix } : { replyEncoding: 'utf8' as const };
  return (script, ...args) => {
    const { sha1, lua, numberOfKeys } = SCRIPTS[script];
    const send = (command: 'evalsha' | 'eval', body: string) => redis.sendCommand(new Command(command, [body, numberOfKeys, ...args.flat()], options)) as Promise<never>;
    return send('evalsha', sha1).catch((error: unknown) => (isNoScript(error) ? send('eval', lua) : Promise.reject(error)));
  };
}

const isNoScript = (error: unknown) => error instanceof Error && error.message.startsWith('NOSCRIPT');

/** Loads the scripts into a single Redis's script cache, so that their first `EVALSHA` finds them. */
export async function loadScripts(redis: Redis, scripts: readonly ScriptName[]): Promise<void> {
  await Promise.all(scripts.map((name) => redis.script('LOAD', SCRIPTS[name].lua)));
}

/** First element of a place_bid reply. */
export const PlaceBidReply = {
  /** The auction is not in Redis: hydrate from the ledger and retry. */
  NEEDS_HYDRATION: 'H',
  /** The stored first answer for this idempotency key. */
  REPLAY: 'R',
  /** The key was reused with another payload; nothing stored. */
  KEY_REUSED: 'K',
  /** A fresh decision. */
  DECIDED: 'D',
} as const;

/** First element of a start/end/cancel reply. */
export const TransitionReply = {
  NEEDS_HYDRATION: 'H',
  APPLIED: 'A',
  UNCHANGED: 'U',
  NOT_DUE: 'N',
  REFUSED: 'F',
} as const;

/** A hydrate reply's first element. */
export const HydrateReply = { APPLIED: 1, REFUSED: 0 } as const;

type ReplyCode<T> = T[keyof T];

/** A decoder table: for each reply code, how that reply becomes a result (defined once, not per call). */
export type ReplyDecoders<Code extends string, Context, Result> = Record<Code, (reply: readonly string[], context: Context) => Result>;

/**
 * Turns a script reply into a result by its first element; an unknown code throws (a script and its caller
 * disagree, e.g. two package versions).
 */
export function decodeReply<Code extends string, Context, Result>(
  from: string,
  decoders: ReplyDecoders<Code, Context, Result>,
  reply: readonly string[],
  context: Context,
): Result {
  const code = reply[0] as Code;
  const decode = Object.hasOwn(decoders, code) ? decoders[code] : undefined;
  if (!decode) throw new Error(`unexpected reply from ${from}: ${reply[0]}`);
  return decode(reply, context);
}

export type PlaceBidReplyCode = ReplyCode<typeof PlaceBidReply>;
export type TransitionReplyCode = ReplyCode<typeof TransitionReply>;
