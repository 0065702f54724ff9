// The small Recommender the recommender tests share: rank 16, the default
// event types, and helpers to add events one second apart.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

#include "engine/live/recommender.h"

namespace streamrec::engine {

inline RecommendRequest Req(size_t n, std::vector<std::string> exclude = {},
                            bool include_seen = false) {
  RecommendRequest r;
  r.n = n;
  r.exclude = std::move(exclude);
  r.include_seen = include_seen;
  return r;
}

inline RecommenderOptions SmallOptions() {
  RecommenderOptions o;
  o.model.rank = 16;
  return o;
}

class RecommenderTest : public ::testing::Test {
 protected:
  RecommenderTest() : rec_(SmallOptions(), EventTypes::Defaults()) {}

  EventTypeId Type(std::string_view name) const { return *rec_.types().Find(name); }

  void Add(std::string_view user, std::string_view item, std::string_view type,
           float value = 0.0f) {
    const Event e{.user = user, .item = item, .type = Type(type), .value = value, .ts_ms = ts_};
    ts_ += 1000;
    ASSERT_TRUE(rec_.Apply(e).ok()) << user << " " << item;
  }

  static std::vector<std::string> Names(const std::vector<NamedScore>& v) {
    std::vector<std::string> out;
    for (const auto& s : v) out.push_back(s.item);
    return out;
  }

  Recommender rec_;
  int64_t ts_ = 1'700'000'000'000;
};

}  // namespace streamrec::engine
