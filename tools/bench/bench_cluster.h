// `streamrec bench cluster`: streamrec as a cluster, measured from outside
// over HTTP against running replicas (tools/cluster.sh up starts some):
// durable ingest through the stream, how long a write acknowledged by one
// replica takes to be visible on another (read with min_seq), and how fast
// a new replica catches up with the stream.
//
// Thread-safety: runs its own threads; call from one.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tools/bench/bench_http.h"

namespace streamrec::tools {

struct ClusterBenchOptions {
  // "host:port" of two or more replicas of one cluster: the first takes the
  // writes, the second is read.
  std::vector<std::string> replicas;
  // Users and items of the written events, and the API key (read+write).
  HttpBenchOptions http;
  std::vector<size_t> batches = {1, 1000};
  int connections = 4;
  double seconds = 3;
  uint64_t lag_events = 300;  // writes whose visibility on the second replica is timed
  // NATS URLs of the cluster: if set, a new replica (this binary's `serve`
  // on an empty data dir under `dir`, [cluster] nats = these, the rest of
  // `config` if given) is started and timed until it has applied the stream.
  std::string nats;
  std::string config;
  // If set: DELETE this user on the first replica after the ingest (timed:
  // the forget, the image upload and the stream trim), before the catch-up,
  // which then starts from the image.
  std::string delete_user;
  std::string dir = "/tmp";
};

// Prints one table per measure; returns the exit code.
int BenchCluster(const ClusterBenchOptions& options);

}  // namespace streamrec::tools
