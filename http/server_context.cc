// ServerContext (http/session.h): the registry of a Server's sessions, the
// per-address connection counts and the budget of bodies in flight.
#include "http/session.h"

#include <memory>
#include <string>
#include <vector>

namespace streamrec::http {

bool ServerContext::Register(uint64_t id, const std::shared_ptr<Session>& session) {
  MutexLock lock(&mu);
  if (shutting_down.load(std::memory_order_relaxed)) return false;
  sessions.emplace(id, session);
  return true;
}

void ServerContext::Unregister(uint64_t id) {
  MutexLock lock(&mu);
  sessions.erase(id);
}

bool ServerContext::AcquireAddress(const std::string& address) {
  MutexLock lock(&mu);
  auto [it, inserted] = per_address.try_emplace(address, 0);
  if (it->second >= options.max_connections_per_address) return false;
  ++it->second;
  return true;
}

void ServerContext::ReleaseAddress(const std::string& address) {
  MutexLock lock(&mu);
  const auto it = per_address.find(address);
  if (it == per_address.end()) return;
  if (--it->second == 0) per_address.erase(it);
}

bool ServerContext::ReserveBody(size_t bytes) {
  size_t current = body_bytes_in_flight.load(std::memory_order_relaxed);
  do {
    // A body larger than the whole budget still gets in alone.
    if (current != 0 && (current > options.max_body_bytes_in_flight ||
                         bytes > options.max_body_bytes_in_flight - current)) {
      return false;
    }
  } while (!body_bytes_in_flight.compare_exchange_weak(current, current + bytes,
                                                       std::memory_order_relaxed));
  return true;
}

void ServerContext::ReleaseBody(size_t bytes) {
  body_bytes_in_flight.fetch_sub(bytes, std::memory_order_relaxed);
}

std::vector<std::shared_ptr<Session>> ServerContext::BeginShutdown() {
  std::vector<std::shared_ptr<Session>> open;
  MutexLock lock(&mu);
  if (shutting_down.exchange(true)) return open;
  open.reserve(sessions.size());
  for (auto& [id, weak] : sessions) {
    // A session may be mid-destruction (waiting on `mu` to unregister);
    // lock() then fails and it needs no shutdown.
    if (auto s = weak.lock()) open.push_back(std::move(s));
  }
  // The caller drops `open` after releasing `mu`: the last reference to a
  // session may go with it, and ~Session takes `mu`.
  return open;
}

}  // namespace streamrec::http
