#include "tools/data/event_file.h"

#include <fmt/format.h>

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <fstream>
#include <istream>
#include <iterator>
#include <ostream>
#include <string_view>

#include "tools/text/text_parse.h"

namespace streamrec::tools {
namespace {

using text::FieldProblem;
using text::kMaxIdBytes;
using text::LineError;
using text::Shown;

constexpr size_t kFieldCount = 5;
// Large enough to amortise ostream::write, small enough not to double the
// memory of a big export.
constexpr size_t kWriteChunkBytes = 64 * 1024;

std::string RecordProblem(const EventRecord& e) {
  std::string p = FieldProblem("user id", e.user, kMaxIdBytes);
  if (p.empty()) p = FieldProblem("item id", e.item, kMaxIdBytes);
  // Type names have no documented length limit; they only must not break
  // the line structure.
  if (p.empty()) p = FieldProblem("type", e.type, std::string_view::npos);
  if (p.empty() && !std::isfinite(e.value)) p = fmt::format("value {} is not finite", e.value);
  return p;
}

Status ValidateAll(const std::vector<EventRecord>& events, std::string_view prefix) {
  for (size_t i = 0; i < events.size(); ++i) {
    std::string p = RecordProblem(events[i]);
    if (!p.empty()) return Status::InvalidArgument(fmt::format("{}events[{}]: {}", prefix, i, p));
  }
  return Status::OK();
}

Status WriteValidated(const std::vector<EventRecord>& events, std::ostream& out) {
  fmt::memory_buffer buf;
  fmt::format_to(std::back_inserter(buf), "{}\n", kEventFileHeader);
  for (const EventRecord& e : events) {
    // "{}" on a float prints the shortest text that parses back to the same
    // float, which is what makes the round trip exact.
    fmt::format_to(std::back_inserter(buf), "{}\t{}\t{}\t{}\t{}\n", e.ts_ms, e.user, e.item, e.type,
                   e.value);
    if (buf.size() >= kWriteChunkBytes) {
      out.write(buf.data(), static_cast<std::streamsize>(buf.size()));
      buf.clear();
    }
  }
  out.write(buf.data(), static_cast<std::streamsize>(buf.size()));
  out.flush();
  return out ? Status::OK() : Status::IOError("writing the event file failed");
}

// Splits on '\t' into exactly kFieldCount fields; returns the count found.
size_t SplitTabs(std::string_view line, std::string_view (&fields)[kFieldCount]) {
  size_t n = 0;
  while (true) {
    const size_t tab = line.find('\t');
    if (n < kFieldCount) fields[n] = line.substr(0, tab);
    ++n;
    if (tab == std::string_view::npos) return n;
    line.remove_prefix(tab + 1);
  }
}

Status ParseRecord(std::string_view line, const std::string& name, size_t lineno, EventRecord* e) {
  std::string_view f[kFieldCount];
  if (size_t n = SplitTabs(line, f); n != kFieldCount) {
    return LineError(name, lineno, "expected {} tab-separated fields, got {}", kFieldCount, n);
  }
  const char* ts_end = f[0].data() + f[0].size();
  auto [ts_ptr, ts_ec] = std::from_chars(f[0].data(), ts_end, e->ts_ms);
  if (ts_ec == std::errc::result_out_of_range) {
    return LineError(name, lineno, "ts_ms '{}' does not fit in int64", Shown(f[0]));
  }
  if (ts_ec != std::errc() || ts_ptr != ts_end) {
    return LineError(name, lineno, "ts_ms '{}' is not an integer", Shown(f[0]));
  }
  std::string p = FieldProblem("user id", f[1], kMaxIdBytes);
  if (p.empty()) p = FieldProblem("item id", f[2], kMaxIdBytes);
  if (p.empty()) p = FieldProblem("type", f[3], std::string_view::npos);
  if (!p.empty()) return LineError(name, lineno, "{}", p);
  const char* v_end = f[4].data() + f[4].size();
  auto [v_ptr, v_ec] = std::from_chars(f[4].data(), v_end, e->value);
  if (v_ec != std::errc() || v_ptr != v_end || !std::isfinite(e->value)) {
    return LineError(name, lineno, "value '{}' is not a finite number", Shown(f[4]));
  }
  e->user.assign(f[1]);
  e->item.assign(f[2]);
  e->type.assign(f[3]);
  return Status::OK();
}

}  // namespace

Status WriteEventFile(const std::vector<EventRecord>& events, std::ostream& out) {
  // Validate before the first byte so a bad record never leaves a truncated
  // file behind.
  STREAMREC_RETURN_IF_ERROR(ValidateAll(events, ""));
  return WriteValidated(events, out);
}

Status WriteEventFile(const std::vector<EventRecord>& events, const std::string& path) {
  STREAMREC_RETURN_IF_ERROR(ValidateAll(events, path + ": "));
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) {
    return Status::IOError(
        fmt::format("cannot open '{}' for writing: {}", path, std::strerror(errno)));
  }
  Status st = WriteValidated(events, out);
  if (!st.ok()) return Status::IOError(fmt::format("{}: {}", path, st.message()));
  out.close();
  if (!out) return Status::IOError(fmt::format("{}: closing the file failed", path));
  return Status::OK();
}

StatusOr<std::vector<EventRecord>> ReadEventFile(std::istream& in, const std::string& name) {
  std::vector<EventRecord> events;
  std::string line;
  size_t lineno = 0;
  while (std::getline(in, line)) {
    ++lineno;
    const std::string_view v = text::StripCr(line);
    if (lineno == 1) {
      if (v != kEventFileHeader) {
        return LineError(name, 1, "missing header line '{}' (got '{}')", kEventFileHeader,
                         Shown(v));
      }
      continue;
    }
    if (v.empty()) return LineError(name, lineno, "empty line (not allowed in event files)");
    if (v.front() == '#') continue;
    EventRecord e;
    STREAMREC_RETURN_IF_ERROR(ParseRecord(v, name, lineno, &e));
    events.push_back(std::move(e));
  }
  if (in.bad()) return Status::IOError(fmt::format("{}: read error", name));
  if (lineno == 0)
    return LineError(name, 1, "missing header line '{}' (empty file)", kEventFileHeader);
  return events;
}

StatusOr<std::vector<EventRecord>> ReadEventFile(const std::string& path) {
  std::ifstream in;
  STREAMREC_RETURN_IF_ERROR(text::OpenInput(path, "an event file", &in));
  return ReadEventFile(in, path);
}

}  // namespace streamrec::tools
