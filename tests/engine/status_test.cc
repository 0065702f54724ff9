#include "engine/core/status.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <utility>

namespace streamrec {
namespace {

TEST(StatusTest, DefaultIsOk) {
  const Status s;
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kOk);
  EXPECT_EQ(s.message(), "");
  EXPECT_EQ(s.ToString(), "OK");
  EXPECT_TRUE(Status::OK().ok());
}

TEST(StatusTest, FactoriesSetCodeAndMessage) {
  const std::pair<Status, StatusCode> cases[] = {
      {Status::InvalidArgument("m"), StatusCode::kInvalidArgument},
      {Status::NotFound("m"), StatusCode::kNotFound},
      {Status::AlreadyExists("m"), StatusCode::kAlreadyExists},
      {Status::Conflict("m"), StatusCode::kConflict},
      {Status::FailedPrecondition("m"), StatusCode::kFailedPrecondition},
      {Status::ResourceExhausted("m"), StatusCode::kResourceExhausted},
      {Status::CapacityExceeded("m"), StatusCode::kCapacityExceeded},
      {Status::Corruption("m"), StatusCode::kCorruption},
      {Status::IOError("m"), StatusCode::kIOError},
      {Status::Unimplemented("m"), StatusCode::kUnimplemented},
      {Status::Internal("m"), StatusCode::kInternal},
  };
  for (const auto& [status, code] : cases) {
    EXPECT_FALSE(status.ok());
    EXPECT_EQ(status.code(), code);
    EXPECT_EQ(status.message(), "m");
    EXPECT_EQ(status.ToString(), std::string(StatusCodeName(code)) + ": m");
  }
}

TEST(StatusTest, CodeNames) {
  EXPECT_EQ(StatusCodeName(StatusCode::kOk), "OK");
  EXPECT_EQ(StatusCodeName(StatusCode::kInvalidArgument), "InvalidArgument");
  EXPECT_EQ(StatusCodeName(StatusCode::kNotFound), "NotFound");
  EXPECT_EQ(StatusCodeName(StatusCode::kAlreadyExists), "AlreadyExists");
  EXPECT_EQ(StatusCodeName(StatusCode::kConflict), "Conflict");
  EXPECT_EQ(StatusCodeName(StatusCode::kFailedPrecondition), "FailedPrecondition");
  EXPECT_EQ(StatusCodeName(StatusCode::kResourceExhausted), "ResourceExhausted");
  EXPECT_EQ(StatusCodeName(StatusCode::kCapacityExceeded), "CapacityExceeded");
  EXPECT_EQ(StatusCodeName(StatusCode::kCorruption), "Corruption");
  EXPECT_EQ(StatusCodeName(StatusCode::kIOError), "IOError");
  EXPECT_EQ(StatusCodeName(StatusCode::kUnimplemented), "Unimplemented");
  EXPECT_EQ(StatusCodeName(StatusCode::kInternal), "Internal");
  EXPECT_EQ(StatusCodeName(static_cast<StatusCode>(999)), "Unknown");
}

TEST(StatusTest, ToStringOfNotFound) {
  EXPECT_EQ(Status::NotFound("no item 'x'").ToString(), "NotFound: no item 'x'");
}

TEST(StatusOrTest, HoldsValue) {
  StatusOr<std::string> v(std::string("hello"));
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE(v.status().ok());
  EXPECT_EQ(v.value(), "hello");
  EXPECT_EQ(*v, "hello");
  EXPECT_EQ(v->size(), 5u);
  v.value() += "!";
  EXPECT_EQ(*v, "hello!");
}

TEST(StatusOrTest, HoldsError) {
  const StatusOr<int> v(Status::NotFound("gone"));
  EXPECT_FALSE(v.ok());
  EXPECT_EQ(v.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(v.status().message(), "gone");
}

TEST(StatusOrTest, MoveOnlyValue) {
  StatusOr<std::unique_ptr<int>> v(std::make_unique<int>(7));
  ASSERT_TRUE(v.ok());
  std::unique_ptr<int> p = std::move(v).value();
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(*p, 7);
}

Status FailIf(bool fail) { return fail ? Status::Corruption("bad") : Status::OK(); }

Status Chain(bool fail, int* reached) {
  STREAMREC_RETURN_IF_ERROR(FailIf(fail));
  ++*reached;
  return Status::Internal("after");
}

TEST(StatusTest, ReturnIfErrorReturnsEarlyOnlyOnError) {
  int reached = 0;
  const Status failed = Chain(true, &reached);
  EXPECT_EQ(failed.code(), StatusCode::kCorruption);
  EXPECT_EQ(failed.message(), "bad");
  EXPECT_EQ(reached, 0);
  const Status passed = Chain(false, &reached);
  EXPECT_EQ(passed.code(), StatusCode::kInternal);
  EXPECT_EQ(reached, 1);
}

}  // namespace
}  // namespace streamrec
