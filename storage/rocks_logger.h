// RocksInfoLog: RocksDB's informational log (the LOG file in the database
// directory) written through stdio, so that a failed write of it is only a
// dropped line. RocksDB's own file logger asserts on the write after a
// failed one ("Assertion `sync_without_flush_called_'" in
// WritableFileWriter, librocksdb 7.8.3 built with assertions): on a full
// disk the LOG line RocksDB writes about the error aborted the process.
//
// Thread-safety: Logv may be called from any thread (RocksDB's background
// threads); lines are written whole under a mutex.
#pragma once

#include <rocksdb/env.h>

#include <cstdio>
#include <memory>
#include <string>

#include "engine/core/mutex.h"

namespace streamrec::storage {

class RocksInfoLog : public rocksdb::Logger {
 public:
  // Opens `path` for appending, after renaming an existing file to
  // `path`.old (replacing an older one): the LOG of the previous run is
  // kept, the ones before are not. A file that cannot be opened makes a
  // logger that drops every line.
  static std::shared_ptr<RocksInfoLog> Open(const std::string& path);
  // A logger that writes nothing (for reads that must leave a directory
  // as it was).
  static std::shared_ptr<RocksInfoLog> Discarding();
  ~RocksInfoLog() override;

  using rocksdb::Logger::Logv;
  void Logv(const char* format, va_list ap) override;
  // Lines lost to write errors (a full disk) since Open.
  uint64_t dropped() const;

 private:
  explicit RocksInfoLog(std::FILE* f);
  rocksdb::Status CloseImpl() override;

  mutable Mutex mu_;
  std::FILE* file_ GUARDED_BY(mu_);  // null once closed or never opened
  uint64_t dropped_ GUARDED_BY(mu_);
};

}  // namespace streamrec::storage
