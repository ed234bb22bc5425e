import { PartitionAssigners, type PartitionAssigner } from 'kafkajs';

/**
 * kafkajs' round robin, with the leader's assignment held back 300 ms. For the librdkafka mock only, not for Kafka.
 *
 * The mock ends a group's sync the moment the leader's SyncGroup arrives (it carries every member's assignment) and
 * answers INVALID_REQUEST to a follower's SyncGroup that comes after it (SyncGroup in state Up); a real broker hands
 * a late follower its assignment. A follower syncs as soon as its JoinGroup is answered, while the leader first
 * fetches metadata, so the leader usually comes second. With three CPU spinners on the two cores, 9 of 25
 * second-member joins lost that race (2026-11-27): the follower's consumer crashed and a new one joined 10 s later;
 * one join lost it twice and took 30.0 s, and in CI one exceeded the 30 s join timeout. Holding the leader back lets
 * the followers, answered in the same instant, sync first: 0 of 40 joins crashed under the same load (9.3–9.5 s).
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
