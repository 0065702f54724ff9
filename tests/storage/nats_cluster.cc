// NatsCluster: nats-server processes by fork/exec, ports the kernel picks,
// readiness read from each node's monitoring port, stream leaders from
// JetStream itself (libnats).
#include "tests/storage/nats_cluster.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <nats/nats.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <sstream>
#include <thread>
#include <utility>

namespace streamrec::testing {
namespace {

using Clock = std::chrono::steady_clock;

// A 3-node cluster elects its meta leader in well under a second on
// loopback; a restarted node catches up with its streams in about as long.
// The margin is for loaded CI machines.
constexpr auto kReadyTimeout = std::chrono::seconds(30);
constexpr auto kStopTimeout = std::chrono::seconds(10);
constexpr auto kPollInterval = std::chrono::milliseconds(50);

std::string FindBinary() {
  if (const char* path = std::getenv("PATH")) {
    std::stringstream dirs(path);
    for (std::string dir; std::getline(dirs, dir, ':');) {
      if (dir.empty()) continue;
      const std::string candidate = dir + "/nats-server";
      if (access(candidate.c_str(), X_OK) == 0) return candidate;
    }
  }
  const char* debian = "/usr/sbin/nats-server";
  return access(debian, X_OK) == 0 ? debian : "";
}

sockaddr_in Loopback(int port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  return addr;
}

// `n` distinct ports the kernel hands out for 127.0.0.1:0: every socket stays
// bound until all are chosen. They are closed before nats-server binds them,
// a short window in which another process could take one; the node then
// fails to start and its log says "address already in use".
bool FreePorts(int n, std::vector<int>* ports, std::string* error) {
  std::vector<int> fds;
  bool ok = true;
  for (int k = 0; k < n && ok; ++k) {
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr = Loopback(0);
    socklen_t len = sizeof(addr);
    if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
        getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      *error = std::string("cannot pick a free port: ") + std::strerror(errno);
      ok = false;
    } else {
      ports->push_back(ntohs(addr.sin_port));
    }
    if (fd >= 0) fds.push_back(fd);
  }
  for (const int fd : fds) close(fd);
  return ok;
}

// GET http://127.0.0.1:port<target> as HTTP/1.0, so the server closes after
// its answer and the body is everything up to EOF. Returns the status code,
// 0 if nothing answered (not listening yet, or gone); the body in *body.
int HttpGet(int port, const std::string& target, std::string* body) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return 0;
  // A node stopped mid-answer must not hang the test.
  const timeval timeout{2, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
  const sockaddr_in addr = Loopback(port);
  std::string response;
  if (connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) == 0) {
    const std::string request = "GET " + target + " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
    if (send(fd, request.data(), request.size(), MSG_NOSIGNAL) ==
        static_cast<ssize_t>(request.size())) {
      char buf[4096];
      for (ssize_t got; (got = recv(fd, buf, sizeof(buf), 0)) > 0;) response.append(buf, got);
    }
  }
  close(fd);
  int status = 0;
  if (std::sscanf(response.c_str(), "HTTP/%*d.%*d %d", &status) != 1) return 0;
  const size_t header_end = response.find("\r\n\r\n");
  *body = header_end == std::string::npos ? "" : response.substr(header_end + 4);
  return status;
}

// The JSON object that follows "key": in `json`, whitespace removed
// (nats-server indents its answers); "" if absent. Counting braces is
// enough: the objects read here hold server names and numbers, no braces
// inside strings.
std::string ObjectAt(const std::string& json, const std::string& key) {
  std::string compact;
  for (const char c : json) {
    if (c != ' ' && c != '\n' && c != '\r' && c != '\t') compact += c;
  }
  const std::string start = "\"" + key + "\":{";
  const size_t at = compact.find(start);
  if (at == std::string::npos) return "";
  const size_t begin = at + start.size() - 1;
  int depth = 0;
  for (size_t k = begin; k < compact.size(); ++k) {
    if (compact[k] == '{') {
      ++depth;
    } else if (compact[k] == '}' && --depth == 0) {
      return compact.substr(begin, k - begin + 1);
    }
  }
  return "";
}

size_t CountOf(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

std::string DescribeExit(int wstatus) {
  if (WIFEXITED(wstatus)) return "exit status " + std::to_string(WEXITSTATUS(wstatus));
  if (WIFSIGNALED(wstatus)) return "signal " + std::to_string(WTERMSIG(wstatus));
  return "status " + std::to_string(wstatus);
}

// Waits for `pid` to exit, up to `timeout`; true once it is reaped.
bool Reap(pid_t pid, Clock::duration timeout) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    const pid_t got = waitpid(pid, nullptr, WNOHANG);
    if (got == pid || (got < 0 && errno == ECHILD)) return true;
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

void KillAndReap(pid_t pid) {
  kill(pid, SIGKILL);
  while (waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
  }
}

}  // namespace

bool NatsCluster::Available() { return !FindBinary().empty(); }

NatsCluster::NatsCluster(std::string dir, int nodes) : dir_(std::move(dir)), nodes_(nodes) {
  for (int i = 0; i < nodes; ++i) {
    // Not "n" + to_string(): GCC 12 warns about that (-Wrestrict, a false
    // positive, GCC bug 105329).
    std::string name = std::to_string(i + 1);
    name.insert(name.begin(), 'n');
    nodes_[i].name = std::move(name);
  }
}

NatsCluster::~NatsCluster() {
  for (int i = 0; i < size(); ++i) Kill(i);
}

bool NatsCluster::Start(std::string* error) {
  binary_ = FindBinary();
  if (binary_.empty()) {
    *error = "nats-server not found on PATH or at /usr/sbin/nats-server";
    return false;
  }
  std::vector<int> ports;
  if (!FreePorts(3 * size(), &ports, error)) return false;
  for (int i = 0; i < size(); ++i) {
    nodes_[i].client_port = ports[3 * i];
    nodes_[i].cluster_port = ports[3 * i + 1];
    nodes_[i].monitor_port = ports[3 * i + 2];
  }
  // All first, then wait: no node of a cluster is healthy before a quorum
  // of them runs.
  bool ok = true;
  for (int i = 0; i < size() && ok; ++i) ok = Spawn(i, error);
  const auto deadline = Clock::now() + kReadyTimeout;
  for (int i = 0; i < size() && ok; ++i) ok = WaitHealthy(i, deadline, error);
  while (ok && !MetaClusterFormed()) {
    if (Clock::now() >= deadline) {
      // For the message only: if n1 does not answer, it says so by "sees ".
      std::string jsz;
      HttpGet(nodes_[0].monitor_port, "/jsz", &jsz);
      *error = "the JetStream meta group did not take in every node within 30 s; n1 sees " +
               ObjectAt(jsz, "meta_cluster") + "\n" + LogTail(0);
      ok = false;
    }
    std::this_thread::sleep_for(kPollInterval);
  }
  if (!ok) {
    for (int i = 0; i < size(); ++i) Kill(i);
  }
  return ok;
}

std::string NatsCluster::urls() const {
  std::string out;
  for (int i = 0; i < size(); ++i) out += std::string(i > 0 ? "," : "") + url(i);
  return out;
}

std::string NatsCluster::url(int node) const {
  return "nats://127.0.0.1:" + std::to_string(nodes_.at(node).client_port);
}

void NatsCluster::Kill(int node) {
  Node& n = nodes_.at(node);
  if (n.pid < 0) return;
  KillAndReap(n.pid);
  n.pid = -1;
}

bool NatsCluster::Restart(int node, std::string* error) {
  if (nodes_.at(node).pid >= 0) {
    *error = nodes_[node].name + " is still running";
    return false;
  }
  if (!Spawn(node, error)) return false;
  if (!WaitHealthy(node, Clock::now() + kReadyTimeout, error)) {
    Kill(node);
    return false;
  }
  return true;
}

void NatsCluster::Stop() {
  for (const Node& n : nodes_) {
    if (n.pid >= 0) kill(n.pid, SIGTERM);
  }
  // nats-server flushes its stores and exits within milliseconds of
  // SIGTERM; the bound only keeps a wedged one from hanging the test.
  for (Node& n : nodes_) {
    if (n.pid < 0) continue;
    if (!Reap(n.pid, kStopTimeout)) {
      std::fprintf(stderr, "NatsCluster: %s ignored SIGTERM for 10 s; SIGKILL\n", n.name.c_str());
      KillAndReap(n.pid);
    }
    n.pid = -1;
  }
}

int NatsCluster::StreamLeader(const std::string& stream) const {
  std::string running;
  for (int i = 0; i < size(); ++i) {
    if (nodes_[i].pid >= 0) running += std::string(running.empty() ? "" : ",") + url(i);
  }
  if (running.empty()) return -1;
  natsConnection* nc = nullptr;
  jsCtx* js = nullptr;
  jsStreamInfo* info = nullptr;
  int leader = -1;
  jsOptions options;
  jsOptions_Init(&options);
  // Only the stream's leader answers stream info: during an election the
  // request times out, which is the "none" answer.
  options.Wait = 1000;
  if (natsConnection_ConnectTo(&nc, running.c_str()) == NATS_OK &&
      natsConnection_JetStream(&js, nc, &options) == NATS_OK &&
      js_GetStreamInfo(&info, js, stream.c_str(), nullptr, nullptr) == NATS_OK) {
    // A server outside any cluster sends no cluster info in the API's
    // stream info (its monitoring /jsz names it leader all the same): the
    // one node is the leader.
    const char* name = info->Cluster != nullptr ? info->Cluster->Leader : nullptr;
    if (info->Cluster == nullptr && size() == 1) leader = 0;
    for (int i = 0; i < size() && name != nullptr; ++i) {
      if (nodes_[i].name == name) leader = i;
    }
  }
  jsStreamInfo_Destroy(info);
  jsCtx_Destroy(js);
  natsConnection_Destroy(nc);
  return leader;
}

bool NatsCluster::Spawn(int i, std::string* error) {
  Node& n = nodes_[i];
  std::vector<std::string> args = {binary_, "--jetstream", "--store_dir", dir_ + "/" + n.name,
                                   "--server_name", n.name,
                                   // Also binds the monitoring port to loopback.
                                   "--addr", "127.0.0.1", "--port", std::to_string(n.client_port),
                                   "--http_port", std::to_string(n.monitor_port)};
  if (size() > 1) {
    std::string routes;
    for (int j = 0; j < size(); ++j) {
      if (j == i) continue;
      routes += (routes.empty() ? "" : ",") + std::string("nats://127.0.0.1:") +
                std::to_string(nodes_[j].cluster_port);
    }
    args.insert(args.end(),
                {"--cluster_name", "streamrec", "--cluster",
                 "nats://127.0.0.1:" + std::to_string(n.cluster_port), "--routes", routes});
  }
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);

  const int log_fd = open(LogPath(i).c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  const int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  const pid_t parent = getpid();
  const pid_t pid = log_fd >= 0 && null_fd >= 0 ? fork() : -1;
  if (pid == 0) {
    // The test process has threads (libnats'): only async-signal-safe calls
    // from here to exec. dup2 clears O_CLOEXEC on the copies.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);  // the parent died before prctl
    dup2(null_fd, STDIN_FILENO);
    dup2(log_fd, STDOUT_FILENO);
    dup2(log_fd, STDERR_FILENO);
    execv(argv[0], argv.data());
    _exit(127);
  }
  const int saved_errno = errno;
  if (log_fd >= 0) close(log_fd);
  if (null_fd >= 0) close(null_fd);
  if (pid < 0) {
    *error = "cannot start " + n.name + " (log " + LogPath(i) + "): " + std::strerror(saved_errno);
    return false;
  }
  n.pid = pid;
  return true;
}

bool NatsCluster::WaitHealthy(int i, Clock::time_point deadline, std::string* error) {
  Node& n = nodes_[i];
  for (;;) {
    std::string body;
    const int status = HttpGet(n.monitor_port, "/healthz", &body);
    if (status == 200) return true;
    int wstatus = 0;
    if (waitpid(n.pid, &wstatus, WNOHANG) == n.pid) {
      n.pid = -1;
      *error = n.name + " exited (" + DescribeExit(wstatus) + "); " + LogTail(i);
      return false;
    }
    if (Clock::now() >= deadline) {
      *error = n.name + " not healthy within 30 s (last /healthz: " + std::to_string(status) + " " +
               body + "); " + LogTail(i);
      return false;
    }
    std::this_thread::sleep_for(kPollInterval);
  }
}

bool NatsCluster::MetaClusterFormed() const {
  if (size() == 1) return true;
  std::string jsz;
  if (HttpGet(nodes_[0].monitor_port, "/jsz", &jsz) != 200) return false;
  const std::string seen_by_first = ObjectAt(jsz, "meta_cluster");
  for (int i = 0; i < size(); ++i) {
    if (seen_by_first.find("\"leader\":\"" + nodes_[i].name + "\"") == std::string::npos) continue;
    // Only the leader lists the other peers, each with "current".
    if (HttpGet(nodes_[i].monitor_port, "/jsz", &jsz) != 200) return false;
    return CountOf(ObjectAt(jsz, "meta_cluster"), "\"current\":true") >=
           static_cast<size_t>(size() - 1);
  }
  return false;
}

std::string NatsCluster::LogPath(int i) const { return dir_ + "/" + nodes_[i].name + ".log"; }

std::string NatsCluster::LogTail(int i) const {
  std::ifstream in(LogPath(i), std::ios::binary);
  std::string log((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  constexpr size_t kTail = 3000;
  if (log.size() > kTail) log = "..." + log.substr(log.size() - kTail);
  return "log " + LogPath(i) + ":\n" + log;
}

}  // namespace streamrec::testing
