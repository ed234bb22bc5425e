import type { AuctionEvent } from '../domain/events.js';
import { fnv1a32 } from '../hash.js';
import { BUS_SPECIFICATION_VERSION, type EventBus, type EventHandler, type Subscription } from '../ports/bus.js';

interface Member {
  handler: EventHandler;
  /** Delivery chain: each subscriber gets events one at a time, in publish order. */
  tail: Promise<void>;
  closed: boolean;
}

export interface MemoryBus extends EventBus {
  /** Resolves when every event published so far has been handled. */
  idle(): Promise<void>;
}

/** In-process event bus: broadcast subscribers and key-partitioned groups, per-auction order kept. */
export function createMemoryBus(options: { onHandlerError?: (error: unknown, event: AuctionEvent) => void } = {}): MemoryBus {
  const broadcast = new Set<Member>();
  const groups = new Map<string, Member[]>();
  const onError = options.onHandlerError ?? (() => {});

  const deliver = (member: Member, event: AuctionEvent) => {
    member.tail = member.tail.then(async () => {
      if (member.closed) return;
      try {
        await member.handler(event);
      } catch (error) {
        onError(error, event);
      }
    });
  };

  return {
    specificationVersion: BUS_SPECIFICATION_VERSION,
    name: 'memory',
    async publish(events) {
      for (const event of events) {
        for (const member of broadcast) deliver(member, event);
        for (const members of groups.values()) {
          const live = members.filter((m) => !m.closed);
          if (live.length > 0) deliver(live[fnv1a32(event.auctionId) % live.length]!, event);
        }
      }
    },
    async subscribe(handler, options = {}): Promise<Subscription> {
      const member: Member = { handler, tail: Promise.resolve(), closed: false };
      if (options.group === undefined) broadcast.add(member);
      else groups.set(options.group, [...(groups.get(options.group) ?? []), member]);
      return {
        async close() {
          member.closed = true;
          broadcast.delete(member);
          if (options.group !== undefined) {
            groups.set(options.group, (groups.get(options.group) ?? []).filter((m) => m !== member));
          }
        },
      };
    },
    async idle() {
      const all = [...broadcast, ...[...groups.values()].flat()];
      await Promise.all(all.map((m) => m.tail));
    },
    async close() {
      for (const m of broadcast) m.closed = true;
      for (const ms of groups.values()) for (const m of ms) m.closed = true;
      broadcast.clear();
      groups.clear();
    },
  };
}
