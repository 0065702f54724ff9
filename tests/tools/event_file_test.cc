#include "tools/data/event_file.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

namespace streamrec::tools {
namespace {

std::vector<EventRecord> SampleEvents() {
  return {
      {1700000000123, "u1", "i1", "view", 0.0f},
      {-5, "user with space", "item/ü", "rating", 3.5f},
      {std::numeric_limits<int64_t>::max(), "u2", "i2", "purchase", 0.1f},
      {std::numeric_limits<int64_t>::min(), "u3", "i3", "click", -1e-7f},
      {0, std::string(256, 'x'), "i4", "rating", std::numeric_limits<float>::denorm_min()},
      {42, "u5", "i5", "cart", 123456.789f},
  };
}

StatusOr<std::vector<EventRecord>> Parse(const std::string& text) {
  std::istringstream in(text);
  return ReadEventFile(in, "ev.txt");
}

// Reads `body` after a valid header and expects an InvalidArgument that names
// the file, the 1-based line and contains `what`.
void ExpectBadLine(const std::string& body, int line, const std::string& what) {
  SCOPED_TRACE(body);
  StatusOr<std::vector<EventRecord>> r = Parse(std::string(kEventFileHeader) + "\n" + body);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  const std::string prefix = "ev.txt:" + std::to_string(line) + ": ";
  EXPECT_EQ(r.status().message().rfind(prefix, 0), 0u) << r.status().message();
  EXPECT_NE(r.status().message().find(what), std::string::npos) << r.status().message();
}

class TempDir : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("streamrec_event_file_test_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string Path(const std::string& name) const { return (dir_ / name).string(); }
  std::filesystem::path dir_;
};

TEST(EventFileTest, StreamRoundTripIsExact) {
  const std::vector<EventRecord> events = SampleEvents();
  std::ostringstream out;
  ASSERT_TRUE(WriteEventFile(events, out).ok());
  const std::string text = out.str();
  EXPECT_EQ(text.rfind(std::string(kEventFileHeader) + "\n", 0), 0u);
  EXPECT_NE(text.find("1700000000123\tu1\ti1\tview\t0\n"), std::string::npos) << text;
  StatusOr<std::vector<EventRecord>> back = Parse(text);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, events);
}

TEST(EventFileTest, EmptyListWritesOnlyHeader) {
  std::ostringstream out;
  ASSERT_TRUE(WriteEventFile({}, out).ok());
  EXPECT_EQ(out.str(), std::string(kEventFileHeader) + "\n");
  StatusOr<std::vector<EventRecord>> back = Parse(out.str());
  ASSERT_TRUE(back.ok());
  EXPECT_TRUE(back->empty());
}

TEST(EventFileTest, RandomFloatsRoundTrip) {
  std::vector<EventRecord> events;
  uint32_t bits = 12345;
  while (events.size() < 2000) {
    bits = bits * 1664525u + 1013904223u;
    float v;
    std::memcpy(&v, &bits, sizeof v);
    if (std::isfinite(v)) events.push_back({int64_t{bits}, "u", "i", "rating", v});
  }
  std::ostringstream out;
  ASSERT_TRUE(WriteEventFile(events, out).ok());
  StatusOr<std::vector<EventRecord>> back = Parse(out.str());
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, events);
}

TEST_F(TempDir, FileRoundTrip) {
  const std::vector<EventRecord> events = SampleEvents();
  ASSERT_TRUE(WriteEventFile(events, Path("a.events")).ok());
  StatusOr<std::vector<EventRecord>> back = ReadEventFile(Path("a.events"));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, events);
}

TEST_F(TempDir, MissingFileIsNotFound) {
  StatusOr<std::vector<EventRecord>> r = ReadEventFile(Path("nope.events"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  EXPECT_NE(r.status().message().find("nope.events"), std::string::npos);
}

TEST_F(TempDir, DirectoryIsIOError) {
  StatusOr<std::vector<EventRecord>> r = ReadEventFile(dir_.string());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kIOError);
}

TEST_F(TempDir, UnwritablePathIsIOError) {
  Status st = WriteEventFile(SampleEvents(), Path("no/such/dir/x.events"));
  EXPECT_EQ(st.code(), StatusCode::kIOError) << st.ToString();
}

TEST_F(TempDir, InvalidRecordWritesNothing) {
  std::vector<EventRecord> events = SampleEvents();
  events[3].item = "bad\titem";
  Status st = WriteEventFile(events, Path("bad.events"));
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("events[3]"), std::string::npos) << st.message();
  EXPECT_FALSE(std::filesystem::exists(Path("bad.events")));
}

TEST(EventFileTest, WriterRejectsWhatTheReaderWouldReject) {
  const std::vector<std::pair<EventRecord, std::string>> cases = {
      {{1, "", "i", "view", 0}, "empty user id"},
      {{1, "u", "", "view", 0}, "empty item id"},
      {{1, "u", "i", "", 0}, "empty type"},
      {{1, "a\nb", "i", "view", 0}, "user id"},
      {{1, "u", "i\r", "view", 0}, "item id"},
      {{1, "u", "i", "vi\tew", 0}, "type"},
      {{1, std::string("a\0b", 3), "i", "view", 0}, "control character 0x00"},
      {{1, "u", std::string(257, 'y'), "view", 0}, "longer than 256"},
      {{1, "u", "i", "rating", std::nanf("")}, "not finite"},
      {{1, "u", "i", "rating", -std::numeric_limits<float>::infinity()}, "not finite"},
  };
  for (const auto& [record, what] : cases) {
    std::ostringstream out;
    Status st = WriteEventFile({SampleEvents()[0], record}, out);
    EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << what;
    EXPECT_NE(st.message().find("events[1]"), std::string::npos) << st.message();
    EXPECT_NE(st.message().find(what), std::string::npos) << st.message();
    EXPECT_TRUE(out.str().empty()) << "nothing may be written for an invalid list";
  }
}

TEST(EventFileTest, CommentsAreSkipped) {
  StatusOr<std::vector<EventRecord>> r =
      Parse(std::string(kEventFileHeader) + "\n# a comment\n5\tu\ti\tview\t0\n#x\n");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0], (EventRecord{5, "u", "i", "view", 0.0f}));
}

TEST(EventFileTest, CrlfLineEndsAreAccepted) {
  StatusOr<std::vector<EventRecord>> r =
      Parse(std::string(kEventFileHeader) + "\r\n1\tu\ti\trating\t4.5\r\n2\tv\tj\tview\t0\r\n");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[0], (EventRecord{1, "u", "i", "rating", 4.5f}));
  EXPECT_EQ((*r)[1].type, "view");
}

TEST(EventFileTest, LastLineWithoutNewlineIsRead) {
  StatusOr<std::vector<EventRecord>> r = Parse(std::string(kEventFileHeader) + "\n7\tu\ti\tv\t1");
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].ts_ms, 7);
}

TEST(EventFileTest, MissingHeaderNamesLineOne) {
  for (const std::string text : {"", "\n", "1\tu\ti\tview\t0\n", "#streamrec-events v2\n",
                                 "\xEF\xBB\xBF#streamrec-events v1\n"}) {
    StatusOr<std::vector<EventRecord>> r = Parse(text);
    ASSERT_FALSE(r.ok()) << text;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(r.status().message().rfind("ev.txt:1: ", 0), 0u) << r.status().message();
    EXPECT_NE(r.status().message().find("header"), std::string::npos);
  }
}

TEST(EventFileTest, MalformedLinesNameFileAndLine) {
  const std::string ok = "1\tu\ti\tview\t0\n";
  ExpectBadLine(ok + "\n", 3, "empty line");
  ExpectBadLine(ok + "\r\n", 3, "empty line");
  ExpectBadLine(ok + ok + "1\tu\ti\tview\n", 4, "expected 5 tab-separated fields, got 4");
  ExpectBadLine("1\tu\ti\tview\t0\textra\n", 2, "got 6");
  ExpectBadLine("1 u i view 0\n", 2, "got 1");
  ExpectBadLine("x\tu\ti\tview\t0\n", 2, "not an integer");
  ExpectBadLine("1.5\tu\ti\tview\t0\n", 2, "not an integer");
  ExpectBadLine("\tu\ti\tview\t0\n", 2, "not an integer");
  ExpectBadLine("+1\tu\ti\tview\t0\n", 2, "not an integer");
  ExpectBadLine("99999999999999999999\tu\ti\tview\t0\n", 2, "does not fit in int64");
  ExpectBadLine("1\t\ti\tview\t0\n", 2, "empty user id");
  ExpectBadLine("1\tu\t\tview\t0\n", 2, "empty item id");
  ExpectBadLine("1\tu\ti\t\t0\n", 2, "empty type");
  ExpectBadLine("1\tu\x01\ti\tview\t0\n", 2, "control character 0x01");
  ExpectBadLine("1\tu\ti\x7f\tview\t0\n", 2, "control character 0x7f");
  ExpectBadLine(std::string("1\tu\0v\ti\tview\t0\n", 15), 2, "control character 0x00");
  ExpectBadLine("1\t" + std::string(257, 'a') + "\ti\tview\t0\n", 2, "longer than 256");
  ExpectBadLine("1\tu\ti\tview\tabc\n", 2, "value 'abc' is not a finite number");
  ExpectBadLine("1\tu\ti\tview\t\n", 2, "not a finite number");
  ExpectBadLine("1\tu\ti\tview\t4.5x\n", 2, "not a finite number");
  ExpectBadLine("1\tu\ti\tview\tnan\n", 2, "not a finite number");
  ExpectBadLine("1\tu\ti\tview\tinf\n", 2, "not a finite number");
  ExpectBadLine("1\tu\ti\tview\t1e39\n", 2, "not a finite number");
}

TEST(EventFileTest, GarbageNeverCrashes) {
  uint64_t state = 99;
  for (int round = 0; round < 500; ++round) {
    std::string text = std::string(kEventFileHeader) + "\n";
    for (int i = 0; i < 64; ++i) {
      state = state * 6364136223846793005ull + 1442695040888963407ull;
      const char alphabet[] = "0123456789-.\te\t\n#\r\0uixX";
      text += alphabet[(state >> 33) % (sizeof alphabet - 1)];
    }
    StatusOr<std::vector<EventRecord>> r = Parse(text);
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
      EXPECT_EQ(r.status().message().rfind("ev.txt:", 0), 0u);
    }
  }
}

}  // namespace
}  // namespace streamrec::tools
