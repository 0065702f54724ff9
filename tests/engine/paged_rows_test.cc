#include "engine/core/paged_rows.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "engine/core/random.h"

namespace streamrec::engine {
namespace {

using Rows = PagedRows<uint32_t>;

std::vector<uint32_t> RowOf(const Rows& rows, size_t r) {
  const auto span = rows.Row(r);
  return {span.begin(), span.end()};
}

void ExpectSame(const Rows& rows, const std::vector<std::vector<uint32_t>>& want) {
  ASSERT_EQ(rows.size(), want.size());
  for (size_t r = 0; r < want.size(); ++r) EXPECT_EQ(RowOf(rows, r), want[r]) << "row " << r;
}

TEST(PagedRowsTest, AppendsKeepEachRowInOrderBesideItsPageNeighbours) {
  Rows rows;
  EXPECT_EQ(rows.size(), 0u);
  rows.Resize(3);
  rows.Append(2, 20);
  rows.Append(0, 1);
  rows.Append(2, 21);
  rows.Append(0, 2);
  rows.Resize(2);  // never fewer
  EXPECT_EQ(rows.size(), 3u);
  rows.Resize(40);  // a third page; rows 3 .. 39 empty
  rows.Append(17, 170);
  rows.Append(39, 390);
  ExpectSame(rows, [] {
    std::vector<std::vector<uint32_t>> want(40);
    want[0] = {1, 2};
    want[2] = {20, 21};
    want[17] = {170};
    want[39] = {390};
    return want;
  }());
  rows.MutableRow(2)[1] = 22;  // in place
  EXPECT_EQ(RowOf(rows, 2), (std::vector<uint32_t>{20, 22}));
  EXPECT_EQ(RowOf(rows, 0), (std::vector<uint32_t>{1, 2}));
}

TEST(PagedRowsTest, MatchesAVectorPerRowUnderRandomAppendsClearsAndCompacts) {
  SplitMix64 rng(11);
  Rows rows;
  std::vector<std::vector<uint32_t>> want;
  for (int step = 0; step < 20000; ++step) {
    const auto r = static_cast<size_t>(rng.Next() % 100);
    const uint64_t what = rng.Next() % 100;
    if (r >= want.size()) want.resize(r + 1);
    rows.Resize(r + 1);
    if (what == 0) {
      rows.ClearRow(r);
      want[r].clear();
    } else if (what == 1) {
      rows.Compact();
    } else {
      const auto value = static_cast<uint32_t>(rng.Next());
      rows.Append(r, value);
      want[r].push_back(value);
    }
  }
  ExpectSame(rows, want);
  const size_t before = rows.MemoryBytes();
  rows.Compact();
  ExpectSame(rows, want);
  EXPECT_LE(rows.MemoryBytes(), before);
  size_t elements = 0;
  for (const auto& row : want) elements += row.size();
  // Tight after Compact: the elements, and a header per page of 16 rows.
  EXPECT_EQ(rows.MemoryBytes(),
            elements * sizeof(uint32_t) +
                (want.size() + Rows::kPageRows - 1) / Rows::kPageRows *
                    (sizeof(std::vector<uint32_t>) + Rows::kPageRows * sizeof(uint32_t)));
}

TEST(PagedRowsTest, AssignEmptiesAndReservedPagesFillInOrder) {
  Rows rows;
  rows.Resize(5);
  rows.Append(4, 7);
  rows.Assign(20);
  EXPECT_EQ(rows.size(), 20u);
  for (size_t r = 0; r < 20; ++r) EXPECT_TRUE(rows.Row(r).empty());
  rows.ReservePage(0, 3);
  rows.Append(0, 1);
  rows.Append(1, 2);
  rows.Append(15, 3);
  EXPECT_EQ(RowOf(rows, 15), std::vector<uint32_t>{3});
  EXPECT_EQ(RowOf(rows, 1), std::vector<uint32_t>{2});
  rows.ClearRow(1);
  rows.ClearRow(3);  // already empty
  EXPECT_TRUE(rows.Row(1).empty());
  EXPECT_EQ(RowOf(rows, 0), std::vector<uint32_t>{1});
  EXPECT_EQ(RowOf(rows, 15), std::vector<uint32_t>{3});
}

}  // namespace
}  // namespace streamrec::engine
