// The public data sets' native formats (tools/data/importers.h ParseLog,
// ImportPath) on small fixtures written here in each format, and the
// `streamrec datasets` table against what `streamrec import` accepts. No
// data set is downloaded.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <boost/json.hpp>
#include <filesystem>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "tests/tools/cli_harness.h"
#include "tools/data/importers.h"
#include "tools/data/public_datasets.h"

namespace streamrec::tools {
namespace {

using testing::CliTest;
using testing::Contains;
using testing::ExpectUsageError;
using testing::ReadFile;
using testing::RunResult;
using testing::WriteFile;
namespace fs = std::filesystem;

StatusOr<std::vector<EventRecord>> Parse(LogFormat format, const std::string& text) {
  std::istringstream in(text);
  std::vector<EventRecord> events;
  if (Status st = ParseLog(in, "f.txt", format, &events); !st.ok()) return st;
  return events;
}

void ExpectEvents(LogFormat format, const std::string& text, const std::vector<EventRecord>& want) {
  SCOPED_TRACE(text);
  StatusOr<std::vector<EventRecord>> r = Parse(format, text);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, want);
}

// An InvalidArgument "f.txt:<line>: ..." holding `what`.
void ExpectBad(LogFormat format, const std::string& text, int line, const std::string& what) {
  SCOPED_TRACE(text);
  StatusOr<std::vector<EventRecord>> r = Parse(format, text);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  const std::string prefix = "f.txt:" + std::to_string(line) + ": ";
  EXPECT_EQ(r.status().message().rfind(prefix, 0), 0u) << r.status().message();
  EXPECT_NE(r.status().message().find(what), std::string::npos) << r.status().message();
}

EventRecord Event(int64_t ts_ms, std::string user, std::string item, std::string type,
                  float value = 0.0f) {
  return {ts_ms, std::move(user), std::move(item), std::move(type), value};
}

TEST(ImportFormatTest, AmazonRatingsEachLayout) {
  // 2018: item first.
  ExpectEvents(
      LogFormat::kAmazonRatings,
      "0001713353,A1C6M8LCIX4M6M,5.0,1123804800\r\n0001713353,A1REUF3A1YCPHM,4,1112140800\n",
      {Event(1123804800000, "A1C6M8LCIX4M6M", "0001713353", "rating", 5.0f),
       Event(1112140800000, "A1REUF3A1YCPHM", "0001713353", "rating", 4.0f)});
  // 2014: user first.
  ExpectEvents(LogFormat::kAmazonRatings2014, "AH2L9G3DQHHAJ,0000000116,4.0,1019865600\n",
               {Event(1019865600000, "AH2L9G3DQHHAJ", "0000000116", "rating", 4.0f)});
  // 2023 pure-ID CSV: its header, user first, milliseconds.
  ExpectEvents(
      LogFormat::kAmazonRatings,
      "user_id,parent_asin,rating,timestamp\n"
      "AGKHLEW2SOWHNMFQIJGBECAF7INQ,B081TJ8YS3,4.0,1588615855070\n",
      {Event(1588615855070, "AGKHLEW2SOWHNMFQIJGBECAF7INQ", "B081TJ8YS3", "rating", 4.0f)});
}

TEST(ImportFormatTest, AmazonRatingsMalformed) {
  const std::string good = "0001713353,A1C6M8LCIX4M6M,5.0,1123804800\n";
  ExpectBad(LogFormat::kAmazonRatings, good + "\"0001,x\",A1,5.0,1\n", 2,
            "quoted CSV fields are not supported");
  ExpectBad(LogFormat::kAmazonRatings, good + good + "0001713353,A1,5.0\n", 3,
            "expected 4 comma-separated fields, got 3");
  ExpectBad(LogFormat::kAmazonRatings, "0001713353,A1,five,1123804800\n", 1,
            "rating 'five' is not a finite number");
  ExpectBad(LogFormat::kAmazonRatings, "0001713353,,5,1123804800\n", 1, "empty user id");
  ExpectBad(LogFormat::kAmazonRatings2014, "A1,0001713353,5,2005-08-12\n", 1,
            "timestamp '2005-08-12' is not an integer number of seconds");
  ExpectBad(LogFormat::kAmazonRatings, "user_id,parent_asin,rating,timestamp\nU,I,5,1.5e12\n", 2,
            "is not an integer number of milliseconds");
}

TEST(ImportFormatTest, AmazonReviewsBothGenerations) {
  ExpectEvents(
      LogFormat::kAmazonReviews,
      // 2018.
      R"({"overall": 5.0, "verified": true, "reviewTime": "09 13, 2009", )"
      R"("reviewerID": "A3HFKZ0AO5GLQD", "asin": "0001713353", "reviewerName": "Ann", )"
      R"("reviewText": "Loved it, \"really\".", "summary": "Yes", "unixReviewTime": 1252800000})"
      "\n"
      // 2014: integer stars, "helpful".
      R"({"reviewerID": "A2SUAM1J3GNN3B", "asin": "0000013714", "helpful": [2, 3], )"
      R"("overall": 4, "unixReviewTime": 1393545600, "reviewTime": "02 28, 2014"})"
      "\n\n"
      // 2023: parent_asin preferred over asin; timestamp in ms.
      R"({"rating": 3.0, "title": "ok", "text": "fine", "images": [], "asin": "B00YQ6X8EO", )"
      R"("parent_asin": "B00YQ6X8EP", "user_id": "AGKHLEW2SOWHNMFQIJGBECAF7INQ", )"
      R"("timestamp": 1588687728923, "helpful_vote": 0, "verified_purchase": true})"
      "\n"
      // 2023 without parent_asin: asin.
      R"({"rating": 1, "asin": "B01", "user_id": "U2", "timestamp": 1588687728924})"
      "\n",
      {Event(1252800000000, "A3HFKZ0AO5GLQD", "0001713353", "rating", 5.0f),
       Event(1393545600000, "A2SUAM1J3GNN3B", "0000013714", "rating", 4.0f),
       Event(1588687728923, "AGKHLEW2SOWHNMFQIJGBECAF7INQ", "B00YQ6X8EP", "rating", 3.0f),
       Event(1588687728924, "U2", "B01", "rating", 1.0f)});
}

TEST(ImportFormatTest, AmazonReviewsMalformed) {
  const std::string good =
      R"({"reviewerID": "A", "asin": "B", "overall": 5.0, "unixReviewTime": 1})"
      "\n";
  ExpectBad(LogFormat::kAmazonReviews, good + "{\"reviewerID\": \"A\",\n", 2, "not JSON");
  ExpectBad(LogFormat::kAmazonReviews, good + good + "[1, 2]\n", 3, "expected a JSON object");
  ExpectBad(LogFormat::kAmazonReviews, R"({"asin": "B", "overall": 5.0})", 1,
            "no 'reviewerID' (2014/2018) or 'user_id' (2023)");
  ExpectBad(LogFormat::kAmazonReviews,
            R"({"reviewerID": "A", "asin": "B", "overall": "5", "unixReviewTime": 1})", 1,
            "'overall' is missing or not a finite number");
  ExpectBad(LogFormat::kAmazonReviews,
            R"({"user_id": "U", "asin": "B", "rating": 5, "timestamp": 1.5})", 1,
            "'timestamp' is missing, not an integer or out of range");
  ExpectBad(LogFormat::kAmazonReviews, R"({"user_id": "U", "rating": 5, "timestamp": 1})", 1,
            "empty item id");
  ExpectBad(LogFormat::kAmazonReviews,
            R"({"reviewerID": "A\u0001", "asin": "B", "overall": 5, "unixReviewTime": 1})", 1,
            "contains control character 0x01");
}

TEST(ImportFormatTest, RetailRocketMapsEventTypes) {
  ExpectEvents(LogFormat::kRetailRocket,
               "timestamp,visitorid,event,itemid,transactionid\n"
               "1433221332117,257597,view,355908,\n"
               "1433224214164,992329,addtocart,248676,\n"
               "1433193500981,599528,transaction,356475,4000\n",
               {Event(1433221332117, "257597", "355908", "view"),
                Event(1433224214164, "992329", "248676", "cart"),
                Event(1433193500981, "599528", "356475", "purchase")});
}

TEST(ImportFormatTest, RetailRocketMalformed) {
  const std::string header = "timestamp,visitorid,event,itemid,transactionid\n";
  ExpectBad(LogFormat::kRetailRocket, "1433221332117,257597,view,355908,\n", 1,
            "expected the header 'timestamp,visitorid,event,itemid,transactionid'");
  ExpectBad(LogFormat::kRetailRocket, header + "1433221332117,257597,purchase,355908,\n", 2,
            "event 'purchase' is not view, addtocart or transaction");
  ExpectBad(LogFormat::kRetailRocket, header + "1433221332117,257597,view,355908\n", 2,
            "expected 5 comma-separated fields, got 4");
  ExpectBad(LogFormat::kRetailRocket, header + "2015-06-02,257597,view,355908,\n", 2,
            "timestamp '2015-06-02' is not an integer number of milliseconds");
  ExpectBad(LogFormat::kRetailRocket, "", 1, "empty file");
}

TEST(ImportFormatTest, NetflixMovieBlocks) {
  ExpectEvents(LogFormat::kNetflix,
               "1:\n1488844,3,2005-09-06\n822109,5,2005-05-13\r\n2:\n1488844,4,2005-09-05\n",
               {Event(1125964800000, "1488844", "1", "rating", 3.0f),
                Event(1115942400000, "822109", "1", "rating", 5.0f),
                Event(1125878400000, "1488844", "2", "rating", 4.0f)});
}

TEST(ImportFormatTest, NetflixMalformed) {
  ExpectBad(LogFormat::kNetflix, "1488844,3,2005-09-06\n", 1,
            "a rating before the first 'MovieID:' line");
  ExpectBad(LogFormat::kNetflix, "1:\n1488844,3,2005-09-06\n1488845,3,2005-02-30\n", 3,
            "date '2005-02-30' is not YYYY-MM-DD");
  // qualifying.txt: no ratings.
  ExpectBad(LogFormat::kNetflix, "1:\n1046323,2005-12-19\n", 2,
            "expected 3 comma-separated fields, got 2");
  ExpectBad(LogFormat::kNetflix, "1:\n1488844,x,2005-09-06\n", 2, "rating 'x'");
  ExpectBad(LogFormat::kNetflix, ":\n", 1, "empty movie id");
}

TEST(ImportFormatTest, YoochooseClicksAndBuys) {
  ExpectEvents(LogFormat::kYoochoose,
               "1,2014-04-07T10:51:09.277Z,214536502,0\n1,2014-04-07T10:54:09.868Z,214536500,S\n",
               {Event(1396867869277, "1", "214536502", "click"),
                Event(1396868049868, "1", "214536500", "click")});
  ExpectEvents(LogFormat::kYoochoose, "420374,2014-04-06T18:44:58.314Z,214537888,12462,1\n",
               {Event(1396809898314, "420374", "214537888", "purchase")});
  // Times before the epoch and fractions of any length, in UTC.
  ExpectEvents(LogFormat::kYoochoose, "7,1969-12-31T23:59:59.5Z,9,0\n7,1970-01-01T00:00:00Z,9,0\n",
               {Event(-500, "7", "9", "click"), Event(0, "7", "9", "click")});
}

TEST(ImportFormatTest, YoochooseMalformed) {
  const std::string click = "1,2014-04-07T10:51:09.277Z,214536502,0\n";
  ExpectBad(LogFormat::kYoochoose, click + "420374,2014-04-06T18:44:58.314Z,214537888,12462,1\n", 2,
            "expected 4 comma-separated fields, got 5");
  ExpectBad(LogFormat::kYoochoose, "1,2014-04-07T10:51:09.277Z,214536502\n", 1,
            "expected 4 (clicks) or 5 (buys) comma-separated fields, got 3");
  ExpectBad(LogFormat::kYoochoose, click + "1,2014-04-07 10:51:09,214536502,0\n", 2,
            "time '2014-04-07 10:51:09' is not ISO 8601 UTC");
  ExpectBad(LogFormat::kYoochoose, "1,2014-04-07T10:51:09.277+02:00,214536502,0\n", 1,
            "is not ISO 8601 UTC");
  ExpectBad(LogFormat::kYoochoose, "1,2014-04-07T24:00:00Z,214536502,0\n", 1,
            "is not ISO 8601 UTC");
  ExpectBad(LogFormat::kYoochoose, ",2014-04-07T10:51:09.277Z,214536502,0\n", 1, "empty user id");
}

TEST(ImportFormatTest, LastFmPlaysAreViews) {
  ExpectEvents(
      LogFormat::kLastFm1K,
      "user_000001\t2009-05-04T23:08:57Z\tf1b1cf71-bd35-4e99-8624-24a6e15f133a\t"
      "Deep Dish\t\tFuck Me Im Famous\n"
      "user_000639\t2009-05-04T13:54:10Z\ta3cb23fc-acd3-4ce0-8f36-1e5aa6a18432\t"
      "The Dogs D'Amour\t2e8a7f5c-6dc4-4a29-8b26-cd1f1d8f1e4b\t\"Fall in Love Again?\"\n",
      {Event(1241478537000, "user_000001", "Deep Dish - Fuck Me Im Famous", "view"),
       Event(1241445250000, "user_000639", "2e8a7f5c-6dc4-4a29-8b26-cd1f1d8f1e4b", "view")});
}

TEST(ImportFormatTest, LastFmMalformed) {
  const std::string good = "user_000001\t2009-05-04T23:08:57Z\t\tArtist\t\tTrack\n";
  ExpectBad(LogFormat::kLastFm1K, good + "user_000001\t2009-05-04T23:08:57Z\t\tArtist\t\n", 2,
            "expected 6 tab-separated fields, got 5");
  ExpectBad(LogFormat::kLastFm1K, "user_000001\t1241478537\t\tArtist\t\tTrack\n", 1,
            "time '1241478537' is not ISO 8601 UTC");
  ExpectBad(LogFormat::kLastFm1K, "user_000001\t2009-05-04T23:08:57Z\t\t\t\t\n", 1,
            "no track mbid, artist name or track name");
  ExpectBad(LogFormat::kLastFm1K, "\t2009-05-04T23:08:57Z\t\tArtist\t\tTrack\n", 1,
            "empty user id");
}

// ImportPath: format names, directories as the data sets unpack.
class ImportFormatPathTest : public CliTest {};

TEST_F(ImportFormatPathTest, MovieLensFormatsReadTheirLayout) {
  fs::create_directories(dir_ / "ml-1m");
  WriteFile(dir_ / "ml-1m" / "ratings.dat", "1::1193::5::978300760\n");
  StatusOr<std::vector<EventRecord>> r = ImportPath("movielens-1m", Path("ml-1m"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, std::vector<EventRecord>{Event(978300760000, "1", "1193", "rating", 5.0f)});
  // The 100K layout names its own file; a ratings.dat is not it.
  r = ImportPath("movielens-100k", Path("ml-1m"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(Contains(r.status().message(), "no u.data in")) << r.status().message();
  r = ImportPath("movielens-100k", Path("ml-1m/ratings.dat"));
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(Contains(r.status().message(), "ratings.dat:1: expected 4 tab-separated fields"))
      << r.status().message();
  WriteFile(Path("ratings.csv"), "userId,movieId,rating,timestamp\n1,296,5.0,1147880044\n");
  r = ImportPath("movielens-25m", Path("ratings.csv"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, std::vector<EventRecord>{Event(1147880044000, "1", "296", "rating", 5.0f)});
}

TEST_F(ImportFormatPathTest, NetflixDirectoryInNameOrder) {
  fs::create_directories(dir_ / "training_set");
  WriteFile(dir_ / "training_set" / "mv_0000002.txt", "2:\n6,4,2003-01-01\n");
  WriteFile(dir_ / "training_set" / "mv_0000001.txt", "1:\n6,3,2003-01-01\n");
  WriteFile(dir_ / "training_set" / "README", "not a ratings file\n");
  StatusOr<std::vector<EventRecord>> r = ImportPath("netflix", Path("training_set"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, (std::vector<EventRecord>{Event(1041379200000, "6", "1", "rating", 3.0f),
                                          Event(1041379200000, "6", "2", "rating", 4.0f)}));
  // A bad line names the file it is in.
  WriteFile(dir_ / "training_set" / "mv_0000002.txt", "2:\n6,4,2003-01-01\n6,4\n");
  r = ImportPath("netflix", Path("training_set"));
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(Contains(r.status().message(), "mv_0000002.txt:3: expected 3 comma-separated"))
      << r.status().message();
  r = ImportPath("netflix", dir_.string());
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(Contains(r.status().message(), "no combined_data_*.txt or mv_*.txt in"))
      << r.status().message();
}

TEST_F(ImportFormatPathTest, YoochooseDirectoryReadsClicksThenBuys) {
  fs::create_directories(dir_ / "yc");
  WriteFile(dir_ / "yc" / "yoochoose-buys.dat", "11,2014-04-06T18:44:58.314Z,214537888,12462,1\n");
  WriteFile(dir_ / "yc" / "yoochoose-clicks.dat", "11,2014-04-06T18:40:00Z,214537888,0\n");
  StatusOr<std::vector<EventRecord>> r = ImportPath("yoochoose", Path("yc"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, (std::vector<EventRecord>{Event(1396809600000, "11", "214537888", "click"),
                                          Event(1396809898314, "11", "214537888", "purchase")}));
  // Either file alone.
  r = ImportPath("yoochoose", Path("yc/yoochoose-buys.dat"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->size(), 1u);
}

TEST_F(ImportFormatPathTest, UnknownFormatAndDirectoryErrors) {
  StatusOr<std::vector<EventRecord>> r = ImportPath("parquet", Path("x"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(Contains(r.status().message(), "unknown format 'parquet' (known: movielens, csv,"))
      << r.status().message();
  r = ImportPath("amazon-reviews", dir_.string());
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(Contains(r.status().message(), "is a directory, not an Amazon reviews JSON lines"))
      << r.status().message();
  r = ImportPath("lastfm-1k", Path("missing.tsv"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
}

// The binary: `import` in the new formats, `datasets`.
class ImportFormatCliTest : public CliTest {};

TEST_F(ImportFormatCliTest, RetailRocketDirectoryToAnEventFile) {
  fs::create_directories(dir_ / "rr");
  WriteFile(dir_ / "rr" / "events.csv",
            "timestamp,visitorid,event,itemid,transactionid\n"
            "1433221332117,257597,view,355908,\n"
            "1433224214164,257597,addtocart,355908,\n"
            "1433224214999,257597,transaction,355908,4000\n");
  const std::string out = Path("rr.events");
  const RunResult r = Run({"import", "retailrocket", Path("rr"), "--out", out});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(Contains(r.err, "imported 3 events (1 users, 1 items)")) << r.err;
  EXPECT_EQ(ReadFile(out),
            "#streamrec-events v1\n"
            "1433221332117\t257597\t355908\tview\t0\n"
            "1433224214164\t257597\t355908\tcart\t0\n"
            "1433224214999\t257597\t355908\tpurchase\t0\n");
}

TEST_F(ImportFormatCliTest, MalformedLineNamesFileAndLineAndWritesNothing) {
  const std::string in = Path("clicks.dat"), out = Path("out.events");
  WriteFile(in, "1,2014-04-07T10:51:09.277Z,214536502,0\n1,yesterday,214536500,0\n");
  ExpectUsageError(Run({"import", "yoochoose", in, "--out", out}),
                   {"clicks.dat:2: time 'yesterday' is not ISO 8601 UTC"});
  EXPECT_FALSE(fs::exists(out));
  ExpectUsageError(
      Run({"import", "netflx", in, "--out", out}),
      {"got 'netflx'", "netflix", "amazon-reviews", "lastfm-1k", "streamrec datasets"});
}

class DatasetsCliTest : public CliTest {};

TEST_F(DatasetsCliTest, JsonListsEveryImportFormat) {
  const RunResult r = Run({"datasets", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const boost::json::value v = boost::json::parse(r.out);
  ASSERT_TRUE(v.is_array()) << r.out;
  std::set<std::string> listed;
  const std::vector<std::string_view>& formats = ImportFormats();
  for (const boost::json::value& d : v.as_array()) {
    const boost::json::object& o = d.as_object();
    for (const char* key : {"name", "title", "size", "events", "license", "url", "import"}) {
      ASSERT_TRUE(o.contains(key) && o.at(key).is_string()) << key << " in " << d;
      EXPECT_FALSE(o.at(key).as_string().empty()) << key << " in " << d;
    }
    const std::string name(o.at("name").as_string());
    EXPECT_TRUE(listed.insert(name).second) << name << " listed twice";
    // The command names a format import accepts: its own.
    std::istringstream command(std::string(o.at("import").as_string()));
    std::string streamrec, import, format, path, out_flag, out;
    command >> streamrec >> import >> format >> path >> out_flag >> out;
    EXPECT_EQ(streamrec + " " + import, "streamrec import") << d;
    EXPECT_EQ(format, name);
    EXPECT_NE(std::find(formats.begin(), formats.end(), format), formats.end()) << format;
    EXPECT_EQ(out_flag + " " + out, "--out " + name + ".events");
  }
  // Every format but the two generic ones is a listed data set.
  std::set<std::string> data_set_formats(formats.begin(), formats.end());
  data_set_formats.erase("movielens");
  data_set_formats.erase("csv");
  EXPECT_EQ(listed, data_set_formats);
  // And the binary takes each: a missing path is what it stops at.
  for (const std::string& format : listed) {
    const RunResult imp = Run({"import", format, Path("missing"), "--out", Path("o.events")});
    EXPECT_EQ(imp.exit_code, 2) << format;
    EXPECT_TRUE(Contains(imp.err, "no such file")) << format << ": " << imp.err;
  }
}

TEST_F(DatasetsCliTest, TextAndHelp) {
  const RunResult r = Run({"datasets"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  for (const PublicDataset& d : PublicDatasets()) {
    EXPECT_TRUE(Contains(r.out, fmt::format("\n{}: {}\n", d.name, d.title))) << d.name;
    EXPECT_TRUE(Contains(r.out, ImportCommand(d))) << d.name;
  }
  EXPECT_TRUE(Contains(r.out, "CC BY-NC-SA 4.0"));
  EXPECT_TRUE(Contains(r.out, "Netflix no longer distributes it"));
  const RunResult help = Run({"datasets", "--help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_TRUE(Contains(help.out, "--json")) << help.out;
  ExpectUsageError(Run({"datasets", "--bogus"}), {"bogus"});
  const RunResult usage = Run({"--help"});
  EXPECT_EQ(usage.exit_code, 0);
  EXPECT_TRUE(Contains(usage.out, "\n  datasets ")) << usage.out;
  const RunResult import_help = Run({"import", "--help"});
  EXPECT_EQ(import_help.exit_code, 0);
  EXPECT_TRUE(Contains(import_help.out, "retailrocket")) << import_help.out;
}

}  // namespace
}  // namespace streamrec::tools
