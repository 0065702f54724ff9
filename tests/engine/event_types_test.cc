#include "engine/core/event_types.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <optional>
#include <string>
#include <vector>

namespace streamrec::engine {
namespace {

EventTypeSpec Implicit(std::string name, float weight = 1.0f,
                       std::optional<float> implied = std::nullopt) {
  EventTypeSpec s;
  s.name = std::move(name);
  s.weight = weight;
  s.implied_rating = implied;
  return s;
}

EventTypeSpec Explicit(std::string name, float min_value, float max_value) {
  EventTypeSpec s;
  s.name = std::move(name);
  s.explicit_rating = true;
  s.min_value = min_value;
  s.max_value = max_value;
  return s;
}

TEST(EventTypesTest, DefaultsHaveTheFiveStandardTypes) {
  const EventTypes t = EventTypes::Defaults();
  ASSERT_EQ(t.size(), 5u);
  EXPECT_EQ(t.Names(), "view, click, cart, purchase, rating");
  const char* names[] = {"view", "click", "cart", "purchase", "rating"};
  for (EventTypeId id = 0; id < 5; ++id) {
    ASSERT_EQ(t.Find(names[id]), id) << names[id];
    EXPECT_EQ(t.spec(id).name, names[id]);
  }
  EXPECT_FALSE(t.Find("like").has_value());
  EXPECT_FALSE(t.Find("").has_value());
  EXPECT_FALSE(t.Find("Rating").has_value());  // case-sensitive
}

TEST(EventTypesTest, DefaultsOrderSignalsByStrength) {
  const EventTypes t = EventTypes::Defaults();
  const EventTypeId view = *t.Find("view"), click = *t.Find("click"), cart = *t.Find("cart"),
                    purchase = *t.Find("purchase"), rating = *t.Find("rating");
  // A purchase says more than a cart add, a cart add more than a click...
  EXPECT_LT(t.spec(view).weight, t.spec(click).weight);
  EXPECT_LT(t.spec(click).weight, t.spec(cart).weight);
  EXPECT_LT(t.spec(cart).weight, t.spec(purchase).weight);
  EXPECT_LT(*t.spec(view).implied_rating, *t.spec(click).implied_rating);
  EXPECT_LT(*t.spec(click).implied_rating, *t.spec(cart).implied_rating);
  EXPECT_LT(*t.spec(cart).implied_rating, *t.spec(purchase).implied_rating);
  for (EventTypeId id : {view, click, cart, purchase}) EXPECT_FALSE(t.spec(id).explicit_rating);
  EXPECT_TRUE(t.spec(rating).explicit_rating);
  EXPECT_FALSE(t.spec(rating).implied_rating.has_value());
  EXPECT_FLOAT_EQ(t.spec(rating).min_value, 0.5f);
  EXPECT_FLOAT_EQ(t.spec(rating).max_value, 5.0f);
}

TEST(EventTypesTest, TargetOfExplicitIsTheValue) {
  const EventTypes t = EventTypes::Defaults();
  const EventTypeId rating = *t.Find("rating");
  EXPECT_EQ(t.Target(rating, 4.5f), 4.5f);
  EXPECT_EQ(t.Target(rating, 1.0f), 1.0f);
}

TEST(EventTypesTest, TargetOfImplicitIsTheImpliedRatingWhateverTheValue) {
  const EventTypes t = EventTypes::Defaults();
  EXPECT_EQ(t.Target(*t.Find("view"), 0.0f), 3.5f);
  EXPECT_EQ(t.Target(*t.Find("view"), 99.0f), 3.5f);
  EXPECT_EQ(t.Target(*t.Find("click"), 1.0f), 4.0f);
  EXPECT_EQ(t.Target(*t.Find("cart"), 1.0f), 4.5f);
  EXPECT_EQ(t.Target(*t.Find("purchase"), 1.0f), 5.0f);
}

TEST(EventTypesTest, TargetOfImplicitWithoutImpliedRatingIsNullopt) {
  auto t = EventTypes::Create({Implicit("share", 0.3f), Implicit("like", 0.5f, 4.2f)});
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_FALSE(t->Target(0, 5.0f).has_value());
  EXPECT_EQ(t->Target(1, 0.0f), 4.2f);
  EXPECT_EQ(t->Names(), "share, like");
}

TEST(EventTypesTest, CreateAcceptsCustomTypes) {
  auto t = EventTypes::Create(
      {Implicit("a", 0.001f), Explicit("stars", 1.0f, 10.0f), Implicit("b", 1000.0f, 2.0f)});
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  ASSERT_EQ(t->size(), 3u);
  EXPECT_EQ(t->Find("stars"), EventTypeId{1});
  EXPECT_FLOAT_EQ(t->spec(1).max_value, 10.0f);
  EXPECT_FLOAT_EQ(t->spec(2).weight, 1000.0f);
}

void ExpectRejected(std::vector<EventTypeSpec> specs, const std::string& what) {
  auto t = EventTypes::Create(std::move(specs));
  ASSERT_FALSE(t.ok()) << what;
  EXPECT_EQ(t.status().code(), StatusCode::kInvalidArgument) << what;
}

TEST(EventTypesTest, CreateRejectsEmptyList) { ExpectRejected({}, "empty list"); }

TEST(EventTypesTest, CreateRejectsEmptyName) {
  ExpectRejected({Implicit("view"), Implicit("")}, "empty name");
}

TEST(EventTypesTest, CreateRejectsDuplicateNames) {
  ExpectRejected({Implicit("view"), Implicit("click"), Implicit("view", 2.0f)}, "duplicate");
  auto t = EventTypes::Create({Implicit("view"), Implicit("click"), Implicit("view")});
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.status().message().find("view"), std::string::npos) << t.status().message();
}

TEST(EventTypesTest, CreateRejectsBadWeights) {
  ExpectRejected({Implicit("w", 0.0f)}, "zero weight");
  ExpectRejected({Implicit("w", -1.0f)}, "negative weight");
  ExpectRejected({Implicit("w", std::numeric_limits<float>::quiet_NaN())}, "NaN weight");
  ExpectRejected({Implicit("w", std::numeric_limits<float>::infinity())}, "inf weight");
  ExpectRejected({Implicit("w", 1000.5f)}, "weight above 1000");
}

TEST(EventTypesTest, CreateRejectsEmptyExplicitRange) {
  ExpectRejected({Explicit("r", 5.0f, 5.0f)}, "min == max");
  ExpectRejected({Explicit("r", 5.0f, 1.0f)}, "min > max");
  ExpectRejected({Explicit("r", std::numeric_limits<float>::quiet_NaN(), 5.0f)}, "NaN min");
  // The range of an implicit type is not used, so an empty one is fine.
  EXPECT_TRUE(EventTypes::Create({Implicit("i", 1.0f, 3.0f)}).ok());
}

TEST(EventTypesTest, CreateLimitsTheNumberOfTypes) {
  std::vector<EventTypeSpec> specs;
  for (int n = 0; n < 1000; ++n) specs.push_back(Implicit(fmt::format("t{}", n)));
  auto ok = EventTypes::Create(specs);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->Find("t999"), EventTypeId{999});
  specs.push_back(Implicit("t1000"));
  ExpectRejected(specs, "1001 types");
}

}  // namespace
}  // namespace streamrec::engine
