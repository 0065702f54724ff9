// Maps a rocksdb::Status onto streamrec's Status, prefixing what was being
// done. Shared by the EventLog's translation units.
#pragma once

#include <fmt/format.h>
#include <rocksdb/status.h>

#include <string_view>

#include "engine/core/status.h"

namespace streamrec::storage {

inline Status FromRocks(const rocksdb::Status& s, std::string_view what) {
  if (s.ok()) return Status::OK();
  const std::string msg = fmt::format("{}: {}", what, s.ToString());
  if (s.IsCorruption()) return Status::Corruption(msg);
  if (s.IsNotFound()) return Status::NotFound(msg);
  if (s.IsInvalidArgument()) return Status::InvalidArgument(msg);
  if (s.IsNotSupported()) return Status::Unimplemented(msg);
  return Status::IOError(msg);
}

}  // namespace streamrec::storage
