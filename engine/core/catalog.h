// Catalog: what the application says about its items (categories, hidden,
// when they were created), kept by item id and indexed by the engine's dense
// item indices so that top-N filters cost a mask, not a lookup per item.
// Items may be described before any event names them ("unseen" items, which
// exploration can show); they are indexed when they first appear.
//
// Thread-safety: not synchronised; it lives inside a Recommender and
// follows its contract (one writer, readers on a published copy).
#pragma once

#include <cstdint>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "engine/core/id_map.h"
#include "engine/core/status.h"

namespace streamrec::engine {

struct ItemMeta {
  std::vector<std::string> categories;
  // Hidden items are never recommended, listed as similar or as popular
  // (out of stock, withdrawn); their vectors keep learning.
  bool hidden = false;
  // When the item was created (ms since the Unix epoch; 0: not said).
  // Exploration counts an item created recently as new.
  int64_t created_ms = 0;
  bool operator==(const ItemMeta&) const = default;
};

class Catalog {
 public:
  // Most categories one item may carry, and longest category name (bytes).
  static constexpr size_t kMaxCategories = 64;
  static constexpr size_t kMaxCategoryLength = 256;

  // InvalidArgument naming the problem: too many categories, an empty or
  // over-long one, or one with control characters.
  static Status Validate(const ItemMeta& meta);

  // Sets (replaces) an item's metadata; `items` resolves its index if the
  // engine knows the item already.
  void Put(std::string_view item, ItemMeta meta, const IdMap& items);
  // Removes an item's metadata (it becomes visible, uncategorised). False
  // if there was none.
  bool Remove(std::string_view item, const IdMap& items);
  const ItemMeta* Find(std::string_view item) const;
  size_t size() const { return meta_.size(); }

  // Call after `items` gained index `index` (first sight of an item).
  void OnNewItem(uint32_t index, const IdMap& items);
  // Rebuilds every index from scratch (after `items` was replaced).
  void Reindex(const IdMap& items);
  void Clear();

  // visible()[i] == 0 iff item i is hidden; size = indexed items.
  const std::vector<uint8_t>& visible() const { return visible_; }
  bool any_hidden() const { return hidden_count_ > 0; }
  // Fills *mask (resized to n) with 1 for visible items of `category`
  // (every visible item if category is empty) and 0 elsewhere.
  void Mask(std::string_view category, uint32_t n, std::vector<uint8_t>* mask) const;
  // Every category with the number of indexed items carrying it, largest
  // first (ties by name).
  std::vector<std::pair<std::string, size_t>> CategorySizes() const;

  // Visible items described but not yet named by any event, keyed by
  // (created_ms, id): the newest are last.
  const std::set<std::pair<int64_t, std::string>>& unseen() const { return unseen_; }
  // Indexed items with a created time, keyed by (created_ms, index).
  const std::set<std::pair<int64_t, uint32_t>>& created() const { return created_; }

 private:
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  void Index(uint32_t index, const ItemMeta& meta, int sign);
  void Unseen(std::string_view item, const ItemMeta& meta, int sign);

  std::unordered_map<std::string, ItemMeta, Hash, std::equal_to<>> meta_;
  std::vector<uint8_t> visible_;  // per item index
  size_t hidden_count_ = 0;
  // category -> item indices carrying it (unsorted; order does not matter
  // for a mask).
  std::unordered_map<std::string, std::vector<uint32_t>, Hash, std::equal_to<>> by_category_;
  std::set<std::pair<int64_t, std::string>> unseen_;
  std::set<std::pair<int64_t, uint32_t>> created_;
};

}  // namespace streamrec::engine
