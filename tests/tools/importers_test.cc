#include "tools/data/importers.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace streamrec::tools {
namespace {

StatusOr<std::vector<EventRecord>> Parse(const std::string& text,
                                         RatingsFormat format = RatingsFormat::kAuto) {
  std::istringstream in(text);
  return ParseRatings(in, "r.txt", format);
}

void ExpectBad(const std::string& text, RatingsFormat format, int line, const std::string& what) {
  SCOPED_TRACE(text);
  StatusOr<std::vector<EventRecord>> r = Parse(text, format);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  const std::string prefix = "r.txt:" + std::to_string(line) + ": ";
  EXPECT_EQ(r.status().message().rfind(prefix, 0), 0u) << r.status().message();
  EXPECT_NE(r.status().message().find(what), std::string::npos) << r.status().message();
}

EventRecord Rating(int64_t ts_ms, std::string user, std::string item, float value) {
  return {ts_ms, std::move(user), std::move(item), "rating", value};
}

TEST(ImportersTest, MovieLens100K) {
  StatusOr<std::vector<EventRecord>> r = Parse("196\t242\t3\t881250949\n186\t302\t3\t891717742\n");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[0], Rating(881250949000, "196", "242", 3.0f));
  EXPECT_EQ((*r)[1], Rating(891717742000, "186", "302", 3.0f));
}

TEST(ImportersTest, MovieLensDat) {
  StatusOr<std::vector<EventRecord>> r = Parse("1::1193::5::978300760\n1::661::3.5::978302109\n");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[0], Rating(978300760000, "1", "1193", 5.0f));
  EXPECT_EQ((*r)[1], Rating(978302109000, "1", "661", 3.5f));
}

TEST(ImportersTest, Csv) {
  StatusOr<std::vector<EventRecord>> r =
      Parse("userId,movieId,rating,timestamp\n1,296,5.0,1147880044\n1,306,3.5,1147868817\n");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[0], Rating(1147880044000, "1", "296", 5.0f));
  EXPECT_EQ((*r)[1], Rating(1147868817000, "1", "306", 3.5f));
}

TEST(ImportersTest, CsvColumnsInAnyOrderWithAliasesAndExtras) {
  StatusOr<std::vector<EventRecord>> r =
      Parse("ts , comment,value,ITEM_ID,user_id\n10, nice ,4.5,i9,u7\n20,,1,i8,u6\n");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[0], Rating(10000, "u7", "i9", 4.5f));
  EXPECT_EQ((*r)[1], Rating(20000, "u6", "i8", 1.0f));
}

TEST(ImportersTest, CsvWithoutTimestampGivesZero) {
  StatusOr<std::vector<EventRecord>> r = Parse("item,user,rating\na,b,2\n");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0], Rating(0, "b", "a", 2.0f));
}

TEST(ImportersTest, CsvByteOrderMarkIsIgnored) {
  StatusOr<std::vector<EventRecord>> r = Parse("\xEF\xBB\xBFuserId,itemId,rating\nu,i,1\n");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->size(), 1u);
}

TEST(ImportersTest, CrlfAndBlankLines) {
  StatusOr<std::vector<EventRecord>> a = Parse("\r\n1\t2\t3\t4\r\n\r\n5\t6\t7\t8\r\n\n");
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  ASSERT_EQ(a->size(), 2u);
  EXPECT_EQ((*a)[1], Rating(8000, "5", "6", 7.0f));
  StatusOr<std::vector<EventRecord>> b = Parse("user,item,rating,ts\r\n\r\nu,i,2.5,3\r\n");
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  ASSERT_EQ(b->size(), 1u);
  EXPECT_EQ((*b)[0], Rating(3000, "u", "i", 2.5f));
  StatusOr<std::vector<EventRecord>> c = Parse("1::2::3::4\r\n");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ((*c)[0].ts_ms, 4000);
}

TEST(ImportersTest, AutoDetectionPicksEachFormat) {
  // The same numbers, read three ways; a wrong guess would fail to parse.
  const std::vector<std::string> texts = {"1\t2\t3\t4\n", "1::2::3::4\n",
                                          "user,item,rating,timestamp\n1,2,3,4\n"};
  for (const std::string& t : texts) {
    StatusOr<std::vector<EventRecord>> r = Parse(t);
    ASSERT_TRUE(r.ok()) << t << r.status().ToString();
    ASSERT_EQ(r->size(), 1u);
    EXPECT_EQ((*r)[0], Rating(4000, "1", "2", 3.0f));
  }
  // Auto sees the header line; forcing a format that disagrees must fail.
  ExpectBad("1::2::3::4\n", RatingsFormat::kMovieLens100K, 1, "expected 4 tab-separated");
  ExpectBad("1\t2\t3\t4\n", RatingsFormat::kMovieLensDat, 1, "expected 4 '::'-separated");
  ExpectBad("1\t2\t3\t4\n", RatingsFormat::kCsv, 1, "has no user column");
}

TEST(ImportersTest, EmptyInput) {
  StatusOr<std::vector<EventRecord>> r = Parse("\n\n");
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->empty());
  ExpectBad("", RatingsFormat::kCsv, 1, "expected a CSV header");
  StatusOr<std::vector<EventRecord>> header_only = Parse("user,item,rating\n");
  ASSERT_TRUE(header_only.ok());
  EXPECT_TRUE(header_only->empty());
}

TEST(ImportersTest, MalformedMovieLensLines) {
  const auto ml = RatingsFormat::kAuto;
  const std::string ok = "1\t2\t3\t4\n";
  ExpectBad(ok + ok + "1\t2\t3\n", ml, 3, "expected 4 tab-separated fields, got 3");
  ExpectBad(ok + "\n1\t2\t3\t4\t5\n", ml, 3, "got 5");
  ExpectBad("\t2\t3\t4\n", ml, 1, "empty user id");
  ExpectBad("1\t\t3\t4\n", ml, 1, "empty item id");
  ExpectBad("1\x02\t2\t3\t4\n", ml, 1, "control character 0x02");
  ExpectBad(std::string(300, '9') + "\t2\t3\t4\n", ml, 1, "longer than 256");
  ExpectBad("1\t2\tgood\t4\n", ml, 1, "rating 'good' is not a finite number");
  ExpectBad("1\t2\t\t4\n", ml, 1, "not a finite number");
  ExpectBad("1\t2\tnan\t4\n", ml, 1, "not a finite number");
  ExpectBad("1\t2\t-inf\t4\n", ml, 1, "not a finite number");
  ExpectBad("1\t2\t1e40\t4\n", ml, 1, "not a finite number");
  ExpectBad("1\t2\t3\t4.5\n", ml, 1, "timestamp '4.5' is not an integer");
  ExpectBad("1\t2\t3\tyesterday\n", ml, 1, "not an integer");
  ExpectBad("1\t2\t3\t\n", ml, 1, "not an integer");
  ExpectBad("1\t2\t3\t99999999999999999999\n", ml, 1, "out of range");
  // Fits int64 as seconds but not as milliseconds.
  ExpectBad("1\t2\t3\t9223372036854776\n", ml, 1, "out of range");
  ExpectBad("1\t2\t3\t-9223372036854776\n", ml, 1, "out of range");
  ExpectBad("1::2::3\n", ml, 1, "expected 4 '::'-separated fields, got 3");
  ExpectBad("1::2::x::4\n", ml, 1, "rating 'x'");
}

TEST(ImportersTest, LargestTimestampsConvert) {
  StatusOr<std::vector<EventRecord>> r =
      Parse("1\t2\t3\t9223372036854775\n1\t2\t3\t-9223372036854775\n");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)[0].ts_ms, 9223372036854775000);
  EXPECT_EQ((*r)[1].ts_ms, -9223372036854775000);
}

TEST(ImportersTest, MalformedCsv) {
  const auto csv = RatingsFormat::kAuto;
  const std::string h = "user,item,rating,timestamp\n";
  ExpectBad(h + "u,i,3\n", csv, 2, "expected 4 comma-separated fields, got 3");
  ExpectBad(h + "u,i,3,4,5\n", csv, 2, "got 5");
  ExpectBad(h + "u,i,3,4\n\n\"u,x\",i,3,4\n", csv, 4, "quoted CSV fields are not supported");
  ExpectBad("\"user\",item,rating\n", csv, 1, "quoted");
  ExpectBad(h + " ,i,3,4\n", csv, 2, "empty user id");
  ExpectBad(h + "u,i,three,4\n", csv, 2, "not a finite number");
  ExpectBad(h + "u,i,3,now\n", csv, 2, "not an integer");
  ExpectBad("user,rating\n", csv, 1, "has no item column");
  ExpectBad("user,item\n", csv, 1, "has no rating column");
  ExpectBad("\n\nitem,rating\n", csv, 3, "has no user column");
  ExpectBad("user,userId,item,rating\n", csv, 1, "names the user column twice");
  ExpectBad("user,item,rating,value\n", csv, 1, "names the rating column twice");
}

TEST(ImportersTest, GarbageNeverCrashes) {
  uint64_t state = 7;
  for (int round = 0; round < 500; ++round) {
    std::string text;
    for (int i = 0; i < 80; ++i) {
      state = state * 6364136223846793005ull + 1442695040888963407ull;
      const char alphabet[] = "0123456789-.,:\t\n\r\"\0ueE+";
      text += alphabet[(state >> 33) % (sizeof alphabet - 1)];
    }
    for (RatingsFormat f : {RatingsFormat::kAuto, RatingsFormat::kMovieLens100K,
                            RatingsFormat::kMovieLensDat, RatingsFormat::kCsv}) {
      StatusOr<std::vector<EventRecord>> r = Parse(text, f);
      if (!r.ok()) {
        EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
        EXPECT_EQ(r.status().message().rfind("r.txt:", 0), 0u) << r.status().message();
      }
    }
  }
}

TEST(ImportersTest, HundredThousandLinesParseQuickly) {
  std::string text;
  for (int i = 0; i < 100000; ++i) {
    text += std::to_string(i % 943 + 1) + "\t" + std::to_string(i % 1682 + 1) + "\t" +
            std::to_string(i % 5 + 1) + "\t" + std::to_string(874724710 + i) + "\n";
  }
  const auto start = std::chrono::steady_clock::now();
  StatusOr<std::vector<EventRecord>> r = Parse(text);
  const auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->size(), 100000u);
  // Timing means nothing in unoptimised or sanitized builds.
#if defined(NDEBUG) && !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
  EXPECT_LT(elapsed, std::chrono::seconds(1));
#else
  (void)elapsed;
#endif
}

class FileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("streamrec_importers_test_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string Write(const std::string& name, const std::string& text) {
    const std::string path = (dir_ / name).string();
    std::ofstream(path, std::ios::binary) << text;
    return path;
  }
  std::filesystem::path dir_;
};

TEST_F(FileTest, ReadRatingsFileNamesThePathInErrors) {
  const std::string path = Write("bad.data", "1\t2\t3\t4\n1\t2\t3\n");
  StatusOr<std::vector<EventRecord>> r = ReadRatingsFile(path);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), path + ":2: expected 4 tab-separated fields, got 3");
}

TEST_F(FileTest, ReadRatingsFileErrors) {
  StatusOr<std::vector<EventRecord>> missing = ReadRatingsFile((dir_ / "none.csv").string());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  StatusOr<std::vector<EventRecord>> dir = ReadRatingsFile(dir_.string());
  EXPECT_EQ(dir.status().code(), StatusCode::kIOError);
}

TEST_F(FileTest, FindRatingsFilePrefersTheMovieLensLayouts) {
  EXPECT_EQ(FindRatingsFile(dir_.string()).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(FindRatingsFile((dir_ / "missing").string()).status().code(), StatusCode::kNotFound);
  Write("u1.base", "1\t2\t3\t4\n");
  EXPECT_FALSE(FindRatingsFile(dir_.string()).ok()) << "a split is not the full data";
  const std::string csv = Write("ratings.csv", "user,item,rating\n1,2,3\n");
  StatusOr<std::string> found = FindRatingsFile(dir_.string());
  ASSERT_TRUE(found.ok()) << found.status().ToString();
  EXPECT_EQ(*found, csv);
  const std::string dat = Write("ratings.dat", "1::2::3::4\n");
  EXPECT_EQ(*FindRatingsFile(dir_.string()), dat);
  const std::string udata = Write("u.data", "1\t2\t3\t4\n");
  EXPECT_EQ(*FindRatingsFile(dir_.string()), udata);
}

// The real MovieLens 100K files, where this checkout has them.
std::filesystem::path MovieLensDir() {
  const char* env = std::getenv("STREAMREC_DATA");
  const std::filesystem::path data =
      (env != nullptr && *env != '\0')
          ? std::filesystem::path(env)
          : std::filesystem::path(STREAMREC_SOURCE_DIR) / ".." / "shared" / "data";
  return data / "ml-100k";
}

TEST(MovieLensDataTest, FullDataHasTheDocumentedShape) {
  const std::filesystem::path dir = MovieLensDir();
  if (!std::filesystem::exists(dir / "u.data")) {
    GTEST_SKIP() << "no MovieLens 100K at " << dir << " (set STREAMREC_DATA)";
  }
  StatusOr<std::string> found = FindRatingsFile(dir.string());
  ASSERT_TRUE(found.ok()) << found.status().ToString();
  StatusOr<std::vector<EventRecord>> r = ReadRatingsFile(*found);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  std::set<std::string> users, items;
  size_t fives = 0;
  for (const EventRecord& e : *r) {
    users.insert(e.user);
    items.insert(e.item);
    fives += e.value == 5.0f;
    ASSERT_EQ(e.ts_ms % 1000, 0);
  }
  EXPECT_EQ(r->size(), 100000u);
  EXPECT_EQ(users.size(), 943u);
  EXPECT_EQ(items.size(), 1682u);
  EXPECT_EQ(fives, 21201u);  // per the data set's README
  EXPECT_EQ(r->front(), Rating(881250949000, "196", "242", 3.0f));
}

TEST(MovieLensDataTest, SplitsHaveTheDocumentedSizes) {
  const std::filesystem::path dir = MovieLensDir();
  if (!std::filesystem::exists(dir / "u1.base")) {
    GTEST_SKIP() << "no MovieLens 100K at " << dir << " (set STREAMREC_DATA)";
  }
  StatusOr<std::vector<EventRecord>> base = ReadRatingsFile((dir / "u1.base").string());
  ASSERT_TRUE(base.ok()) << base.status().ToString();
  EXPECT_EQ(base->size(), 80000u);
  StatusOr<std::vector<EventRecord>> test = ReadRatingsFile((dir / "u1.test").string());
  ASSERT_TRUE(test.ok()) << test.status().ToString();
  EXPECT_EQ(test->size(), 20000u);
}

}  // namespace
}  // namespace streamrec::tools
