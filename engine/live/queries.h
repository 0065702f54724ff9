// The requests and answers of Recommender's queries (recommender.h):
// recommendations and their explanations, sessions, rows, similar items,
// the per-request rules, and the parts MemoryUsage reports.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/core/event_types.h"

namespace streamrec::engine {

// Bytes one part of a Recommender holds (Recommender::MemoryUsage).
struct MemoryPart {
  std::string_view name;
  size_t bytes = 0;
  // Held once for both Left-Right copies (Recommender::ShareUpdater).
  bool shared = false;
};

struct NamedScore {
  std::string item;
  float score = 0.0f;
};

enum class RecommendationSource { kModel, kPopular };
std::string_view SourceName(RecommendationSource s);

struct Recommendations {
  std::vector<NamedScore> items;
  RecommendationSource source = RecommendationSource::kPopular;
};

// Why an item is recommended (Recommender::Explain).
//   kExact       kImplicit: the user's vector is (approximately) the ridge
//                solve over their history, p_u ≈ A⁻¹ Σ_j c_j q_j with
//                A = QᵀQ + Σ_j (c_j − 1) q_j q_jᵀ + λ_u I (Hu, Koren &
//                Volinsky, ICDM 2008, section 5), so the score q_iᵀ p_u
//                splits into one term per history item j, c_j q_iᵀ A⁻¹ q_j,
//                plus q_iᵀ A⁻¹ r for r = A p_u − Σ_j c_j q_j, the part the
//                online updates left from the exact solve (`unexplained`).
//                The terms and `unexplained` sum to the score exactly.
//   kSimilarity  kRating and kBpr, whose user vectors are no linear function
//                of the history: each history item's cosine similarity to
//                the recommended item (the item-item view of the same
//                factors). Shares, not a split of the score.
//   kPopular     the user is cold: the items are the popular ones, no
//                history item is behind them.
enum class ExplanationMethod : uint8_t { kExact, kSimilarity, kPopular };
std::string_view ExplanationMethodName(ExplanationMethod m);

struct Contribution {
  std::string item;    // a history item of the user
  float value = 0.0f;  // kExact: its term of the score; kSimilarity: the cosine
  float share = 0.0f;  // value / Σ |value| over the whole history
};

struct ItemExplanation {
  std::string item;
  float score = 0.0f;                 // the score explained
  std::vector<Contribution> because;  // largest value first
  float unexplained = 0.0f;           // kExact only (see above)
};

struct Explanation {
  ExplanationMethod method = ExplanationMethod::kPopular;
  std::vector<ItemExplanation> items;  // in the order asked
};

// Per-request re-ranking of the best candidates (README "Rules and
// diversity"; engine/live/rules.cc). The candidates are the filtered
// catalog's best max(5n, n + 50) by the model (max(20n, n + 200) with
// diversity; more, repeatedly, while the caps leave fewer than n), so an
// answer has n items when the catalog allows it.
//   boosts            (category, factor > 0): an item's score is multiplied
//                     by the factor of each of its categories that has one
//                     (divided for a negative score): > 1 boosts, < 1 buries;
//   max_per_category  at most this many items of one category in the
//                     answer (an item counts for each of its categories;
//                     0: no cap);
//   diversity         d in [0, 1]: maximal marginal relevance (Carbonell &
//                     Goldstein 1998): each next item maximises
//                     (1 − d)·relevance − d·(its largest cosine to an item
//                     already chosen), relevance the boosted score scaled
//                     to [0, 1] over the candidates. 0: plain order.
// Scores returned are the boosted ones; the order is the re-ranked one.
struct RankRules {
  std::vector<std::pair<std::string, float>> boosts;
  size_t max_per_category = 0;
  float diversity = 0.0f;
  bool active() const { return !boosts.empty() || max_per_category > 0 || diversity > 0.0f; }
};

struct RecommendRequest {
  size_t n = 10;
  std::vector<std::string> exclude;  // item ids never to return
  bool include_seen = false;         // return items the user already has
  std::string category;              // only items of this category ("" = any)
  // Only items of at least one of these categories (empty: any), and none
  // of an item of these: filters, applied before the cut to n.
  std::vector<std::string> categories;
  std::vector<std::string> exclude_categories;
  RankRules rules;
  // Whether ExplorationOptions applies (lists with rules never explore).
  bool explore = true;
  // The request's time (ms since the Unix epoch) for what counts as
  // recently created; 0: the clock's. Replays pass the event's time.
  int64_t now_ms = 0;
};

// One event of an anonymous visitor's history (RecommendForHistory).
struct HistoryEvent {
  std::string item;
  EventTypeId type = 0;
  float value = 0.0f;  // the rating, for explicit types
};

// What RecommendForHistory folded in and what it could not.
struct SessionInfo {
  size_t used = 0;                   // history events of known items
  std::vector<std::string> unknown;  // items no event has named, once each, in order
};

// A page of named lists for one user, Netflix style (Recommender::Rows).
struct RowsRequest {
  size_t rows = 6;     // at most this many rows
  size_t n = 10;       // items per row
  size_t because = 2;  // "Because you watched" rows, at most
  // The user's recent items, newest first (the store knows them; the
  // engine keeps no order of a user's history).
  std::vector<std::string> recent;
  std::vector<std::string> exclude;  // never in any row
  // Filters and rules for every row (as RecommendRequest's).
  std::vector<std::string> categories;
  std::vector<std::string> exclude_categories;
  RankRules rules;
};

enum class RowKind : uint8_t { kTopPicks, kBecause, kTrending, kCategory };
std::string_view RowKindName(RowKind k);  // "top_picks", "because", "trending", "category"

struct Row {
  RowKind kind = RowKind::kTopPicks;
  std::string title;  // "Top picks for you", "Because you watched i7", ...
  std::string key;    // kBecause: the item; kCategory: the category; else ""
  std::vector<NamedScore> items;
};

// One user's request in a batch (RecommendForUsers); `request` must
// outlive the call.
struct UserQuery {
  std::string_view user;
  const RecommendRequest* request = nullptr;
};

struct SimilarRequest {
  size_t n = 10;
  std::string user;                     // exclude this user's seen items ("" = none)
  std::vector<std::string> exclude;     // item ids never to return
  std::string category;                 // only items of this category ("" = any)
  std::vector<std::string> categories;  // as RecommendRequest's
  std::vector<std::string> exclude_categories;
  RankRules rules;
};

}  // namespace streamrec::engine
