// The JSON the API answers with (scored item lists, item metadata, the
// store's status) and the body of PUT /v1/items/{item}.
//
// Thread-safety: pure functions.
#pragma once

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "engine/core/catalog.h"
#include "engine/core/status.h"
#include "engine/live/recommender.h"
#include "storage/live_store.h"

namespace streamrec::http {

// JSON text of `v`, like boost::json::serialize but with numbers as people
// write them: shortest round-trip decimals ("4.12", "1e-07"), where
// Boost.JSON 1.81 writes "4.12E0".
std::string SerializeJson(const boost::json::value& v);

// [{"item": "i1", "score": 0.93}, ...]; scores are floats, written with
// the digits that identify the float (not its double widening's).
boost::json::array ScoresJson(const std::vector<engine::NamedScore>& items);
// Recommendations with explain=true: each item's score, the history items
// behind it ("because": item, value, share) and, for the exact method, the
// part of the score the online updates left from the ridge solve.
boost::json::array ExplainedJson(const engine::Explanation& why);

// POST /v1/recommendations: an anonymous visitor's session.
//   {"history": [{"item": "i1", "type": "view", "value": 4.5}, ...],
//    "n": 10, "exclude": ["i9"], "category": "books", "include_seen": false}
// history is required (up to max_history events; "value" is the rating of
// explicit types); the rest optional. Event type names are resolved later
// against the served model's types (history_types).
struct SessionRequest {
  std::vector<engine::HistoryEvent> history;  // type unresolved
  std::vector<std::string> history_types;     // per event
  engine::RecommendRequest request;
};
StatusOr<SessionRequest> ParseSessionRequest(std::string_view body, int max_json_depth,
                                             size_t max_results, size_t max_history);

// {"categories": ["a", "b"], "hidden": false}, both optional (absent:
// none, false); unknown fields and wrong types are InvalidArgument, and so
// is metadata the catalog refuses (engine::Catalog::Validate).
StatusOr<engine::ItemMeta> ParseItemMeta(std::string_view body, int max_json_depth);

// {"item": ..., "categories": [...], "hidden": ...}
boost::json::object ItemMetaJson(std::string_view item, const engine::ItemMeta& meta);

// Every field of LiveStatus, with "recovery", "retrain" and "drift" as
// objects ("drift": {"enabled": false} when drift is off; otherwise its
// reference and, under "dimensions", per dimension psi, kl, window_events,
// other_reference, other_window, top_bucket, top_reference, top_window,
// noise_floor, enough_data), and the retrain and snapshot histories.
boost::json::object LiveStatusJson(const storage::LiveStatus& s);

// GET /v1/admin/drift: the status' "drift" plus, per dimension, "shares"
// (the reference's largest buckets and "(other)": label, reference,
// window) and "history" (DriftPoint: time_ms, observed, window_events,
// reference_through_seq, and psi and enough_data per dimension).
boost::json::object DriftDetailJson(const storage::LiveDriftStatus& d);

// {"seq", "event_id", "user", "item", "type", "value", "ts"}: a stored
// event as GET /v1/users/{user}/events and `streamrec log dump` write it.
boost::json::object StoredEventJson(const storage::StoredEvent& e);

}  // namespace streamrec::http
