#include "tools/data/dataset.h"

#include <fmt/format.h>

#include <algorithm>
#include <numeric>

#include "engine/core/random.h"

namespace streamrec::tools {
namespace {

Status AddExamples(const std::vector<EventRecord>& records, const engine::EventTypes& types,
                   bool is_train, DenseSplit* out) {
  std::vector<size_t> order(records.size());
  std::iota(order.begin(), order.end(), size_t{0});
  if (is_train) {
    std::stable_sort(order.begin(), order.end(),
                     [&](size_t a, size_t b) { return records[a].ts_ms < records[b].ts_ms; });
  }
  auto& dst = is_train ? out->split.train : out->split.test;
  dst.reserve(records.size());
  for (size_t n : order) {
    const EventRecord& r = records[n];
    const auto type = types.Find(r.type);
    if (!type) {
      return Status::InvalidArgument(
          fmt::format("event {} has unknown type '{}' (known: {})", n, r.type, types.Names()));
    }
    const auto target = types.Target(*type, r.value);
    if (!target) continue;
    engine::TrainingExample x;
    x.user = out->users.GetOrAdd(r.user);
    x.item = out->items.GetOrAdd(r.item);
    x.target = *target;
    x.weight = types.spec(*type).weight;
    dst.push_back(x);
  }
  return Status::OK();
}

}  // namespace

StatusOr<DenseSplit> BuildSplit(const std::vector<EventRecord>& train,
                                const std::vector<EventRecord>& test,
                                const engine::EventTypes& types) {
  DenseSplit out;
  STREAMREC_RETURN_IF_ERROR(AddExamples(train, types, true, &out));
  out.split.num_users = out.users.size();
  out.split.num_items = out.items.size();
  STREAMREC_RETURN_IF_ERROR(AddExamples(test, types, false, &out));
  return out;
}

std::pair<std::vector<EventRecord>, std::vector<EventRecord>> RandomSplit(
    std::vector<EventRecord> events, double train_fraction, uint64_t seed) {
  engine::SplitMix64 rng(seed);
  for (size_t n = events.size(); n > 1; --n) std::swap(events[n - 1], events[rng.Uniform(n)]);
  const auto cut = static_cast<size_t>(train_fraction * static_cast<double>(events.size()));
  std::vector<EventRecord> test(std::make_move_iterator(events.begin() + cut),
                                std::make_move_iterator(events.end()));
  events.resize(cut);
  return {std::move(events), std::move(test)};
}

}  // namespace streamrec::tools

#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "tools/data/importers.h"

namespace streamrec::tools {

StatusOr<std::vector<EventRecord>> LoadEvents(const std::string& path) {
  if (path == "-") {
    // A pipe cannot be rewound, so read it whole, then pick the reader.
    std::stringstream buf;
    buf << std::cin.rdbuf();
    std::string first;
    std::getline(buf, first);
    if (!first.empty() && first.back() == '\r') first.pop_back();
    buf.clear();
    buf.seekg(0);
    if (first == kEventFileHeader) return ReadEventFile(buf, "<stdin>");
    return ParseRatings(buf, "<stdin>");
  }
  std::error_code ec;
  std::string file = path;
  if (std::filesystem::is_directory(path, ec)) {
    StatusOr<std::string> found = FindRatingsFile(path);
    if (!found.ok()) return found.status();
    file = *found;
  }
  std::ifstream in(file, std::ios::binary);
  if (!in) return Status::NotFound(fmt::format("cannot open '{}'", file));
  std::string first;
  std::getline(in, first);
  if (!first.empty() && first.back() == '\r') first.pop_back();
  if (first == kEventFileHeader) return ReadEventFile(file);
  return ReadRatingsFile(file);
}

}  // namespace streamrec::tools
