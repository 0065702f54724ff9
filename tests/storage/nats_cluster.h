// A real NATS JetStream cluster for tests: `nodes` nats-server processes on
// free loopback ports, so replication, leader election and node loss are
// exercised against the server streamrec runs on, not a fake.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

namespace streamrec::testing {

// Starts `nodes` nats-server processes with JetStream (one cluster,
// "streamrec", when nodes > 1; node i is named "n<i+1>") under `dir`: node
// i stores its data in dir/n<i+1> and writes its log to dir/n<i+1>.log
// (appended across restarts, so a failing test can show what happened).
//
// Each node is started with PR_SET_PDEATHSIG: it is SIGKILLed when the
// thread that started it exits, so a crashed test leaves no server holding
// ports. Call Start and Restart from the thread that owns the object (the
// test's), not from a short-lived helper thread.
//
// Thread-safety: none; one test thread drives an instance.
class NatsCluster {
 public:
  // True if a nats-server binary exists: on PATH, or /usr/sbin/nats-server
  // (Debian's package installs it there, outside a normal user's PATH).
  static bool Available();

  // Does not start anything; `dir` must exist.
  explicit NatsCluster(std::string dir, int nodes = 3);
  // SIGKILLs whatever still runs and reaps it.
  ~NatsCluster();
  NatsCluster(const NatsCluster&) = delete;
  NatsCluster& operator=(const NatsCluster&) = delete;

  // Picks the ports, starts every node, and waits (<= 30 s) until JetStream
  // is usable: every node's monitoring /healthz answers 200 (in 2.9 that
  // needs contact with a meta leader) and the meta leader sees every other
  // node as current, so an R3 stream can be placed at once. On failure kills
  // what it started and says why in *error (with the tail of the log of the
  // node that failed). Call once.
  [[nodiscard]] bool Start(std::string* error);

  // "nats://127.0.0.1:P1,nats://127.0.0.1:P2,...", every node, in order.
  std::string urls() const;
  std::string url(int node) const;
  int size() const { return static_cast<int>(nodes_.size()); }

  // SIGKILL, as a crash or a lost machine; returns once it has exited.
  void Kill(int node);
  // Starts a stopped or killed node again with the same ports and store dir;
  // waits (<= 30 s) until its /healthz answers 200, which in a cluster also
  // means it has caught up with the streams it holds.
  [[nodiscard]] bool Restart(int node, std::string* error);
  // SIGTERM to every running node, then waits for each (SIGKILL after 10 s).
  void Stop();

  // Index of the node leading `stream` (from JetStream's stream info, whose
  // cluster leader is a server name "nN"), -1 if it has none right now (an
  // election in progress) or no node answers.
  int StreamLeader(const std::string& stream) const;

  // Node i's log file (nats-server -l): a failing test quotes it.
  std::string LogPath(int i) const;

 private:
  struct Node {
    std::string name;  // "n1", ...: --server_name
    int client_port = 0;
    int cluster_port = 0;
    int monitor_port = 0;
    pid_t pid = -1;  // -1: not running
  };

  // Forks and execs node i; does not wait for it.
  bool Spawn(int i, std::string* error);
  // Polls node i's /healthz until it answers 200 or `deadline` passes; fails
  // early if the process exits.
  bool WaitHealthy(int i, std::chrono::steady_clock::time_point deadline, std::string* error);
  // The meta leader's /jsz lists every other node as a current peer.
  bool MetaClusterFormed() const;
  std::string LogTail(int i) const;

  std::string dir_;
  std::string binary_;
  std::vector<Node> nodes_;
};

}  // namespace streamrec::testing
