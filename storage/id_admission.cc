#include "storage/id_admission.h"

#include <fmt/format.h>

#include <algorithm>
#include <string_view>

namespace streamrec::storage {

IdAdmission::IdAdmission(IdLimits limits, Clock::time_point now)
    : limits_(limits),
      tokens_(static_cast<double>(limits.max_new_ids_per_second)),
      refilled_(now) {}

void IdAdmission::Refill(Clock::time_point now) {
  if (limits_.max_new_ids_per_second == 0 || now <= refilled_) return;
  const double rate = static_cast<double>(limits_.max_new_ids_per_second);
  const double elapsed = std::chrono::duration<double>(now - refilled_).count();
  tokens_ = std::min(rate, tokens_ + elapsed * rate);
  refilled_ = now;
}

Status IdAdmission::Admit(const std::vector<StoredEvent>& batch,
                          const engine::Recommender& published, Clock::time_point now,
                          Ticket* ticket) {
  ticket->users.clear();
  ticket->items.clear();
  if (!limits_.any()) return Status::OK();
  // The batch's distinct ids that neither the model nor an earlier batch
  // on its way there has.
  std::unordered_set<std::string_view> seen_users, seen_items;
  seen_users.reserve(batch.size());
  seen_items.reserve(batch.size());
  const engine::IdMap& users = published.users();
  const engine::IdMap& items = published.items();
  constexpr size_t kStages = engine::IdMap::kPrefetchStages;
  for (size_t n = 0; n < batch.size(); ++n) {
    // The lookups are mostly cache misses, one chain per id: the events
    // ahead are hinted a link further each (IdMap::Prefetch).
    for (size_t s = kStages; s-- > 0;) {
      if (n + 1 + s < batch.size()) {
        users.Prefetch(batch[n + 1 + s].user, static_cast<int>(s));
        items.Prefetch(batch[n + 1 + s].item, static_cast<int>(s));
      }
    }
    const StoredEvent& e = batch[n];
    if (seen_users.insert(e.user).second && !users.Find(e.user) &&
        !pending_users_.contains(e.user)) {
      ticket->users.push_back(e.user);
    }
    if (seen_items.insert(e.item).second && !items.Find(e.item) &&
        !pending_items_.contains(e.item)) {
      ticket->items.push_back(e.item);
    }
  }
  const uint64_t new_users = ticket->users.size(), new_items = ticket->items.size();
  const uint64_t new_ids = new_users + new_items;
  auto refuse = [&](Status s) {
    ticket->users.clear();
    ticket->items.clear();
    return s;
  };
  if (new_ids == 0) return Status::OK();
  if (limits_.max_new_ids_per_request && new_ids > limits_.max_new_ids_per_request) {
    return refuse(Status::InvalidArgument(
        fmt::format("the batch brings {} new ids ({} users, {} items); at most {} per request "
                    "([limits] max_new_ids_per_request): send it in smaller batches",
                    new_ids, new_users, new_items, limits_.max_new_ids_per_request)));
  }
  const uint64_t users_now = published.users().live() + pending_users_.size();
  if (limits_.max_users && new_users > 0 && users_now + new_users > limits_.max_users) {
    return refuse(Status::CapacityExceeded(
        fmt::format("the server holds {} users and the batch brings {} new ones; at most {} "
                    "([limits] max_users): forget users or raise the limit",
                    users_now, new_users, limits_.max_users)));
  }
  const uint64_t items_now = published.items().live() + pending_items_.size();
  if (limits_.max_items && new_items > 0 && items_now + new_items > limits_.max_items) {
    return refuse(Status::CapacityExceeded(
        fmt::format("the server holds {} items and the batch brings {} new ones; at most {} "
                    "([limits] max_items): raise the limit",
                    items_now, new_items, limits_.max_items)));
  }
  if (limits_.max_new_ids_per_second) {
    Refill(now);
    if (static_cast<double>(new_ids) > tokens_) {
      // Within max_new_ids_per_request <= a full bucket, so one second
      // from now it fits (unless others take the tokens first).
      return refuse(Status::ResourceExhausted(
          fmt::format("too many new user and item ids: the batch brings {}, at most {} per second "
                      "([limits] max_new_ids_per_second); retry shortly",
                      new_ids, limits_.max_new_ids_per_second)));
    }
    tokens_ -= static_cast<double>(new_ids);
  }
  for (const std::string& u : ticket->users) pending_users_.insert(u);
  for (const std::string& i : ticket->items) pending_items_.insert(i);
  return Status::OK();
}

void IdAdmission::Commit(Ticket ticket, uint64_t last_seq) {
  if (ticket.users.empty() && ticket.items.empty()) return;
  held_.push_back(Held{last_seq, std::move(ticket)});
}

void IdAdmission::Rollback(const Ticket& ticket) {
  for (const std::string& u : ticket.users) pending_users_.erase(u);
  for (const std::string& i : ticket.items) pending_items_.erase(i);
  if (limits_.max_new_ids_per_second) {
    tokens_ = std::min(static_cast<double>(limits_.max_new_ids_per_second),
                       tokens_ + static_cast<double>(ticket.users.size() + ticket.items.size()));
  }
}

void IdAdmission::Prune(uint64_t applied_seq) {
  // Tickets are committed in log order, so the applied ones are a prefix.
  while (!held_.empty() && held_.front().seq <= applied_seq) {
    for (const std::string& u : held_.front().ticket.users) pending_users_.erase(u);
    for (const std::string& i : held_.front().ticket.items) pending_items_.erase(i);
    held_.pop_front();
  }
}

}  // namespace streamrec::storage
