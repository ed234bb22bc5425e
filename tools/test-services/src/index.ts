export { freePort, waitFor } from './ports.js';
export { which, requireBinary, isRoot } from './system.js';
export { startRedis, redisCommand, type RedisServer } from './redis.js';
export { startPostgres, type PostgresServer } from './postgres.js';
export { startRedisCluster, type RedisCluster } from './redis-cluster.js';
export { startKafkaMock, type KafkaMock } from './kafka-mock.js';
export { cpuMsOf, postgresCpuMeter } from './proc-cpu.js';
