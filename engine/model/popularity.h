// Popularity: exponentially time-decayed interaction counts per item, the
// "trending now" list and the cold-start fallback.
//
// score_i(t) = Σ_events w_e · 2^{-(t - t_e)/half_life}. All scores decay by
// the same factor, so only their ratio matters: each is stored relative to
// an anchor time and rescaled when the anchor moves, keeping the numbers in
// range without touching every item on each event. Any int64 time is safe:
// differences are taken in double (no signed overflow), an event far older
// than the anchor adds ~0 and one far newer moves the anchor, so scores stay
// finite and >= 0 (what times are sensible is the ingest's policy, see
// README "Event timestamps").
//
// Thread-safety: not synchronised; one writer, readers use a copy.
#pragma once

#include <cstdint>
#include <vector>

#include "engine/model/topn.h"

namespace streamrec::engine {

struct PopularityOptions {
  // Half-life of an event's weight. Short: reacts fast to what is trending
  // now but is noisy; long: stable all-time favourites.
  double half_life_ms = 7.0 * 24 * 3600 * 1000;
};

class Popularity {
 public:
  explicit Popularity(const PopularityOptions& options = {});

  // Adds an event of `weight` on `item` at time ts_ms (any order; an event
  // older than the anchor just counts less).
  void Add(uint32_t item, float weight, int64_t ts_ms);
  // Takes back an Add() of the same arguments (a forgotten user's event).
  // The score becomes what adding every other event gives, up to rounding;
  // an item left with nothing scores exactly 0. The newest time seen stays:
  // the clock popularity decays to is not rolled back.
  void Remove(uint32_t item, float weight, int64_t ts_ms);
  // Decayed score as of the newest event time seen.
  double Score(uint32_t item) const;
  // The n most popular items (ties by id), skipping the sorted `exclude`
  // ids and items with allowed[i] == 0 (allowed may be null). Reads the
  // blocks of items best block first and stops at the first whose best
  // score cannot reach the page: with popularity's skew a few blocks,
  // not the catalog (what a cold user's every request costs).
  std::vector<ScoredItem> Top(size_t n, std::span<const uint32_t> exclude = {},
                              const uint8_t* allowed = nullptr) const;

  uint32_t num_items() const { return static_cast<uint32_t>(scores_.size()); }
  int64_t newest_ts_ms() const { return newest_ts_ms_; }
  const PopularityOptions& options() const { return options_; }

  // State for snapshots: anchor time and per-item scores relative to it.
  int64_t anchor_ms() const { return anchor_ms_; }
  const std::vector<double>& raw_scores() const { return scores_; }
  // False until the first Add(), which then takes its time as the anchor;
  // a restore must keep it false for an empty state so the next event still
  // anchors where it would have.
  bool has_anchor() const { return has_anchor_; }
  void Restore(int64_t anchor_ms, int64_t newest_ts_ms, std::vector<double> scores,
               bool has_anchor = true);

 private:
  // Items per block of block_max_.
  static constexpr uint32_t kBlock = 256;

  void MoveAnchor(int64_t new_anchor_ms);
  // Grows scores_ (zeros) and block_max_ to hold `item`.
  void Reserve(uint32_t item);
  // block_max_[b] recomputed from the scores of block b.
  void RescanBlock(uint32_t b);
  // 2^{-(newest - anchor)/half_life}: raw score -> score as of the newest event.
  double NowFactor() const;

  PopularityOptions options_;
  int64_t anchor_ms_ = 0;
  bool has_anchor_ = false;
  int64_t newest_ts_ms_ = 0;
  std::vector<double> scores_;  // relative to anchor_ms_
  // An upper bound of the raw scores of items [b kBlock, (b + 1) kBlock)
  // (exact but after a negative weight's Add): derived, not in snapshots.
  std::vector<double> block_max_;
};

}  // namespace streamrec::engine
