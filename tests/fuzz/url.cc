// Fuzz target: request targets and query strings (http/url.h), the way
// Api::Handle takes them apart: Target::Parse, then PercentDecode of the
// path segments, Query::Parse of the query and the typed reads the
// handlers make (Size, Bool, Id, IdList, OnlyAllowed). Query::Parse and
// PercentDecode also get the raw input, which the server never gives them
// but which must not crash them either.
//
// Invariants besides "no crash, no sanitizer report, no exception":
// - refusals are InvalidArgument;
// - the views of an accepted Target stay inside its path and survive a
//   move of the Target (they point into its own copy);
// - every segment and the query of an accepted target decode (Boost.URL
//   has checked their percent-encoding), and decoding is a function:
//   PercentDecode of the same bytes twice gives the same string;
// - query parameters have names, and a parameter given once reads back
//   through Single as its value.
#include "http/url.h"

#include <algorithm>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "engine/core/id_text.h"
#include "tests/fuzz/fuzz_check.h"

namespace streamrec::fuzz {
namespace {

void CheckRefusal(const Status& st, std::string_view what) {
  FUZZ_CHECK(st.code() == StatusCode::kInvalidArgument, "{} refused with {}", what, st.ToString());
}

bool Within(std::string_view inner, std::string_view outer) {
  return inner.data() >= outer.data() && inner.data() + inner.size() <= outer.data() + outer.size();
}

// What the handlers ask of a query (http/api_read.cc, api_write.cc).
void ReadQuery(const http::Query& q) {
  (void)q.OnlyAllowed({"n", "exclude", "include_seen", "category", "user", "events"});
  // The first parameters only: All() per parameter is quadratic, and a
  // 4 KB query of "a&a&..." would spend the run here.
  const size_t checked = std::min<size_t>(q.params().size(), 16);
  for (size_t p = 0; p < checked; ++p) {
    const auto& [name, value] = q.params()[p];
    FUZZ_CHECK(!name.empty(), "a parameter without a name, value '{}'", value);
    (void)engine::CheckIdText("a query parameter name", name);
    (void)engine::CheckIdText("a value", value);
    if (q.All(name).size() == 1) {
      StatusOr<std::optional<std::string>> single = q.Single(name);
      FUZZ_CHECK(single.ok() && single->has_value() && **single == value,
                 "'{}' given once does not read back", name);
    }
  }
  if (StatusOr<size_t> n = q.Size("n", 1, 1000, 10); n.ok()) {
    FUZZ_CHECK(*n >= 1 && *n <= 1000, "n = {}", *n);
  } else {
    CheckRefusal(n.status(), "n");
  }
  if (StatusOr<bool> b = q.Bool("include_seen", false); !b.ok()) {
    CheckRefusal(b.status(), "include_seen");
  }
  if (StatusOr<std::string> id = q.Id("user", 256); id.ok()) {
    FUZZ_CHECK(id->size() <= 256, "user id of {} bytes", id->size());
  } else {
    CheckRefusal(id.status(), "user");
  }
  if (StatusOr<std::vector<std::string>> ids = q.IdList("exclude", 256); ids.ok()) {
    for (const std::string& id : *ids) {
      FUZZ_CHECK(!id.empty() && id.size() <= 256, "excluded id of {} bytes", id.size());
    }
  } else {
    CheckRefusal(ids.status(), "exclude");
  }
}

void CheckTarget(std::string_view raw) {
  StatusOr<http::Target> parsed = http::Target::Parse(raw);
  if (!parsed.ok()) {
    CheckRefusal(parsed.status(), "a target");
    return;
  }
  // Moved, as StatusOr hands it on: the views must follow the heap copy.
  const http::Target target = std::move(parsed).value();
  for (std::string_view segment : target.segments) {
    FUZZ_CHECK(Within(segment, target.path), "segment '{}' outside path '{}'", segment,
               target.path);
    std::string decoded, again;
    FUZZ_CHECK(http::PercentDecode(segment, false, &decoded),
               "segment '{}' of an accepted target does not decode", segment);
    FUZZ_CHECK(http::PercentDecode(segment, false, &again) && again == decoded,
               "segment '{}' decodes two ways", segment);
    (void)engine::CheckIdText("id in the path", decoded);
  }
  std::string query;
  FUZZ_CHECK(http::PercentDecode(target.query, true, &query),
             "query '{}' of an accepted target does not decode", target.query);
  StatusOr<http::Query> q = http::Query::Parse(target.query);
  if (!q.ok()) {
    CheckRefusal(q.status(), "a query");
    return;
  }
  ReadQuery(*q);
}

}  // namespace
}  // namespace streamrec::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace streamrec;
  const std::string_view text = fuzz::AsText(data, size);
  fuzz::CheckTarget(text);
  std::string decoded;
  (void)http::PercentDecode(text, true, &decoded);
  if (StatusOr<http::Query> q = http::Query::Parse(text); q.ok()) {
    fuzz::ReadQuery(*q);
  } else {
    fuzz::CheckRefusal(q.status(), "a raw query");
  }
  return 0;
}
