import { PartitionAssigners, type PartitionAssigner } from 'kafkajs';

/**
 * kafkajs' round robin, with the leader's assignment held back 300 ms. For the librdkafka mock only, not for Kafka.
 *
 * The mock ends a group's sync the moment the leader's SyncGroup arrives (it carries every member's assignment) and
 * answers INVALID_REQUEST to a follower's SyncGroup that comes after it (SyncGroup in state Up); a real broker hands
 * a late follower its assignment. A follower syncs as soon as its JoinGroup is answered, while the leader first
 * fetches metadata, so the leader usually comes second; on a loaded machine it sometimes comes first. Then the
 * follower's consumer crashes and a new one joins 10 s later; losing twice takes 30 s, the join timeout CI once hit.
 * Holding the leader back lets the followers, answered in the same instant, sync first. `pnpm bench kafka-join`
 * measures both: 6 of 40 joins crashed without the hold, 0 of 40 with it (BENCHMARKS.md, "Consumer group joins").
 */
export const followersSyncFirst: PartitionAssigner = (config) => {
  const roundRobin = PartitionAssigners.roundRobin(config);
  return {
    ...roundRobin,
    async assign(group) {
      await new Promise((resolve) => setTimeout(resolve, 300));
      return roundRobin.assign(group);
    },
  };
};
