// Integration tests of the `streamrec` binary: each test runs the real
// executable as a child process (posix_spawn, no shell), with stdout and
// stderr captured to files in a per-test temporary directory, and checks the
// exit code and the output.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <cmath>
#include <sstream>
#include <string>
#include <vector>

#include "tests/tools/cli_harness.h"

namespace streamrec::tools {
namespace {

using namespace streamrec::tools::testing;  // NOLINT: the harness is this file's vocabulary
namespace fs = std::filesystem;
namespace json = boost::json;

// Top level and help.

TEST_F(CliTest, NoArgumentsPrintsUsageAndFails) {
  const RunResult r = Run({});
  EXPECT_EQ(r.exit_code, 2);
  const std::string all = r.out + r.err;
  EXPECT_TRUE(Contains(all, "usage: streamrec <command>")) << all;
  for (const char* cmd : {"import", "eval", "bench", "generate", "demo"}) {
    EXPECT_TRUE(Contains(all, std::string("  ") + cmd + " ")) << cmd;
  }
}

TEST_F(CliTest, HelpSucceeds) {
  for (const char* flag : {"--help", "-h", "help"}) {
    SCOPED_TRACE(flag);
    const RunResult r = Run({flag});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_TRUE(Contains(r.out, "usage: streamrec <command>")) << r.out;
    EXPECT_EQ(r.err, "");
  }
}

TEST_F(CliTest, UnknownCommandNamesIt) {
  const RunResult r = Run({"frobnicate", "--x"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(Contains(r.err, "unknown command 'frobnicate'")) << r.err;
  EXPECT_TRUE(Contains(r.err, "usage: streamrec")) << r.err;
  EXPECT_EQ(r.out, "");
}

TEST_F(CliTest, EverySubcommandHasHelp) {
  // The subcommand and one option its help must document.
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"import", "--out"},   {"eval", "--data"}, {"bench", "--catalog"},
      {"generate", "--out"}, {"demo", "--dir"},
  };
  for (const auto& [cmd, option] : cases) {
    SCOPED_TRACE(cmd);
    const RunResult r = Run({cmd, "--help"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_TRUE(Contains(r.out, "streamrec " + cmd + ":")) << r.out;
    EXPECT_TRUE(Contains(r.out, option)) << r.out;
    EXPECT_EQ(r.err, "");
  }
}

TEST_F(CliTest, UnknownOptionIsAUsageError) {
  ExpectUsageError(Run({"eval", "--no-such-flag"}), {"streamrec eval:", "no-such-flag"});
  ExpectUsageError(Run({"generate", "--out"}), {"streamrec generate:", "out"});
}

// Boost's po::error::what() fills its message's placeholders until none is
// left, so a flag or value that holds one ("%canonical_option%") looped
// forever. Every command words these errors with ProgramOptionsMessage
// (tools/cli/command_line.h): a clean message, exit 2.
TEST_F(CliTest, PlaceholderInFlagOrValueIsAUsageError) {
  for (const std::string cmd :
       {"serve", "import", "eval", "bench", "generate", "demo", "log", "replay"}) {
    SCOPED_TRACE(cmd);
    ExpectUsageError(Run({cmd, "--%canonical_option%"}),
                     {"streamrec " + cmd + ": unrecognised option '--%canonical_option%'"});
  }
  ExpectUsageError(Run({"generate", "--events", "%canonical_option%", "--out", Path("x")}),
                   {"streamrec generate: the argument ('%canonical_option%') for option "
                    "'--events' is invalid"});
  ExpectUsageError(Run({"eval", "--epochs", "%value%x"}),
                   {"the argument ('%value%x') for option '--epochs' is invalid"});
}

// import and generate.

TEST_F(CliTest, ImportMalformedFileNamesFileAndLineAndWritesNothing) {
  const std::string good = "1\t10\t4\t881250949\n2\t20\t3\t881250950\n";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {good + "3\t30\tfour\t881250951\n", "bad.data:3: rating 'four' is not a finite number"},
      {good + "3\t30\t4\n", "bad.data:3: expected 4 tab-separated fields, got 3"},
      {"1\t\t4\t881250949\n", "bad.data:1: empty item id"},
  };
  const std::string bad = Path("bad.data"), out = Path("out.events");
  for (const auto& [text, message] : cases) {
    WriteFile(bad, text);
    ExpectUsageError(Run({"import", "movielens", bad, "--out", out}), {message});
    EXPECT_FALSE(fs::exists(out));
  }
}

TEST_F(CliTest, ImportWritesAnEventFile) {
  const std::string in = Path("good.data");
  WriteFile(in, "1\t10\t4\t881250949\r\n2\t20\t3.5\t881250950\r\n1\t20\t2\t881250951\r\n");
  const std::string out = Path("out.events");
  const RunResult r = Run({"import", "movielens", in, "--out", out});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(Contains(r.err, "imported 3 events (2 users, 2 items)")) << r.err;
  EXPECT_EQ(ReadFile(out),
            "#streamrec-events v1\n"
            "881250949000\t1\t10\trating\t4\n"
            "881250950000\t2\t20\trating\t3.5\n"
            "881250951000\t1\t20\trating\t2\n");
}

TEST_F(CliTest, ImportUsageErrors) {
  const std::string out = Path("out.events");
  ExpectUsageError(Run({"import", "parquet", Path("x"), "--out", out}),
                   {"format must be 'movielens' or 'csv', got 'parquet'"});
  ExpectUsageError(Run({"import", "movielens", "--out", out}), {"a path to import is required"});
  ExpectUsageError(Run({"import", "movielens", Path("missing.data"), "--out", out}),
                   {"missing.data"});
  const std::string in = Path("good.data");
  WriteFile(in, "1\t10\t4\t881250949\n");
  ExpectUsageError(Run({"import", "movielens", in}), {"--out is required"});
  EXPECT_FALSE(fs::exists(out));
}

TEST_F(CliTest, GenerateIsDeterministic) {
  const std::string a = Generate("a.events", "500"), b = Generate("b.events", "500");
  const std::string text = ReadFile(a);
  EXPECT_EQ(text.rfind("#streamrec-events v1\n", 0), 0u);
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 501);
  EXPECT_EQ(text, ReadFile(b));
  const RunResult to_stdout = Run(GenerateArgs("500", "-"));
  EXPECT_EQ(to_stdout.exit_code, 0) << to_stdout.err;
  EXPECT_EQ(to_stdout.out, text);
  ExpectUsageError(Run({"generate", "--events", "10"}), {"--out is required"});
}

// eval.

TEST_F(CliTest, EvalJsonOnGeneratedDataIsValidAndDeterministic) {
  const std::string data = Generate("gen.events");
  const std::vector<std::string> args = {"eval",  "--data", data,       "--split",
                                         "80/20", "--json", "--epochs", "5"};
  const RunResult r = Run(args);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json::value v;
  ASSERT_NO_THROW(v = json::parse(r.out)) << r.out;
  const json::object& root = v.as_object();
  EXPECT_TRUE(std::regex_match(std::string(root.at("algorithm").as_string()), kAlgorithm));
  const json::array& folds = root.at("folds").as_array();
  ASSERT_EQ(folds.size(), 1u);
  const json::object& fold = folds[0].as_object();
  EXPECT_EQ(fold.at("fold").as_string(), "80/20");
  EXPECT_GT(fold.at("test_ratings").to_number<double>(), 0);
  const double rmse = fold.at("rmse").to_number<double>();
  EXPECT_TRUE(std::isfinite(rmse)) << rmse;
  EXPECT_GT(rmse, 0.0);
  EXPECT_LT(rmse, 5.0);  // ratings are 1..5
  const double ndcg = root.at("mean").as_object().at("ndcg").to_number<double>();
  EXPECT_GE(ndcg, 0.0);
  EXPECT_LE(ndcg, 1.0);
  EXPECT_TRUE(root.at("mean").as_object().contains("train_seconds"));

  const RunResult again = Run(args);
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_FALSE(Contains(WithoutTrainSeconds(r.out), "train_seconds"));
  EXPECT_EQ(WithoutTrainSeconds(r.out), WithoutTrainSeconds(again.out));
}

TEST_F(CliTest, EvalTableOnGeneratedData) {
  const std::string data = Generate("gen.events");
  const RunResult r = Run({"eval", "--data", data, "--split", "75/25", "--epochs", "3"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::regex title("^algorithm [a-z]+ rank [0-9]+;");
  EXPECT_TRUE(std::regex_search(r.out, title)) << r.out;
  EXPECT_TRUE(Contains(r.out, "NDCG@10")) << r.out;
  EXPECT_TRUE(Contains(r.out, "\n75/25 ")) << r.out;
}

TEST_F(CliTest, EvalFixedTrainAndTestFiles) {
  // One generated stream cut in two files: the first 800 events train, the
  // rest test.
  const std::string text = ReadFile(Generate("gen.events", "1000"));
  std::istringstream in(text);
  std::string header, line, train = "", test = "";
  std::getline(in, header);
  for (int n = 0; std::getline(in, line); ++n) (n < 800 ? train : test) += line + "\n";
  WriteFile(Path("train.events"), header + "\n" + train);
  WriteFile(Path("test.events"), header + "\n" + test);
  const RunResult r = Run({"eval", "--train", Path("train.events"), "--test", Path("test.events"),
                           "--json", "--epochs", "3"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json::object root = json::parse(r.out).as_object();
  EXPECT_EQ(root.at("folds").as_array()[0].at("fold").as_string(), "train/test");
  EXPECT_GT(root.at("folds").as_array()[0].at("test_ratings").to_number<double>(), 0);
  // Numbers as people write them ("0.3468", not "3.468E-1").
  EXPECT_FALSE(std::regex_search(r.out, std::regex("[0-9]E[-+]?[0-9]"))) << r.out;
  EXPECT_TRUE(Contains(root.at("map_definition").as_string().c_str(), "min(10"));
  // The table says how MAP@K is computed.
  const RunResult table = Run(
      {"eval", "--train", Path("train.events"), "--test", Path("test.events"), "--epochs", "3"});
  ASSERT_EQ(table.exit_code, 0) << table.err;
  EXPECT_TRUE(Contains(table.out, "MAP@10: the mean over test users")) << table.out;
  ExpectUsageError(Run({"eval", "--train", Path("train.events")}),
                   {"--train and --test go together"});
  ExpectUsageError(Run({"eval", "--train", Path("train.events"), "--test", Path("test.events"),
                        "--split", "80/20"}),
                   {"--train/--test replace --data, --folds and --split"});
  ExpectUsageError(Run({"eval", "--train", Path("nope.events"), "--test", Path("test.events")}),
                   {"nope.events"});
}

TEST_F(CliTest, HelpShowsDefaultsAsWritten) {
  for (const char* cmd : {"eval", "replay", "bench", "serve", "generate"}) {
    const RunResult r = Run({cmd, "--help"});
    ASSERT_EQ(r.exit_code, 0) << cmd << r.err;
    // A float default printed with its binary noise, e.g. "0.100000001".
    EXPECT_FALSE(std::regex_search(r.out, std::regex("[0-9]\\.[0-9]*0000000[0-9]"))) << cmd << "\n"
                                                                                     << r.out;
    EXPECT_FALSE(std::regex_search(r.out, std::regex("[0-9]\\.[0-9]*9999999[0-9]"))) << cmd << "\n"
                                                                                     << r.out;
  }
  EXPECT_TRUE(Contains(Run({"eval", "--help"}).out, "(=0.1)")) << "some default of 0.1 expected";
}

TEST_F(CliTest, EvalUsageErrors) {
  const std::string data = Generate("gen.events");
  ExpectUsageError(Run({"eval", "--split", "80/20"}), {"--data is required"});
  ExpectUsageError(Run({"eval", "--data", data, "--folds", "u1", "--split", "80/20"}),
                   {"give exactly one of --folds or --split (or --train/--test)"});
  ExpectUsageError(Run({"eval", "--data", data}), {"give exactly one of --folds or --split"});
  ExpectUsageError(Run({"eval", "--data", data, "--split", "70/20"}), {"bad split '70/20'"});
  ExpectUsageError(Run({"eval", "--data", data, "--folds", "u5..u1"}), {"bad fold range 'u5..u1'"});
  ExpectUsageError(Run({"eval", "--data", data, "--split", "80/20", "--rank", "0"}),
                   {"--rank must be in [1, 1024]"});
  ExpectUsageError(Run({"eval", "--data", data, "--split", "80/20", "--algo", "nope"}),
                   {"unknown algorithm 'nope'"});
  ExpectUsageError(Run({"eval", "--data", Path("missing.events"), "--split", "80/20"}),
                   {"missing.events"});
  // --folds reads NAME.base / NAME.test next to --data.
  ExpectUsageError(Run({"eval", "--data", dir_.string(), "--folds", "u1"}), {"u1.base"});
}

TEST_F(CliTest, EvalConfigErrors) {
  const std::string data = Generate("gen.events"), conf = Path("bad.conf");
  // Config text and what the message must say besides the file's name.
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"[model]\nrank = 8\nrnak = 9\n", "model.rnak"},  // a typo in a key
      {"[modle]\nrank = 8\n", "modle.rank"},            // ... in a section
      {"[model]\nrank = 0\n", "model.rank must be in [1, 1024]"},
      {"[training]\nalgorithm = nope\n", "unknown algorithm 'nope'"},
  };
  for (const auto& [text, message] : cases) {
    WriteFile(conf, text);
    ExpectUsageError(Run({"eval", "--data", data, "--split", "80/20", "--config", conf}),
                     {"bad.conf", message});
    ExpectUsageError(Run({"eval", "--data", data, "--split", "80/20", "--config=" + conf}),
                     {"bad.conf", message});
  }
  ExpectUsageError(Run({"eval", "--data", data, "--split", "80/20", "--config", Path("no.conf")}),
                   {"cannot open config file", "no.conf"});
  WriteFile(conf, "[model]\nrnak = 9\n");
  ExpectUsageError(Run({"demo", "--dir", Path("demo"), "--config", conf}),
                   {"streamrec demo:", "model.rnak"});
  EXPECT_FALSE(fs::exists(Path("demo")));
}

TEST_F(CliTest, EvalWithShippedConfig) {
  const std::string conf = std::string(STREAMREC_SOURCE_DIR) + "/config/streamrec.conf";
  const std::string data = Generate("gen.events");
  const RunResult r =
      Run({"eval", "--data", data, "--split", "80/20", "--json", "--config", conf, "--epochs", "3",
           "--als-iters", "3", "--sweeps", "20", "--burn-in", "5"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json::value v = json::parse(r.out);
  // The file's values reach the model (a flag was given for neither).
  const std::string algorithm = IniValue(conf, "training", "algorithm");
  const std::string rank = IniValue(conf, "model", "rank");
  ASSERT_FALSE(algorithm.empty());
  ASSERT_FALSE(rank.empty());
  EXPECT_EQ(v.at("algorithm").as_string(), algorithm);
  EXPECT_EQ(v.at("rank").to_number<int>(), std::stoi(rank));
}

TEST_F(CliTest, EvalConfigSetsDefaultsAndFlagsOverrideThem) {
  const std::string data = Generate("gen.events");
  const std::string conf = Path("small.conf");
  WriteFile(conf, "[model]\nrank = 7\n[training]\nalgorithm = online\n");
  const RunResult from_file =
      Run({"eval", "--data", data, "--split", "80/20", "--json", "--config", conf});
  ASSERT_EQ(from_file.exit_code, 0) << from_file.err;
  json::value v = json::parse(from_file.out);
  EXPECT_EQ(v.at("rank").to_number<int>(), 7);
  EXPECT_EQ(v.at("algorithm").as_string(), "online");

  const RunResult overridden =
      Run({"eval", "--data", data, "--split", "80/20", "--json", "--config", conf, "--rank", "5",
           "--algo", "sgd", "--epochs", "2"});
  ASSERT_EQ(overridden.exit_code, 0) << overridden.err;
  v = json::parse(overridden.out);
  EXPECT_EQ(v.at("rank").to_number<int>(), 5);
  EXPECT_EQ(v.at("algorithm").as_string(), "sgd");
}

TEST_F(CliTest, EvalMovieLensFold) {
  const std::string ml = MovieLens100KDir();
  if (ml.empty()) GTEST_SKIP() << "no MovieLens 100K (set STREAMREC_DATA)";
  const RunResult r = Run({"eval", "--data", ml, "--folds", "u1", "--epochs", "10"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // The table: header, rule, then the fold's row.
  const std::regex row(R"((^|\n)u1 +([0-9.]+) +[0-9.]+ )");
  std::smatch m;
  ASSERT_TRUE(std::regex_search(r.out, m, row)) << r.out;
  const double rmse = std::stod(m[2].str());
  EXPECT_GT(rmse, 0.5);
  EXPECT_LT(rmse, 1.0);  // the mean rating alone gives ~1.15
  EXPECT_FALSE(Contains(r.out, "\nmean ")) << "one fold has no mean row";
}

// bench and demo.

TEST_F(CliTest, BenchLearner) {
  const RunResult r =
      Run({"bench", "learner", "--events", "20000", "--users", "100", "--items", "100"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(Contains(r.out, "20000 events over 100 users x 100 items")) << r.out;
  EXPECT_TRUE(Contains(r.out, "events/s")) << r.out;
}

// --repeat runs every case again on fresh models and shows the median with
// the range.
TEST_F(CliTest, BenchLearnerRepeats) {
  const RunResult r = Run({"bench", "learner", "--events", "5000", "--users", "50", "--items",
                           "50", "--repeat", "3"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(Contains(r.out, "median of 3 runs")) << r.out;
  EXPECT_TRUE(Contains(r.out, "; 3 runs ")) << r.out;
  ExpectUsageError(Run({"bench", "learner", "--repeat", "0"}), {"--repeat must be in [1, 100]"});
}

// The model thread's apply path on a small stream: both copies' parts and
// the replay before them are reported, and every event is taken.
TEST_F(CliTest, BenchApply) {
  const RunResult r = Run({"bench", "apply", "--users", "300", "--items", "200", "--preload",
                           "3000", "--events", "2000", "--batch", "100"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(Contains(r.out, "implicit objective, k=64: 300 users x 200 items")) << r.out;
  EXPECT_TRUE(Contains(r.out, "replay of 3000 events")) << r.out;
  EXPECT_TRUE(Contains(r.out, "the next 2000 events, runs of 100")) << r.out;
  EXPECT_TRUE(Contains(r.out, "second copy (ApplyFollowing)")) << r.out;
  EXPECT_TRUE(Contains(r.out, "us/event")) << r.out;
}

TEST_F(CliTest, BenchTopN) {
  const RunResult r = Run({"bench", "topn", "--catalog", "1000", "--queries", "5"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(Contains(r.out, "1000 items")) << r.out;
  EXPECT_TRUE(Contains(r.out, "p50")) << r.out;
  EXPECT_TRUE(Contains(r.out, " ms")) << r.out;
  EXPECT_TRUE(Contains(r.out, "ivf, 8 of 32 cells")) << r.out;
  const RunResult c = Run({"bench", "topn", "--catalog", "1000", "--queries", "5", "--vectors",
                           "clustered", "--probe", "4", "32"});
  ASSERT_EQ(c.exit_code, 0) << c.err;
  EXPECT_TRUE(Contains(c.out, "clustered")) << c.out;
  EXPECT_TRUE(Contains(c.out, "ivf, 4 of 32 cells")) << c.out;
  EXPECT_TRUE(Contains(c.out, "ivf, 32 of 32 cells")) << c.out;
}

TEST_F(CliTest, BenchUsageErrors) {
  ExpectUsageError(Run({"bench", "nope"}),
                   {"expected learner, apply, topn, log, recovery, freshness, ingest, features, "
                    "scale or cluster, got 'nope'"});
  ExpectUsageError(Run({"bench"}), {"expected learner, apply, topn, log, recovery, freshness, "
                                    "ingest, features, scale or cluster"});
  ExpectUsageError(Run({"bench", "apply", "--batch", "0"}), {"--batch >= 1"});
  ExpectUsageError(Run({"bench", "apply", "--batch", "10", "20"}), {"give one --batch"});
  ExpectUsageError(Run({"bench", "apply", "--config", "/nonexistent/streamrec.conf"}),
                   {"/nonexistent/streamrec.conf"});
  ExpectUsageError(Run({"bench", "cluster", "--replica", "127.0.0.1:1"}),
                   {"two or more --replica HOST:PORT"});
  ExpectUsageError(Run({"bench", "cluster", "--replica", "127.0.0.1:1", "--replica", "127.0.0.1:2",
                        "--events", "0"}),
                   {"--events >= 1"});
  ExpectUsageError(Run({"bench", "learner", "--events", "0"}), {"must be >= 1"});
  ExpectUsageError(Run({"bench", "topn", "--rank", "0"}), {"--rank must be in [1, 1024]"});
  ExpectUsageError(Run({"bench", "topn", "--vectors", "sparse"}),
                   {"--vectors must be gaussian or clustered, got 'sparse'"});
  ExpectUsageError(Run({"bench", "topn", "--probe", "0"}), {"--probe must be >= 1"});
}

TEST_F(CliTest, Demo) {
  const std::string demo_dir = Path("demo");
  const RunResult r =
      Run({"demo", "--dir", demo_dir, "--events", "20000", "--users", "300", "--items", "200"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // Users 0..2 are the busiest of the stream, so the model serves them; a
  // newcomer has no history and must be served popular items, and the demo
  // should say so as it does for the others.
  EXPECT_TRUE(Contains(r.out, "source model")) << r.out;
  EXPECT_TRUE(Contains(r.out, "source popular")) << r.out;
  EXPECT_TRUE(Contains(r.out, "RMSE")) << r.out;
  EXPECT_TRUE(fs::is_regular_file(fs::path(demo_dir) / "demo.events"));
}

TEST_F(CliTest, ImportToStdoutFeedsEvalFromStdin) {
  // `import ... --out -` then `eval --data -`: the pipe, through a file here.
  const std::string ratings = Path("u.data");
  std::string text;
  for (int u = 0; u < 60; ++u) {
    for (int i = 0; i < 25; ++i) {
      if ((u + i) % 3 == 0) continue;
      text += std::to_string(u) + "\t" + std::to_string(i) + "\t" +
              std::to_string(1 + (u * i) % 5) + "\t" + std::to_string(880000000 + u * 100 + i) +
              "\n";
    }
  }
  WriteFile(ratings, text);
  const RunResult imported = Run({"import", "movielens", ratings, "--out", "-"});
  ASSERT_EQ(imported.exit_code, 0) << imported.err;
  ASSERT_EQ(imported.out.rfind("#streamrec-events v1\n", 0), 0u);
  WriteFile(Path("piped.events"), imported.out);
  const RunResult piped =
      Run({"eval", "--data", "-", "--split", "80/20", "--json"}, Path("piped.events"));
  ASSERT_EQ(piped.exit_code, 0) << piped.err;
  const RunResult direct = Run({"eval", "--data", ratings, "--split", "80/20", "--json"});
  ASSERT_EQ(direct.exit_code, 0) << direct.err;
  EXPECT_EQ(WithoutTrainSeconds(piped.out), WithoutTrainSeconds(direct.out));
  // Garbage on stdin is a usage error naming <stdin> and the line.
  WriteFile(Path("garbage"), "not,a,ratings\nfile\n");
  const RunResult bad = Run({"eval", "--data", "-", "--split", "80/20"}, Path("garbage"));
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("<stdin>:1"), std::string::npos) << bad.err;
}

// eval --compare and --report.

TEST_F(CliTest, EvalCompareRanksAlgorithmsOnTheSameSplit) {
  const std::string data = Generate("gen.events", "4000");
  const std::vector<std::string> base = {
      "eval",         "--data", data,           "--split", "80/20",  "--epochs", "3",
      "--bpr-epochs", "5",      "--ials-iters", "3",       "--rank", "8"};
  std::vector<std::string> args = base;
  args.insert(args.end(), {"--compare", "sgd,ials,bpr,popular,random", "--json"});
  const RunResult r = Run(args);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json::value v;
  ASSERT_NO_THROW(v = json::parse(r.out)) << r.out;
  const json::array& rows = v.as_array();
  ASSERT_EQ(rows.size(), 5u);
  std::vector<std::string> names;
  double previous = 2.0;
  for (size_t n = 0; n < rows.size(); ++n) {
    const json::object& row = rows[n].as_object();
    names.emplace_back(row.at("algorithm").as_string());
    EXPECT_EQ(row.at("place").to_number<int>(), static_cast<int>(n + 1));
    const double ndcg = row.at("ndcg").to_number<double>();
    EXPECT_LE(ndcg, previous) << "ranked by NDCG, best first";
    previous = ndcg;
    // Rating error only for the rating model.
    EXPECT_EQ(row.at("rmse").is_null(), names.back() != "sgd") << names.back();
    EXPECT_TRUE(row.contains("train_seconds"));
  }
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"bpr", "ials", "popular", "random", "sgd"}));
  // The planted tastes: the implicit models beat the baselines.
  auto place = [&](const std::string& name) {
    for (size_t n = 0; n < rows.size(); ++n) {
      if (rows[n].at("algorithm").as_string() == name) return n;
    }
    return rows.size();
  };
  EXPECT_LT(place("ials"), place("popular"));
  EXPECT_LT(place("popular"), place("random"));
  // Deterministic: the same command prints the same array.
  const RunResult again = Run(args);
  EXPECT_EQ(WithoutTrainSeconds(again.out), WithoutTrainSeconds(r.out));

  // The table and the HTML report.
  args = base;
  args.insert(args.end(), {"--compare", "ials,popular", "--report", Path("eval.html")});
  const RunResult table = Run(args);
  ASSERT_EQ(table.exit_code, 0) << table.err;
  EXPECT_TRUE(Contains(table.out, "ranked by NDCG@10")) << table.out;
  EXPECT_TRUE(std::regex_search(table.out, std::regex(R"(\n1 +ials .* n/a\n)"))) << table.out;
  const std::string html = ReadFile(Path("eval.html"));
  EXPECT_EQ(html.rfind("<!DOCTYPE html>", 0), 0u) << html.substr(0, 100);
  size_t svgs = 0;
  for (size_t at = html.find("<svg"); at != std::string::npos; at = html.find("<svg", at + 1)) {
    ++svgs;
  }
  EXPECT_GE(svgs, 4u) << "metric bars, time bars and a loss curve";
  EXPECT_TRUE(Contains(html, "iALS objective per observed cell")) << "the loss chart";

  // A single implicit model: rating metrics n/a in the table, null in JSON.
  const RunResult one = Run(
      {"eval", "--data", data, "--split", "80/20", "--algo", "bpr", "--bpr-epochs", "3", "--json"});
  ASSERT_EQ(one.exit_code, 0) << one.err;
  EXPECT_TRUE(json::parse(one.out).at("mean").at("rmse").is_null()) << one.out;

  ExpectUsageError(Run({"eval", "--data", data, "--split", "80/20", "--compare", "ials,nope"}),
                   {"--compare", "unknown algorithm 'nope'"});
  ExpectUsageError(Run({"eval", "--data", data, "--split", "80/20", "--compare", "ials,ials"}),
                   {"'ials' given twice"});
  ExpectUsageError(Run({"eval", "--data", data, "--split", "80/20", "--alpha", "-1"}), {"--alpha"});
}

}  // namespace
}  // namespace streamrec::tools
