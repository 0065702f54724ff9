#include "engine/core/catalog.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "engine/live/recommender.h"
#include "engine/live/snapshot.h"
#include "tests/engine/recommender_fixture.h"

namespace streamrec::engine {
namespace {

std::vector<std::string> Names(const std::vector<NamedScore>& v) {
  std::vector<std::string> out;
  for (const auto& s : v) out.push_back(s.item);
  return out;
}

bool Contains(const std::vector<NamedScore>& v, const std::string& item) {
  for (const auto& s : v) {
    if (s.item == item) return true;
  }
  return false;
}

class CatalogTest : public ::testing::Test {
 protected:
  CatalogTest() : rec_(Options(), EventTypes::Defaults()) {}
  static RecommenderOptions Options() {
    RecommenderOptions o;
    o.model.rank = 8;
    o.cold_start_min_items = 1;
    return o;
  }
  void Add(const std::string& user, const std::string& item, const char* type = "purchase") {
    ASSERT_TRUE(rec_.Apply({user, item, *rec_.types().Find(type), 0.0f, ts_++}).ok());
  }
  // Ten items; item iK bought K+1 times (i9 most popular), u0 bought i0.
  void Populate() {
    for (int k = 0; k < 10; ++k) {
      for (int c = 0; c <= k; ++c) Add(fmt::format("buyer{}", c), fmt::format("i{}", k));
    }
    Add("u0", "i0");
  }
  Recommender rec_;
  int64_t ts_ = 1'000'000;
};

TEST_F(CatalogTest, HiddenItemsAreNeverReturned) {
  Populate();
  ASSERT_TRUE(Contains(rec_.Popular(3), "i9"));
  ASSERT_TRUE(rec_.SetItemMeta("i9", {{}, true}).ok());
  EXPECT_FALSE(Contains(rec_.Popular(20), "i9"));
  EXPECT_FALSE(Contains(rec_.RecommendForUser("u0", Req(20)).items, "i9"));
  EXPECT_FALSE(Contains(rec_.RecommendForUser("nobody", Req(20)).items, "i9"));
  SimilarRequest similar20;
  similar20.n = 20;
  auto similar = rec_.SimilarItems("i8", similar20);
  ASSERT_TRUE(similar.ok());
  EXPECT_FALSE(Contains(*similar, "i9"));
  EXPECT_EQ(similar->size(), 8u);  // ten items less i8 itself, less hidden i9
  // Unhiding brings it back.
  ASSERT_TRUE(rec_.RemoveItemMeta("i9"));
  EXPECT_FALSE(rec_.RemoveItemMeta("i9"));
  EXPECT_TRUE(Contains(rec_.Popular(3), "i9"));
}

TEST_F(CatalogTest, CategoryFilterKeepsOnlyItsItems) {
  Populate();
  ASSERT_TRUE(rec_.SetItemMeta("i2", {{"books", "sale"}, false}).ok());
  ASSERT_TRUE(rec_.SetItemMeta("i5", {{"books"}, false}).ok());
  ASSERT_TRUE(rec_.SetItemMeta("i7", {{"books"}, true}).ok());  // hidden wins
  EXPECT_EQ(Names(rec_.Popular(10, "books")), (std::vector<std::string>{"i5", "i2"}));
  EXPECT_EQ(Names(rec_.Popular(10, "sale")), (std::vector<std::string>{"i2"}));
  EXPECT_TRUE(rec_.Popular(10, "nothing").empty());
  RecommendRequest req = Req(10);
  req.category = "books";
  const auto recs = rec_.RecommendForUser("u0", req);
  for (const auto& s : recs.items) EXPECT_TRUE(s.item == "i2" || s.item == "i5") << s.item;
  // Changing an item's categories moves it.
  ASSERT_TRUE(rec_.SetItemMeta("i2", {{"toys"}, false}).ok());
  EXPECT_EQ(Names(rec_.Popular(10, "books")), (std::vector<std::string>{"i5"}));
}

TEST_F(CatalogTest, MetadataBeforeTheFirstEventAppliesWhenTheItemArrives) {
  ASSERT_TRUE(rec_.SetItemMeta("later", {{"new"}, false}).ok());
  ASSERT_TRUE(rec_.SetItemMeta("secret", {{}, true}).ok());
  Populate();
  Add("buyer0", "later");
  Add("buyer0", "secret");
  for (int c = 0; c < 20; ++c) Add("fan" + std::to_string(c), "secret");
  EXPECT_EQ(Names(rec_.Popular(10, "new")), (std::vector<std::string>{"later"}));
  EXPECT_FALSE(Contains(rec_.Popular(100), "secret"));
}

TEST_F(CatalogTest, SnapshotRestoreKeepsFiltersOnTheRestoredIndices) {
  Populate();
  ASSERT_TRUE(rec_.SetItemMeta("i9", {{}, true}).ok());
  ASSERT_TRUE(rec_.SetItemMeta("i3", {{"c"}, false}).ok());
  // A recommender that saw the items in another order, then the snapshot.
  Recommender other(Options(), EventTypes::Defaults());
  ASSERT_TRUE(other.Apply({"x", "i3", 0, 0.0f, 1}).ok());
  ASSERT_TRUE(other.SetItemMeta("i9", {{}, true}).ok());
  ASSERT_TRUE(other.SetItemMeta("i3", {{"c"}, false}).ok());
  ASSERT_TRUE(DecodeSnapshot(EncodeSnapshot(rec_), &other).ok());
  EXPECT_EQ(Names(other.Popular(20)), Names(rec_.Popular(20)));
  EXPECT_EQ(Names(other.Popular(20, "c")), (std::vector<std::string>{"i3"}));
}

TEST_F(CatalogTest, BadMetadataIsRefused) {
  EXPECT_FALSE(rec_.SetItemMeta("", {}).ok());
  EXPECT_FALSE(rec_.SetItemMeta("i", {{""}, false}).ok());
  EXPECT_FALSE(rec_.SetItemMeta("i", {{std::string(300, 'c')}, false}).ok());
  EXPECT_FALSE(rec_.SetItemMeta("i", {{"a\nb"}, false}).ok());
  EXPECT_FALSE(rec_.SetItemMeta("i", {std::vector<std::string>(65, "c"), false}).ok());
  EXPECT_EQ(rec_.catalog().size(), 0u);
}

}  // namespace
}  // namespace streamrec::engine
