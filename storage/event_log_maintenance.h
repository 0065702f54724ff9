// EventLog's maintenance state, shared by event_log.cc (Open) and
// event_log_maintenance.cc: the store's health as RocksDB reports it
// (through HealthListener) and the purges waiting to run. Not part of the
// storage API.
#pragma once

#include <rocksdb/listener.h>

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <thread>

#include "engine/core/mutex.h"
#include "storage/event_log.h"

namespace streamrec::storage {

// Shared by the EventLog and its listener (which RocksDB may call until
// the database is closed).
struct HealthState {
  Mutex mu;
  CondVar cv;  // wakes the maintenance thread
  StoreHealth health GUARDED_BY(mu);
  bool stopping GUARDED_BY(mu) = false;
  std::optional<std::chrono::steady_clock::time_point> purge_due GUARDED_BY(mu);
  // Per column family, the range to compact at the next purge.
  std::map<rocksdb::ColumnFamilyHandle*, KeyRange> ranges GUARDED_BY(mu);
};

// Marks the log read-only when RocksDB stops writes and clears it when they
// resume; turns RocksDB's automatic recovery off (the maintenance thread
// calls DB::Resume instead). Thread-safety: called by RocksDB threads.
class HealthListener : public rocksdb::EventListener {
 public:
  explicit HealthListener(std::shared_ptr<HealthState> state) : state_(std::move(state)) {}
  void OnBackgroundError(rocksdb::BackgroundErrorReason reason, rocksdb::Status* bg_error) override;
  void OnErrorRecoveryBegin(rocksdb::BackgroundErrorReason reason, rocksdb::Status bg_error,
                            bool* auto_recovery) override;
  void OnErrorRecoveryEnd(const rocksdb::BackgroundErrorRecoveryInfo& info) override;

 private:
  std::shared_ptr<HealthState> state_;
};

struct EventLog::Maintenance {
  std::shared_ptr<HealthState> state = std::make_shared<HealthState>();
  std::thread thread;
};

}  // namespace streamrec::storage
