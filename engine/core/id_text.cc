#include "engine/core/id_text.h"

#include <fmt/format.h>

namespace streamrec::engine {

size_t Utf8SequenceLength(std::string_view s, size_t i) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = byte(i);
  if (c < 0x80) return 1;
  size_t n;
  unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  if (byte(i + 1) < lo || byte(i + 1) > hi) return 0;
  for (size_t k = 2; k < n; ++k) {
    if (byte(i + k) < 0x80 || byte(i + k) > 0xBF) return 0;
  }
  return n;
}

bool IsValidUtf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    const size_t n = Utf8SequenceLength(s, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

Status CheckIdText(std::string_view what, std::string_view id) {
  for (size_t i = 0; i < id.size();) {
    const size_t n = Utf8SequenceLength(id, i);
    if (n == 0) {
      return Status::InvalidArgument(fmt::format("{} is not valid UTF-8 (at byte {})", what, i));
    }
    const auto c = static_cast<unsigned char>(id[i]);
    // C0 and DEL are one byte; C1 (U+0080-U+009F) is 0xC2 0x80-0x9F.
    unsigned code = 0x110000;
    if (n == 1 && (c < 0x20 || c == 0x7f)) code = c;
    if (n == 2 && c == 0xC2 && static_cast<unsigned char>(id[i + 1]) <= 0x9F) {
      code = static_cast<unsigned char>(id[i + 1]);
    }
    if (code != 0x110000) {
      return Status::InvalidArgument(
          fmt::format("{} contains a control character (U+{:04X})", what, code));
    }
    i += n;
  }
  return Status::OK();
}

}  // namespace streamrec::engine
