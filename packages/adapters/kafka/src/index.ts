/**
 * @outbid/kafka: the Outbid event bus on Kafka (kafkajs). Events are keyed by auction id, so each auction's
 * events stay in order within a partition.
 * @packageDocumentation
 */
import { randomUUID } from 'node:crypto';
import { BUS_SPECIFICATION_VERSION, auctionEventSchema, type EventBus, type EventHandler, type SubscribeOptions, type Subscription } from '@outbid/core';
import { Kafka, logLevel, type Consumer, type EachMessageHandler, type KafkaConfig, type PartitionAssigner, type Producer } from 'kafkajs';

export interface KafkaBusOptions {
  brokers: string[];
  /** Default `outbid.auction-events`. Create it with as many partitions as you want parallel consumers. */
  topic?: string;
  clientId?: string;
  /** Extra kafkajs client settings (ssl, sasl, …). */
  kafka?: Omit<KafkaConfig, 'brokers' | 'clientId'>;
  /**
   * Called for a message that is not a valid event (skipped), for handler failures (retried) and for a consumer
   * crash kafkajs does not recover from (the subscription starts a new consumer; partition -1, offset '').
   */
  onError?: (error: unknown, context: { topic: string; partition: number; offset: string }) => void;
  /** How long `subscribe` waits for its consumer to join and be assigned partitions. Default 30 s. */
  joinTimeoutMs?: number;
  /**
   * Consumer settings (see the README for why each default). Group timings: a coordinator holds a rebalance open
   * up to the rebalance timeout, so shorter values make joins (and recovery from a dead member) faster.
   * Defaults: session 10 s, rebalance 3 s, heartbeat 1 s. Fetching: `maxWaitTimeInMs` (default 100) is how long the
   * broker may hold a fetch when fewer than `minBytes` (default 1) are available — with minBytes 1 a real broker
   * answers as soon as one message arrives, but a broker that does not wake fetches early (the librdkafka mock)
   * holds every fetch the whole wait, so this bounds delivery latency; kafkajs' default of 5,000 ms delayed
   * bids by seconds. `partitionAssigners` (default kafkajs' round robin) chooses how a group's leader spreads the
   * partitions over its members.
   */
  consumer?: {
    sessionTimeout?: number;
    rebalanceTimeout?: number;
    heartbeatInterval?: number;
    maxWaitTimeInMs?: number;
    minBytes?: number;
    partitionAssigners?: PartitionAssigner[];
  };
}

/** A subscription's current consumer (replaced after a crash kafkajs does not recover from) and its group. */
type ConsumerEntry = { consumer: Consumer | null; groupId: string };

export interface KafkaBus extends EventBus {
  /** Messages not yet consumed by this process's subscriptions (sum over their partitions). */
  lag(): Promise<number>;
}

/**
 * `publish` sends events keyed by auction id (per-auction order within a partition; acks from all in-sync
 * replicas). `subscribe` without a group creates a consumer group of its own (fanout: each server instance sees
 * every event, from the moment it joined); with a group, members share the partitions (the reconciler case).
 * Offsets are committed after the handler resolves: at least once, so handlers de-duplicate by version.
 */
export async function createKafkaBus(options: KafkaBusOptions): Promise<KafkaBus> {
  const topic = options.topic ?? 'outbid.auction-events';
  const kafka = new Kafka({ clientId: options.clientId ?? 'outbid', brokers: options.brokers, logLevel: logLevel.NOTHING, ...options.kafka });
  const producer: Producer = kafka.producer({ maxInFlightRequests: 1, allowAutoTopicCreation: false });
  await producer.connect();
  const consumers = new Set<ConsumerEntry>();
  const admin = kafka.admin();
  await admin.connect();
  const report = options.onError ?? (() => {});

  return {
    specificationVersion: BUS_SPECIFICATION_VERSION,
    name: 'kafka',
    async publish(events) {
      if (events.length === 0) return;
      await producer.send({ topic, acks: -1, messages: events.map((e) => ({ key: e.auctionId, value: JSON.stringify(e) })) });
    },
    async subscribe(handler: EventHandler, subscribeOptions: SubscribeOptions = {}): Promise<Subscription> {
      const groupId = subscribeOptions.group ?? `outbid-fanout-${randomUUID()}`;
      const joinTimeoutMs = options.joinTimeoutMs ?? 30_000;
      let closed = false;
      let restartTimer: ReturnType<typeof setTimeout> | undefined;
      let markJoined!: () => void;
      const joined = new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`consumer group ${groupId} did not join within ${joinTimeoutMs} ms`)), joinTimeoutMs);
        markJoined = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      const entry: ConsumerEntry = { consumer: null, groupId };
      consumers.add(entry);

      const eachMessage: EachMessageHandler = async ({ partition, message }) => {
        const context = { topic, partition, offset: message.offset };
        let parsed;
        try {
          parsed = auctionEventSchema.safeParse(JSON.parse(message.value?.toString('utf8') ?? ''));
        } catch (error) {
          report(error, context);
          return; // not JSON: skipped, never retried forever
        }
        if (!parsed.success) {
          report(new Error(`not an auction event: ${parsed.error.issues[0]?.message ?? 'invalid'}`), context);
          return;
        }
        try {
          await handler(parsed.data);
        } catch (error) {
          report(error, context);
          throw error; // kafkajs retries from this offset: nothing is skipped silently
        }
      };

      /**
       * One consumer incarnation. kafkajs restarts a consumer after retriable errors only; after any other crash
       * (seen: the broker refusing a SyncGroup while two members join at once) it stays stopped and the
       * subscription would go silent. So such a crash starts a new consumer in the same group, which resumes
       * from the committed offsets.
       */
      const start = async (attempt: number): Promise<void> => {
        const consumer = kafka.consumer({
          groupId,
          allowAutoTopicCreation: false,
          retry: { retries: 10 },
          sessionTimeout: options.consumer?.sessionTimeout ?? 10_000,
          rebalanceTimeout: options.consumer?.rebalanceTimeout ?? 3_000,
          heartbeatInterval: options.consumer?.heartbeatInterval ?? 1_000,
          // Live delivery: answer a fetch as soon as one byte is there, and never hold one longer than 100 ms.
          minBytes: options.consumer?.minBytes ?? 1,
          maxWaitTimeInMs: options.consumer?.maxWaitTimeInMs ?? 100,
          partitionAssigners: options.consumer?.partitionAssigners, // undefined: kafkajs' round robin
        });
        entry.consumer = consumer;
        const restart = (error: unknown) => {
          report(error, { topic, partition: -1, offset: '' });
          if (closed) return;
          const delay = Math.min(1_000 * 2 ** attempt, 30_000);
          restartTimer = setTimeout(() => void start(attempt + 1).catch(restart), delay);
          restartTimer.unref?.();
        };
        consumer.on(consumer.events.GROUP_JOIN, () => {
          attempt = 0;
          markJoined();
        });
        consumer.on(consumer.events.CRASH, ({ payload }) => {
          if (!payload.restart && entry.consumer === consumer) restart(payload.error);
        });
        await consumer.connect();
        await consumer.subscribe({ topic, fromBeginning: subscribeOptions.group !== undefined });
        // All partitions of a batch in parallel (per-partition order is kept): one slow partition does not hold the others.
        await consumer.run({ eachMessage, partitionsConsumedConcurrently: 4 });
      };

      const close = async () => {
        closed = true;
        clearTimeout(restartTimer);
        consumers.delete(entry);
        await entry.consumer?.disconnect();
      };
      await start(0);
      await joined.catch(async (error: unknown) => {
        await close().catch(() => undefined);
        throw error;
      });
      return { close };
    },
    async lag() {
      let total = 0;
      const latest = await admin.fetchTopicOffsets(topic);
      for (const { groupId } of consumers) {
        const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
        for (const p of latest) {
          const done = committed?.partitions.find((c) => c.partition === p.partition);
          const at = done && Number(done.offset) >= 0 ? Number(done.offset) : Number(p.offset);
          total += Math.max(0, Number(p.offset) - at);
        }
      }
      return total;
    },
    async close() {
      await Promise.allSettled([...consumers].map(({ consumer }) => consumer?.disconnect()));
      consumers.clear();
      await Promise.allSettled([producer.disconnect(), admin.disconnect()]);
    },
  };
}
