// The text rule for every id streamrec stores and later echoes (users,
// items, event ids, categories): well-formed UTF-8 with no control
// characters. Answers quote ids inside JSON strings, which must be UTF-8;
// an invalid byte or a NUL stored once would make every later answer that
// names the id invalid JSON (and control characters spoof logs and
// terminals).
//
// Thread-safety: pure functions.
#pragma once

#include <cstddef>
#include <string_view>

#include "engine/core/status.h"

namespace streamrec::engine {

// Length of the well-formed UTF-8 sequence at s[i] (i < s.size()), or 0 if
// there is none (overlong forms, surrogates and code points past U+10FFFF
// included).
size_t Utf8SequenceLength(std::string_view s, size_t i);
bool IsValidUtf8(std::string_view s);

// OK, or InvalidArgument "<what> is not valid UTF-8 (at byte 3)" /
// "<what> contains a control character (U+0000)": C0, DEL and C1.
Status CheckIdText(std::string_view what, std::string_view id);

}  // namespace streamrec::engine
