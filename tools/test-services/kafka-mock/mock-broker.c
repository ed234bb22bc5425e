/*
 * A Kafka-protocol broker for tests: librdkafka's built-in mock cluster (no Apache Kafka needed).
 * Usage: mock-broker <brokers> [topic:partitions ...]
 * Creates the topics (the mock does not support CreateTopics), prints the bootstrap servers on stdout,
 * then serves until SIGTERM or SIGINT.
 */
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t running = 1;
static void stop(int signo) { (void)signo; running = 0; }

int main(int argc, char **argv) {
  char errstr[512];
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
  if (!rk) {
    fprintf(stderr, "rd_kafka_new: %s\n", errstr);
    return 1;
  }
  int brokers = argc > 1 ? atoi(argv[1]) : 1;
  rd_kafka_mock_cluster_t *cluster = rd_kafka_mock_cluster_new(rk, brokers > 0 ? brokers : 1);
  if (!cluster) {
    fprintf(stderr, "rd_kafka_mock_cluster_new failed\n");
    return 1;
  }
  for (int i = 2; i < argc; i++) {
    char *colon = strchr(argv[i], ':');
    int partitions = 1;
    if (colon) {
      *colon = '\0';
      partitions = atoi(colon + 1);
    }
    rd_kafka_resp_err_t err = rd_kafka_mock_topic_create(cluster, argv[i], partitions, 1);
    if (err) {
      fprintf(stderr, "topic %s: %s\n", argv[i], rd_kafka_err2str(err));
      return 1;
    }
  }
  signal(SIGTERM, stop);
  signal(SIGINT, stop);
  printf("%s\n", rd_kafka_mock_cluster_bootstraps(cluster));
  fflush(stdout);
  while (running) usleep(100000);
  rd_kafka_mock_cluster_destroy(cluster);
  rd_kafka_destroy(rk);
  return 0;
}
