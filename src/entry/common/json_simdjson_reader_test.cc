#include "entry/common/json_simdjson_reader.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "entry/common/json_reader_testing.h"

namespace handoff {
namespace {

using testing::JsonReading;
using testing::kJsonBodyDepth;

JsonReading WithNlohmann(const std::string& body, int depth = kJsonBodyDepth) {
  return testing::ReadJsonWithNlohmann(body, depth);
}
JsonReading WithSimdjson(const std::string& body, int depth = kJsonBodyDepth) {
  return testing::ReadJsonWithSimdjson(body, depth);
}

std::string Nested(int depth) {
  std::string s = "{\"a\":";
  for (int i = 1; i < depth; ++i) s += "[";
  s += "1.50";
  for (int i = 1; i < depth; ++i) s += "]";
  return s + "}";
}

// Bodies the fast path must read, and read as nlohmann does.
std::vector<std::string> ValidBodies() {
  std::string notes;
  while (notes.size() < 4200) notes += "Notes from the form about the job. ";
  return {
      "{}",
      " \t\r\n{ \"a\" :\t1 ,\n\"b\":[ ] , \"c\" : { } }\r\n ",
      R"({"name":"  Bench Caller 1-2 ","email":"B0-1-2@Example.com","phone":"(415) 300-0042",)"
      R"("message":"Water heater leaking in the garage, please call back today.",)"
      R"("service":"water heater","notes":")" +
          notes + "\"}",
      R"({"s":"\"\\\/\b\f\n\r\t\u00e9\u20ac\ud83d\ude00\u0000x"})",
      "{\"\xE5\x90\x8D\xE5\x89\x8D\":\"Jos\xC3\xA9 \xE2\x98\x83 \xF0\x9F\x98\x80\"}",
      R"({"n":[0,-0,1,-1,10.50,1E5,1e-7,-0.0,0.1,2.5E+3,100,1.0,3.14159265358979323846]})",
      R"({"big":[123456789012345678,9223372036854775807,-9223372036854775808]})",
      R"({"edge":[18446744073709551615,1.7976931348623157e308,5e-324,4.9e-324,2.2250738585072014e-308]})",
      // Mantissas past 19 digits, which simdjson 3.0.1 misreads (the value comes from from_chars).
      R"({"long":[-0.109223372036854775808,0.12345678901234567890123,1234567890123456789012.5e-3]})",
      R"({"order":{"total":10.50,"items":[{"price":1.10},{"price":2},[0.5,[7.00]]]},"a/b~c":{"x":1.0}})",
      R"({"a":1.50,"a":2})",
      R"({"a":{"b":1.50,"c":[2.50]},"a":{"d":3.50}})",
      R"({"a":{"b":1.50},"ab":2.50,"a":3})",
      R"({"t":true,"f":false,"n":null,"":"empty key"})",
      "{\"a\\u0000b\":1,\"k\\\"q\":\"v\"}",
      "{\"long\":\"" + std::string(70'000, 'x') + "\"}",  // past the reused parser's size
      Nested(kJsonBodyDepth),
  };
}

TEST(JsonSimdjsonReader, ReadsValidBodiesExactlyAsNlohmannDoes) {
  for (const std::string& body : ValidBodies()) {
    SCOPED_TRACE(body.substr(0, 120));
    const JsonReading want = WithNlohmann(body);
    ASSERT_TRUE(want.ok);
    const JsonReading got = WithSimdjson(body);
    ASSERT_TRUE(got.ok) << "the fast path left a plain body to nlohmann";
    EXPECT_EQ(got.dom, want.dom);
    EXPECT_EQ(got.number_text, want.number_text);
  }
}

TEST(JsonSimdjsonReader, KeepsTheTextOfFloatsWhereNlohmannDoes) {
  const JsonReading got =
      WithSimdjson(R"({"order":{"total":10.50,"n":[1E5,0.5]},"a/b":{"~":2.50}})");
  ASSERT_TRUE(got.ok);
  const std::map<std::string, std::string> want = {
      {"/order/total", "10.50"}, {"/order/n/0", "1E5"}, {"/a~1b/~0", "2.50"}};
  EXPECT_EQ(got.number_text, want);
}

TEST(JsonSimdjsonReader, LeavesToNlohmannWhatOnlyItAnswers) {
  // Valid JSON that nlohmann reads differently than simdjson would: integers past 64 bits
  // become floats there.
  for (const std::string body :
       {R"({"id":123456789012345678901234})", R"({"n":-9223372036854775809})",
        R"({"n":18446744073709551616})"}) {
    SCOPED_TRACE(body);
    EXPECT_TRUE(WithNlohmann(body).ok);
    EXPECT_FALSE(WithSimdjson(body).ok);
  }
  // Everything nlohmann refuses (so the rejection and its byte come from nlohmann), including
  // a top-level value that is not an object and nesting past the limit.
  const std::string refused[] = {"[]",
                                 "\"x\"",
                                 "1",
                                 "null",
                                 "",
                                 "   ",
                                 "{",
                                 "}",
                                 R"({"a":})",
                                 R"({"a":1,})",
                                 R"({"a" 1})",
                                 R"({"a":1}x)",
                                 R"({"a":1}})",
                                 R"({"a":1} {})",
                                 "{'a':1}",
                                 R"({"a":tru})",
                                 R"({"a":nulll})",
                                 R"({"a":truex})",
                                 R"({"a":01})",
                                 R"({"a":01.5})",
                                 R"({"a":-01})",
                                 R"({"a":1.})",
                                 R"({"a":.5})",
                                 R"({"a":+1})",
                                 R"({"a":1e})",
                                 R"({"a":-})",
                                 R"({"a":1e400})",
                                 R"({"a":-1e400})",
                                 "{\"a\":\"\x01\"}",
                                 "{\"a\":\"\t\"}",
                                 R"({"a":"\u12"})",
                                 R"({"a":"\ud800"})",
                                 R"({"a":"\udc00"})",
                                 R"({"a":"\ud800\u0041"})",
                                 R"({"\udc00":1})",
                                 R"({"a":"\q"})",
                                 R"({"a":[1,2})",
                                 R"({"a":[1,,2]})",
                                 R"({"a":NaN})",
                                 R"({"a":Infinity})",
                                 R"({a:1})",
                                 "{\"a\":\"\xC3\"}",
                                 "{\"a\":\"\xED\xA0\x80\"}",
                                 Nested(kJsonBodyDepth + 1),
                                 std::string(100'000, '['),
                                 "{\"a\":\"unterminated"};
  for (const std::string& body : refused) {
    SCOPED_TRACE(body.substr(0, 120));
    EXPECT_FALSE(WithNlohmann(body).ok);
    EXPECT_FALSE(WithSimdjson(body).ok);
  }
}

TEST(JsonSimdjsonReader, HonoursTheBuildersDepthLimit) {
  EXPECT_TRUE(WithSimdjson(R"({"a":{"b":1}})", 2).ok);
  EXPECT_FALSE(WithSimdjson(R"({"a":{"b":[1]}})", 2).ok);
  // A limit past the reader's own recursion bound: the body goes to nlohmann's parser.
  EXPECT_TRUE(WithNlohmann(Nested(200), 1000).ok);
  EXPECT_FALSE(WithSimdjson(Nested(200), 1000).ok);
}

// Mutated bodies: wherever the fast path answers, nlohmann must answer the same. The seed is
// fixed, so the run is the same every time.
TEST(JsonSimdjsonReader, AgreesWithNlohmannOnMutatedBodies) {
  std::vector<std::string> seeds = ValidBodies();
  // The 70 KB one is slow to mutate and has nothing new to find.
  std::erase_if(seeds, [](const std::string& s) { return s.size() > 10'000; });
  const std::vector<std::string> pieces = {"{",
                                           "}",
                                           "[",
                                           "]",
                                           ":",
                                           ",",
                                           "\"",
                                           "\\",
                                           " ",
                                           "\n",
                                           "0",
                                           "1",
                                           "9",
                                           "-",
                                           "+",
                                           ".",
                                           "e",
                                           "E",
                                           "true",
                                           "false",
                                           "null",
                                           "\\u",
                                           "d800",
                                           "dc00",
                                           "\\ud83d\\ude00",
                                           "\xC3\xA9",
                                           "\x01",
                                           "\x7F",
                                           "\xC3",
                                           "1e400",
                                           "18446744073709551616",
                                           "0.10",
                                           "\"k\":",
                                           "{\"a\":1.50}"};
  std::mt19937 rng(20261203);
  int fast_answers = 0;
  int nlohmann_answers = 0;
  for (int round = 0; round < 20'000; ++round) {
    std::string body = seeds[rng() % seeds.size()];
    const int edits = 1 + static_cast<int>(rng() % 3);
    for (int e = 0; e < edits && !body.empty(); ++e) {
      const size_t at = rng() % (body.size() + 1);
      const std::string& piece = pieces[rng() % pieces.size()];
      switch (rng() % 4) {
        case 0:  // insert
          body.insert(at, piece);
          break;
        case 1:  // replace one byte
          body.replace(std::min(at, body.size() - 1), 1, piece);
          break;
        case 2:  // delete a few bytes
          body.erase(std::min(at, body.size() - 1), 1 + rng() % 3);
          break;
        default:  // cut short
          body.resize(at);
          break;
      }
    }
    const JsonReading want = WithNlohmann(body);
    const JsonReading got = WithSimdjson(body);
    nlohmann_answers += want.ok ? 1 : 0;
    if (!got.ok) continue;
    ++fast_answers;
    ASSERT_TRUE(want.ok) << "the fast path accepted what nlohmann refuses: " << body;
    ASSERT_EQ(got.dom, want.dom) << body;
    ASSERT_EQ(got.number_text, want.number_text) << body;
  }
  // The fast path takes nearly all of what parses (it leaves big integers and the like).
  EXPECT_GT(nlohmann_answers, 1000);
  EXPECT_GE(fast_answers * 100, nlohmann_answers * 95)
      << fast_answers << " of " << nlohmann_answers;
}

}  // namespace
}  // namespace handoff
