// The database at a directory opened straight through RocksDB, past
// EventLog (which must be closed), for tests that write what a crash, an
// older version or damage leaves there, or look at how things are stored.
#pragma once

#include <gtest/gtest.h>
#include <rocksdb/db.h>

#include <functional>
#include <map>
#include <string>
#include <vector>

namespace streamrec::storage::testing {

using RawFamilies = std::map<std::string, rocksdb::ColumnFamilyHandle*>;

// Runs fn on the database at `dir` with every column family, by name.
// Call under ASSERT_NO_FATAL_FAILURE: an open that fails is a fatal failure.
inline void WithRawDb(const std::string& dir,
                      const std::function<void(rocksdb::DB*, RawFamilies&)>& fn,
                      bool read_only = false) {
  std::vector<std::string> names;
  ASSERT_TRUE(rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), dir, &names).ok());
  std::vector<rocksdb::ColumnFamilyDescriptor> cfs;
  for (const auto& n : names) cfs.emplace_back(n, rocksdb::ColumnFamilyOptions());
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* db = nullptr;
  const rocksdb::Status s =
      read_only ? rocksdb::DB::OpenForReadOnly(rocksdb::DBOptions(), dir, cfs, &handles, &db)
                : rocksdb::DB::Open(rocksdb::DBOptions(), dir, cfs, &handles, &db);
  ASSERT_TRUE(s.ok()) << s.ToString();
  RawFamilies by_name;
  for (auto* h : handles) by_name[h->GetName()] = h;
  fn(db, by_name);
  for (auto* h : handles) EXPECT_TRUE(db->DestroyColumnFamilyHandle(h).ok());
  delete db;
}

}  // namespace streamrec::storage::testing
