#include "tools/text/text_parse.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <iterator>
#include <system_error>

namespace streamrec::tools::text {

std::string Shown(std::string_view s) {
  constexpr size_t kMaxShown = 40;
  std::string out;
  for (unsigned char c : s.substr(0, kMaxShown)) {
    if (c < 0x20 || c >= 0x7f || c == '\\') {
      fmt::format_to(std::back_inserter(out), "\\x{:02x}", c);
    } else {
      out += static_cast<char>(c);
    }
  }
  if (s.size() > kMaxShown) out += "...";
  return out;
}

std::string FieldProblem(std::string_view what, std::string_view s, size_t max_bytes) {
  if (s.empty()) return fmt::format("empty {}", what);
  if (s.size() > max_bytes) {
    return fmt::format("{} is {} bytes, longer than {}", what, s.size(), max_bytes);
  }
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7f) {
      return fmt::format("{} '{}' contains control character 0x{:02x}", what, Shown(s), c);
    }
  }
  return "";
}

std::string_view StripCr(std::string_view line) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line;
}

Status OpenInput(const std::string& path, std::string_view kind, std::ifstream* in) {
  std::error_code ec;
  const auto st = std::filesystem::status(path, ec);
  if (st.type() == std::filesystem::file_type::not_found) {
    return Status::NotFound(fmt::format("no such file '{}'", path));
  }
  if (std::filesystem::is_directory(st)) {
    return Status::IOError(fmt::format("'{}' is a directory, not {}", path, kind));
  }
  in->open(path, std::ios::binary);
  if (!*in) {
    return Status::IOError(fmt::format("cannot open '{}': {}", path, std::strerror(errno)));
  }
  return Status::OK();
}

}  // namespace streamrec::tools::text
