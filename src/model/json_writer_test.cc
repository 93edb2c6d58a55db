#include "model/json_writer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <random>

#include "model/records.h"

namespace handoff {
namespace {

std::string Dump(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// Lead data as it arrives: quotes, backslashes, control bytes, DEL, accents, bytes that are
// not UTF-8 and a sequence cut short at the end.
const std::string kNasty("A \"q\" b\\s \n\t\x01\x1f \x7f caf\xc3\xa9 \xff\xfe end \xe2\x82", 32);

// nlohmann is the oracle: each string the writer writes is the bytes nlohmann dumps for it.
TEST(JsonWriterTest, StringsAreWhatNlohmannDumps) {
  std::vector<std::string> cases = {
      "",         "plain ascii",     "caf\xc3\xa9 \xe2\x9c\x93", kNasty, "\"", "\\",
      "\x7f",     "\xed\xa0\x80",  // a surrogate
      "\xc0\xaf", "\xf4\x90\x80\x80"};
  std::mt19937 random(20261201);
  for (int i = 0; i < 3000; ++i) {
    std::string s(random() % 12, '\0');
    for (char& c : s) {
      // Mostly printable ASCII, as real fields are, with every other byte mixed in.
      const unsigned r = random() % 256;
      c = static_cast<char>(r < 160 ? 0x20 + r % 95 : r);
    }
    cases.push_back(std::move(s));
  }
  for (const std::string& s : cases) {
    JsonWriter w;
    w.String(s);
    EXPECT_EQ(w.Take(), Dump(nlohmann::json(s)))
        << nlohmann::json(s).dump(-1, ' ', true, nlohmann::json::error_handler_t::replace);
  }
}

TEST(JsonWriterTest, ContainersSeparateTheirMembers) {
  JsonWriter w;
  w.BeginObject();
  w.Key("a").BeginArray().Int(1).Int(-9223372036854775807 - 1).Null().String("x").EndArray();
  w.Key("b").BeginObject().EndObject();
  w.Key("c").BeginArray().EndArray();
  w.Key("d").Json({{"z", 1.5}, {"y", {true, nullptr}}});
  w.Key("e").BeginArray().BeginObject().Key("k").Null().EndObject().BeginArray().EndArray();
  w.EndArray();
  w.EndObject();
  EXPECT_EQ(w.Take(),
            R"({"a":[1,-9223372036854775808,null,"x"],"b":{},"c":[],"d":{"y":[true,null],"z":1.5},)"
            R"("e":[{"k":null},[]]})");
  // Take() leaves an empty writer behind.
  w.Int(7);
  EXPECT_EQ(w.Take(), "7");
}

// A tree is written as nlohmann dumps it, whatever it holds: every value type, nesting, keys
// that need escaping, strings that are not UTF-8, and numbers at their limits.
TEST(JsonWriterTest, TreesAreWhatNlohmannDumps) {
  std::vector<nlohmann::json> cases = {
      nlohmann::json(),
      nlohmann::json::object(),
      nlohmann::json::array(),
      nlohmann::json::parse(R"({"b":[1,2,{"c":null}],"a":{"d":[],"e":{}},"f":false,"g":true})"),
      {{"int", -9223372036854775807 - 1},
       {"uint", 18446744073709551615u},
       {"float", 0.1},
       {"big", 1e300},
       {"negzero", -0.0},
       {"nan", std::nan("")},
       {"whole", 3.0}},
      {{kNasty, kNasty}, {"", ""}, {"k\"ey", {kNasty, 1, {{"\x01", "caf\xc3\xa9"}}}}},
      nlohmann::json::binary({1, 2, 3}),
      nlohmann::json(kNasty),
      nlohmann::json(42),
  };
  // Random trees of strings, numbers and containers.
  std::mt19937 random(20261202);
  std::function<nlohmann::json(int)> make = [&](int depth) -> nlohmann::json {
    switch (random() % (depth < 4 ? 7 : 5)) {
      case 0: {
        std::string s(random() % 6, '\0');
        for (char& c : s) c = static_cast<char>(random() % 256);
        return s;
      }
      case 1:
        return static_cast<int64_t>(random()) - (1LL << 31);
      case 2:
        return static_cast<double>(random()) / 7.0;
      case 3:
        return random() % 2 == 0;
      case 4:
        return nullptr;
      case 5: {
        nlohmann::json a = nlohmann::json::array();
        for (unsigned i = random() % 4; i > 0; --i) a.push_back(make(depth + 1));
        return a;
      }
      default: {
        nlohmann::json o = nlohmann::json::object();
        for (unsigned i = random() % 4; i > 0; --i) {
          o[std::string(1, static_cast<char>('a' + random() % 26))] = make(depth + 1);
        }
        return o;
      }
    }
  };
  for (int i = 0; i < 2000; ++i) cases.push_back(make(0));
  for (const nlohmann::json& tree : cases) {
    JsonWriter w;
    w.Json(tree);
    EXPECT_EQ(w.Take(), Dump(tree));
  }
}

// The records a delivery shows are written as text in nlohmann's own form: parsing the text and
// dumping it again gives the same bytes, which needs every key in nlohmann's order and every
// string escaped as nlohmann does. ToJson is the same record as a tree.
TEST(JsonWriterTest, RecordsAreWrittenInNlohmannsOwnForm) {
  Inquiry i;
  i.id = "0190c4c0-0000-7000-8000-000000000001";
  i.workspace = "ws";
  i.source = "website";
  i.channel = Channel::kCall;
  i.received_at = 1'764'410'400'123'456;
  i.received = {kNasty, "Dana@Example.com", "(415) 555-0100"};
  i.normalized = {"Dana Roe", "dana@example.com", "+14155550100"};
  i.contact_id = "c-1";
  i.message = kNasty;
  i.service = "water heater";
  i.location = "Porto";
  i.attribution = {"google", "cpc", kNasty, "t", "c", "https://r/", "https://l/?a=1"};
  i.fields = {{"in_hours", true}, {"history", {{"text", kNasty}}}, {"value", 120.5}};
  i.provider_event_id = "evt_1";
  i.raw_payload = kNasty;
  i.raw_content_type = "application/json";
  i.stage = Stage::kTransfer;
  i.status = "delivered";
  Contact c{"c-1", "ws", kNasty, "dana@example.com", "+14155550100", i.received_at, 0};
  Task t;
  t.id = "t-1";
  t.inquiry_id = i.id;
  t.route = "default";
  t.owner = "ana";
  t.title = kNasty;
  t.due_at = i.received_at + 1;
  t.created_at = i.received_at;
  t.missing = {"contact.phone|contact.email", kNasty};
  t.escalation_step = 2;

  auto check = [](const std::string& text, const nlohmann::json& tree) {
    nlohmann::json parsed = nlohmann::json::parse(text);
    EXPECT_EQ(Dump(parsed), text);
    EXPECT_EQ(Dump(tree), text);
    return parsed;
  };
  for (bool raw : {false, true}) {
    JsonWriter w;
    WriteJson(w, i, raw);
    nlohmann::json j = check(w.Take(), ToJson(i, raw));
    EXPECT_EQ(j["channel"], "call");
    EXPECT_EQ(j["received_at"], "2025-11-29T10:00:00.123Z");
    EXPECT_TRUE(j["occurred_at"].is_null());
    EXPECT_EQ(j["contact"]["phone"], "+14155550100");
    EXPECT_EQ(j["fields"]["value"], 120.5);
    EXPECT_EQ(j["stage"], "transfer");
    EXPECT_EQ(j.contains("raw"), raw);
  }
  i.contact_id.clear();
  {
    JsonWriter w;
    WriteJson(w, i, false);
    EXPECT_TRUE(check(w.Take(), ToJson(i, false))["contact_id"].is_null());
  }
  {
    JsonWriter w;
    WriteJson(w, c);
    nlohmann::json j = check(w.Take(), ToJson(c));
    EXPECT_EQ(j["email"], "dana@example.com");
    EXPECT_TRUE(j["updated_at"].is_null());
  }
  {
    JsonWriter w;
    WriteJson(w, t);
    nlohmann::json j = check(w.Take(), ToJson(t));
    EXPECT_EQ(j["missing"].size(), 2u);
    EXPECT_EQ(j["escalation_step"], 2);
    EXPECT_EQ(j["owner"], "ana");
  }
}

}  // namespace
}  // namespace handoff
