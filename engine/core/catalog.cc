#include "engine/core/catalog.h"

#include <fmt/format.h>

#include <algorithm>

#include "engine/core/id_text.h"

namespace streamrec::engine {

Status Catalog::Validate(const ItemMeta& meta) {
  if (meta.created_ms < 0) {
    return Status::InvalidArgument("created is before 1970-01-01T00:00:00Z");
  }
  if (meta.categories.size() > kMaxCategories) {
    return Status::InvalidArgument(fmt::format("{} categories; at most {} are allowed",
                                               meta.categories.size(), kMaxCategories));
  }
  for (const std::string& c : meta.categories) {
    if (c.empty()) return Status::InvalidArgument("a category is empty");
    if (c.size() > kMaxCategoryLength) {
      return Status::InvalidArgument(
          fmt::format("category is {} bytes long; the limit is {}", c.size(), kMaxCategoryLength));
    }
    STREAMREC_RETURN_IF_ERROR(CheckIdText("category", c));
  }
  return Status::OK();
}

void Catalog::Index(uint32_t index, const ItemMeta& meta, int sign) {
  if (index >= visible_.size()) visible_.resize(index + 1, 1);
  if (meta.hidden) {
    visible_[index] = sign > 0 ? 0 : 1;
    hidden_count_ += sign > 0 ? 1 : -1;
  }
  if (meta.created_ms != 0) {
    if (sign > 0) {
      created_.emplace(meta.created_ms, index);
    } else {
      created_.erase({meta.created_ms, index});
    }
  }
  for (const std::string& c : meta.categories) {
    auto& v = by_category_[c];
    if (sign > 0) {
      if (std::find(v.begin(), v.end(), index) == v.end()) v.push_back(index);
    } else {
      std::erase(v, index);
      if (v.empty()) by_category_.erase(c);
    }
  }
}

void Catalog::Unseen(std::string_view item, const ItemMeta& meta, int sign) {
  if (meta.hidden) return;
  if (sign > 0) {
    unseen_.emplace(meta.created_ms, std::string(item));
  } else if (auto it = unseen_.find(std::pair<int64_t, std::string>(meta.created_ms, item));
             it != unseen_.end()) {
    unseen_.erase(it);
  }
}

void Catalog::Put(std::string_view item, ItemMeta meta, const IdMap& items) {
  // Duplicate categories would be indexed once but unindexed once too.
  std::sort(meta.categories.begin(), meta.categories.end());
  meta.categories.erase(std::unique(meta.categories.begin(), meta.categories.end()),
                        meta.categories.end());
  const std::optional<uint32_t> index = items.Find(item);
  auto it = meta_.find(item);
  if (it != meta_.end()) {
    if (index) {
      Index(*index, it->second, -1);
    } else {
      Unseen(item, it->second, -1);
    }
    it->second = std::move(meta);
  } else {
    it = meta_.emplace(std::string(item), std::move(meta)).first;
  }
  if (index) {
    Index(*index, it->second, +1);
  } else {
    Unseen(item, it->second, +1);
  }
}

bool Catalog::Remove(std::string_view item, const IdMap& items) {
  auto it = meta_.find(item);
  if (it == meta_.end()) return false;
  if (const auto index = items.Find(item)) {
    Index(*index, it->second, -1);
  } else {
    Unseen(item, it->second, -1);
  }
  meta_.erase(it);
  return true;
}

const ItemMeta* Catalog::Find(std::string_view item) const {
  auto it = meta_.find(item);
  return it == meta_.end() ? nullptr : &it->second;
}

void Catalog::OnNewItem(uint32_t index, const IdMap& items) {
  if (index >= visible_.size()) visible_.resize(index + 1, 1);
  const std::string_view item = items.Name(index);
  if (const ItemMeta* m = Find(item)) {
    Unseen(item, *m, -1);
    Index(index, *m, +1);
  }
}

void Catalog::Reindex(const IdMap& items) {
  visible_.assign(items.size(), 1);
  hidden_count_ = 0;
  by_category_.clear();
  unseen_.clear();
  created_.clear();
  for (const auto& [id, meta] : meta_) {
    if (const auto index = items.Find(id)) {
      Index(*index, meta, +1);
    } else {
      Unseen(id, meta, +1);
    }
  }
}

void Catalog::Clear() {
  meta_.clear();
  visible_.clear();
  hidden_count_ = 0;
  by_category_.clear();
  unseen_.clear();
  created_.clear();
}

std::vector<std::pair<std::string, size_t>> Catalog::CategorySizes() const {
  std::vector<std::pair<std::string, size_t>> out;
  out.reserve(by_category_.size());
  for (const auto& [name, items] : by_category_) {
    if (!items.empty()) out.emplace_back(name, items.size());
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    return a.second > b.second || (a.second == b.second && a.first < b.first);
  });
  return out;
}

void Catalog::Mask(std::string_view category, uint32_t n, std::vector<uint8_t>* mask) const {
  if (category.empty()) {
    mask->assign(n, 1);
    std::copy_n(visible_.begin(), std::min<size_t>(n, visible_.size()), mask->begin());
    return;
  }
  mask->assign(n, 0);
  auto it = by_category_.find(category);
  if (it == by_category_.end()) return;
  for (uint32_t i : it->second) {
    if (i < n) (*mask)[i] = i < visible_.size() ? visible_[i] : 1;
  }
}

}  // namespace streamrec::engine
