// IdAdmission: the caps on new user and item ids (LiveStoreOptions::ids).
// Every new id costs memory for good (a row of factors in both engine
// copies, its name, its history), so a client inventing ids — by bug or on
// purpose — could grow the server until it falls over. The caps:
//   max_users, max_items        totals; beyond them a batch is refused with
//                               CapacityExceeded (HTTP 507) until users are
//                               forgotten or the limit is raised
//   max_new_ids_per_request     one batch (InvalidArgument, HTTP 400)
//   max_new_ids_per_second      a token bucket holding one second's worth;
//                               beyond it ResourceExhausted (HTTP 429): a
//                               batch within the per-request cap always fits
//                               a full bucket, so "retry in 1 s" is true
// A batch is admitted or refused whole (a batch is atomic in the log).
//
// "New" means not in the model readers see and not admitted earlier but
// still on its way there, so the count is exact even while thousands of
// events are queued: the log thread admits batches one at a time, in log
// order, and remembers the ids it let in until the model has applied them.
//
// Thread-safety: none. Only the log thread uses it.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <string>
#include <unordered_set>
#include <vector>

#include "engine/core/status.h"
#include "engine/live/recommender.h"
#include "storage/event_log.h"

namespace streamrec::storage {

struct IdLimits {
  uint64_t max_users = 0;  // 0: no cap (each of the four)
  uint64_t max_items = 0;
  uint64_t max_new_ids_per_request = 0;
  uint64_t max_new_ids_per_second = 0;

  bool any() const {
    return max_users || max_items || max_new_ids_per_request || max_new_ids_per_second;
  }
};

class IdAdmission {
 public:
  using Clock = std::chrono::steady_clock;
  // A batch's new ids, from Admit to Commit or Rollback.
  struct Ticket {
    std::vector<std::string> users, items;
  };

  explicit IdAdmission(IdLimits limits, Clock::time_point now = Clock::now());

  // Whether `batch` may bring in its new ids, given the model readers see
  // (`published`, with every event up to `applied_seq` in it). On OK the
  // ids are held as admitted (in *ticket) until Commit or Rollback; on
  // refusal nothing changes. Call Prune first.
  Status Admit(const std::vector<NewEvent>& batch, const engine::Recommender& published,
               Clock::time_point now, Ticket* ticket);
  // The batch is in the log; its newest event has seq `last_seq`: its ids
  // are held until Prune sees the model past it.
  void Commit(Ticket ticket, uint64_t last_seq);
  // The batch was not stored: its ids and tokens are given back.
  void Rollback(const Ticket& ticket);
  // Forgets admitted ids the model has applied (seq <= applied_seq): they
  // are in `published` now.
  void Prune(uint64_t applied_seq);

  const IdLimits& limits() const { return limits_; }
  size_t pending_users() const { return pending_users_.size(); }
  size_t pending_items() const { return pending_items_.size(); }

 private:
  struct Held {
    uint64_t seq;
    Ticket ticket;
  };
  void Refill(Clock::time_point now);

  IdLimits limits_;
  std::unordered_set<std::string> pending_users_, pending_items_;
  std::deque<Held> held_;  // committed tickets, in seq order
  double tokens_ = 0;      // max_new_ids_per_second's bucket
  Clock::time_point refilled_;
};

}  // namespace streamrec::storage
