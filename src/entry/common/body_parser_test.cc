#include "entry/common/body_parser.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

#include "entry/rejection.h"
#include "fmt/format.h"

namespace handoff {
namespace {

std::string CodeOf(const absl::StatusOr<ParsedBody>& r) { return RejectionCode(r.status()); }

// ---------------------------------------------------------------- Content-Type

struct MediaCase {
  std::string content_type;
  std::string body;
  std::string want_code;  // "ok" or a rejection code
  BodyKind want_kind = BodyKind::kJson;
};

TEST(ParseBody, DispatchesOnContentType) {
  const MediaCase cases[] = {
      {"application/json", R"({"a":1})", "ok", BodyKind::kJson},
      {"APPLICATION/JSON", R"({"a":1})", "ok", BodyKind::kJson},
      {"application/json; charset=utf-8", R"({"a":1})", "ok", BodyKind::kJson},
      {"application/json;charset=\"UTF-8\"", R"({"a":1})", "ok", BodyKind::kJson},
      {"application/json;", R"({"a":1})", "ok", BodyKind::kJson},
      {"application/vnd.api+json", R"({"a":1})", "ok", BodyKind::kJson},
      {"application/x-www-form-urlencoded", "a=1", "ok", BodyKind::kUrlEncoded},
      {"application/x-www-form-urlencoded; charset=UTF-8", "a=1", "ok", BodyKind::kUrlEncoded},
      {"multipart/form-data; boundary=XyZ",
       "--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n--XyZ--\r\n", "ok",
       BodyKind::kMultipart},
      {"", R"({"a":1})", "unsupported_media_type"},
      {"   ", R"({"a":1})", "unsupported_media_type"},
      {"text/plain", "a=1", "unsupported_media_type"},
      {"application/xml", "<a/>", "unsupported_media_type"},
      {"json", R"({"a":1})", "unsupported_media_type"},
      {"application/json; charset=iso-8859-1", R"({"a":1})", "unsupported_media_type"},
      {"application/json; charset=utf-8; charset=latin1", R"({"a":1})", "unsupported_media_type"},
      {"application/json; charset", R"({"a":1})", "unsupported_media_type"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.content_type);
    auto r = ParseBody(c.content_type, c.body);
    if (c.want_code == "ok") {
      ASSERT_TRUE(r.ok()) << r.status();
      EXPECT_EQ(r->kind, c.want_kind);
    } else {
      EXPECT_EQ(CodeOf(r), c.want_code) << r.status();
      EXPECT_EQ(RejectionHttpStatus(r.status()), 415);
    }
  }
}

TEST(ParseBody, RefusesKindsTheCallerDoesNotAccept) {
  BodyParseOptions json_only;
  json_only.accept_urlencoded = false;
  json_only.accept_multipart = false;
  auto r = ParseBody("application/x-www-form-urlencoded", "a=1", json_only);
  EXPECT_EQ(CodeOf(r), "unsupported_media_type");
  EXPECT_NE(RejectionDetail(r.status()).find("expected application/json"), std::string::npos);

  BodyParseOptions forms_only;
  forms_only.accept_json = false;
  EXPECT_EQ(CodeOf(ParseBody("application/json", "{}", forms_only)), "unsupported_media_type");
  EXPECT_TRUE(ParseBody("application/x-www-form-urlencoded", "a=1", forms_only).ok());
}

TEST(ParseBody, QuotesContentTypeWithoutRawBytes) {
  auto r = ParseBody("text/\x01plain\xff", "x");
  EXPECT_EQ(CodeOf(r), "unsupported_media_type");
  const std::string detail = RejectionDetail(r.status());
  EXPECT_EQ(detail.find('\x01'), std::string::npos);
  EXPECT_EQ(detail.find('\xff'), std::string::npos);
}

// ---------------------------------------------------------------- JSON

TEST(ParseJson, ParsesAnObject) {
  auto r = ParseBody("application/json", R"({"contact":{"email":"a@b.c"},"n":[1,2]})");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->json["contact"]["email"], "a@b.c");
  EXPECT_EQ(r->json["n"][1], 2);
  EXPECT_EQ(r->media_type, "application/json");
}

TEST(ParseJson, RejectsADepthBombWithoutCrashing) {
  const std::string bomb(100'000, '[');
  auto r = ParseBody("application/json", bomb);
  EXPECT_EQ(CodeOf(r), "too_deep");
  EXPECT_EQ(RejectionHttpStatus(r.status()), 400);

  std::string objects;
  for (int i = 0; i < 100'000; ++i) objects += "{\"a\":";
  EXPECT_EQ(CodeOf(ParseBody("application/json", objects)), "too_deep");
}

TEST(ParseJson, DepthLimitIsExact) {
  auto nested = [](int depth) {
    std::string s = "{\"a\":";
    for (int i = 1; i < depth; ++i) s += "[";
    s += "1";
    for (int i = 1; i < depth; ++i) s += "]";
    return s + "}";
  };
  EXPECT_TRUE(ParseBody("application/json", nested(32)).ok());
  EXPECT_EQ(CodeOf(ParseBody("application/json", nested(33))), "too_deep");
  BodyParseOptions shallow;
  shallow.max_json_depth = 2;
  EXPECT_TRUE(ParseBody("application/json", R"({"a":{"b":1}})", shallow).ok());
  EXPECT_EQ(CodeOf(ParseBody("application/json", R"({"a":{"b":[1]}})", shallow)), "too_deep");
}

TEST(ParseJson, BracketsInsideStringsDoNotCount) {
  const std::string body = "{\"a\":\"" + std::string(10'000, '[') + "\"}";
  auto r = ParseBody("application/json", body);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->json["a"].get<std::string>().size(), 10'000u);
}

struct BadJsonCase {
  std::string name;
  std::string body;
  std::string want_code;
};

TEST(ParseJson, RejectsBadBodies) {
  const BadJsonCase cases[] = {
      {"truncated", R"({"a":)", "malformed_body"},
      {"trailing garbage", R"({"a":1} x)", "malformed_body"},
      {"bare word", "hello", "malformed_body"},
      {"empty", "", "malformed_body"},
      {"whitespace", " \n ", "malformed_body"},
      {"top-level array", "[1,2]", "malformed_body"},
      {"top-level string", "\"x\"", "malformed_body"},
      {"top-level number", "42", "malformed_body"},
      {"number overflow", R"({"a":1e999})", "malformed_body"},
      {"lone surrogate escape", R"({"a":"\ud800"})", "malformed_body"},
      {"invalid byte in string", "{\"a\":\"caf\xe9\"}", "invalid_utf8"},
      {"overlong slash", "{\"a\":\"\xc0\xaf\"}", "invalid_utf8"},
      {"encoded surrogate", "{\"a\":\"\xed\xa0\x80\"}", "invalid_utf8"},
      {"past U+10FFFF", "{\"a\":\"\xf4\x90\x80\x80\"}", "invalid_utf8"},
      {"truncated sequence", "{\"a\":\"\xe2\x82\"}", "invalid_utf8"},
      {"invalid byte outside string", "{\"a\":1}\xff", "invalid_utf8"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto r = ParseBody("application/json", c.body);
    EXPECT_EQ(CodeOf(r), c.want_code) << r.status();
  }
}

TEST(ParseJson, MalformedDetailNamesTheByteOffsetWithoutEchoingInput) {
  auto r = ParseBody("application/json", R"({"secret": trueish})");
  ASSERT_EQ(CodeOf(r), "malformed_body");
  const std::string detail = RejectionDetail(r.status());
  EXPECT_NE(detail.find("at byte 15"), std::string::npos) << detail;
  EXPECT_EQ(detail.find("trueish"), std::string::npos) << detail;
  EXPECT_EQ(detail.find("json.exception"), std::string::npos) << detail;
}

TEST(ParseJson, AcceptsValidMultibyteUtf8) {
  auto r = ParseBody("application/json", "{\"name\":\"Zoë 日本 🚰\"}");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->json["name"], "Zoë 日本 🚰");
}

TEST(ParseJson, KeepsSourceTextOfNumbersThatReserializeDifferently) {
  auto r =
      ParseBody("application/json", R"({"total":10.50,"id":123456789012345678901234,"n":7,"x":1.5,)"
                                    R"("list":[1e3,{"a/b~c":0.10}]})");
  ASSERT_TRUE(r.ok()) << r.status();
  const auto& t = r->json_number_text;
  EXPECT_EQ(t.at("/total"), "10.50");
  EXPECT_EQ(t.at("/id"), "123456789012345678901234");
  EXPECT_EQ(t.at("/list/0"), "1e3");
  EXPECT_EQ(t.at("/list/1/a~1b~0c"), "0.10");
  EXPECT_EQ(t.count("/n"), 0u);  // integers re-serialize exactly
  EXPECT_EQ(t.count("/x"), 0u);  // so does 1.5
}

TEST(ParseJson, RepeatedKeyKeepsTheLastValueAndForgetsOldNumberText) {
  auto r = ParseBody("application/json", R"({"a":1.50,"a":"x","b":{"c":2.50},"b":3})");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->json["a"], "x");
  EXPECT_EQ(r->json["b"], 3);
  EXPECT_TRUE(r->json_number_text.empty());
}

// ---------------------------------------------------------------- urlencoded

struct FormCase {
  std::string name;
  std::string body;
  std::vector<std::pair<std::string, std::string>> want;
};

TEST(ParseUrlEncodedBody, DecodesFieldsInOrder) {
  const FormCase cases[] = {
      {"simple", "a=1&b=2", {{"a", "1"}, {"b", "2"}}},
      {"repeats kept in order", "a=1&b=2&a=3", {{"a", "1"}, {"b", "2"}, {"a", "3"}}},
      {"plus is space", "name=Ana+Ortiz", {{"name", "Ana Ortiz"}}},
      {"escaped plus", "phone=%2B14155550101", {{"phone", "+14155550101"}}},
      {"escapes both cases", "k=%c3%a9%C3%A9", {{"k", "éé"}}},
      {"escaped name", "first%20name=x", {{"first name", "x"}}},
      {"no equals", "flag", {{"flag", ""}}},
      {"empty value", "a=", {{"a", ""}}},
      {"empty name", "=v", {{"", "v"}}},
      {"equals in value", "a=b=c", {{"a", "b=c"}}},
      {"empty pieces skipped", "&&a=1&&b=2&", {{"a", "1"}, {"b", "2"}}},
      {"empty body", "", {}},
      {"raw utf-8", "n=Zoë", {{"n", "Zoë"}}},
      {"newline escapes", "m=a%0D%0Ab", {{"m", "a\r\nb"}}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto r = ParseBody("application/x-www-form-urlencoded", c.body);
    ASSERT_TRUE(r.ok()) << r.status();
    ASSERT_EQ(r->fields.size(), c.want.size());
    for (size_t i = 0; i < c.want.size(); ++i) {
      EXPECT_EQ(r->fields[i].name, c.want[i].first);
      EXPECT_EQ(r->fields[i].value, c.want[i].second);
    }
  }
}

TEST(ParseUrlEncodedBody, RejectsBadEscapesAndBadUtf8) {
  const std::pair<std::string, std::string> cases[] = {
      {"a=%", "malformed_body"},      {"a=%4", "malformed_body"}, {"a=%zz", "malformed_body"},
      {"a=1&b%=2", "malformed_body"}, {"a=%FF", "invalid_utf8"},  {"a=%C3", "invalid_utf8"},
      {"%FF=1", "invalid_utf8"},      {"a=\xff", "invalid_utf8"}, {"a=%ED%A0%80", "invalid_utf8"},
  };
  for (const auto& [body, code] : cases) {
    SCOPED_TRACE(body);
    EXPECT_EQ(CodeOf(ParseBody("application/x-www-form-urlencoded", body)), code);
  }
  auto r = ParseBody("application/x-www-form-urlencoded", "name=x&msg=ab%zz");
  EXPECT_NE(RejectionDetail(r.status()).find("byte 13"), std::string::npos) << r.status();
}

TEST(ParseUrlEncodedBody, CapsTheNumberOfFields) {
  std::string body;
  for (int i = 0; i < 1001; ++i) body += "a=1&";
  EXPECT_EQ(CodeOf(ParseBody("application/x-www-form-urlencoded", body)), "body_too_large");
  body.resize(body.size() - 4);
  EXPECT_TRUE(ParseBody("application/x-www-form-urlencoded", body).ok());
}

// ---------------------------------------------------------------- multipart

const char kBoundary[] = "----WebKitFormBoundary7MA4YWxkTrZu0gW";

// Built with fmt: g++ 12 at -O2 warns falsely (-Warray-bounds) on std::string("..") + char[].
std::string MultipartType() { return fmt::format("multipart/form-data; boundary={}", kBoundary); }

std::string Part(const std::string& headers, const std::string& content) {
  return fmt::format("--{}\r\n{}\r\n\r\n{}\r\n", kBoundary, headers, content);
}

std::string Close() { return fmt::format("--{}--\r\n", kBoundary); }

TEST(ParseMultipart, ReadsFieldsAndRecordsFilesWithoutTheirContent) {
  static const char kJpeg[] = "\xff\xd8\xff\xe0 binary \x00 bytes";
  const std::string body =
      "This preamble is ignored.\r\n" +
      Part("Content-Disposition: form-data; name=\"name\"", "Ana Ortiz") +
      Part("content-disposition: form-data; name=\"message\"", "line one\r\nline two") +
      Part(
          "Content-Disposition: form-data; name=\"photo\"; filename=\"C:\\pics\\leak.jpg\"\r\n"
          "Content-Type: image/jpeg",
          std::string(kJpeg, sizeof(kJpeg) - 1)) +
      Part("Content-Disposition: form-data; name=\"empty\"", "") +
      Part(
          "Content-Disposition: form-data; name=\"none\"; filename=\"\"\r\n"
          "Content-Type: application/octet-stream",
          "") +
      Close() + "epilogue, also ignored";
  auto r = ParseBody(MultipartType(), body);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->fields.size(), 3u);
  EXPECT_EQ(r->fields[0].name, "name");
  EXPECT_EQ(r->fields[0].value, "Ana Ortiz");
  EXPECT_EQ(r->fields[1].value, "line one\r\nline two");
  EXPECT_EQ(r->fields[2].name, "empty");
  EXPECT_EQ(r->fields[2].value, "");
  ASSERT_EQ(r->files.size(), 2u);
  EXPECT_EQ(r->files[0].field, "photo");
  EXPECT_EQ(r->files[0].filename, "C:\\pics\\leak.jpg");
  EXPECT_EQ(r->files[0].content_type, "image/jpeg");
  EXPECT_EQ(r->files[0].size, sizeof(kJpeg) - 1);
  EXPECT_EQ(r->files[1].filename, "");
  EXPECT_EQ(r->files[1].size, 0u);
}

TEST(ParseMultipart, AcceptsQuotedBoundaryAndTransportPadding) {
  const std::string body =
      "--a b'c\r\nContent-Disposition: form-data; name=x\r\n\r\n1\r\n"
      "--a b'c  \t\r\nContent-Disposition: form-data; name=\"y\"\r\n\r\n2"
      "\r\n--a b'c--";
  auto r = ParseBody("multipart/form-data; boundary=\"a b'c\"", body);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->fields.size(), 2u);
  EXPECT_EQ(r->fields[0].name, "x");
  EXPECT_EQ(r->fields[1].value, "2");
}

TEST(ParseMultipart, RejectsBrokenFraming) {
  const std::string field = Part("Content-Disposition: form-data; name=\"a\"", "1");
  const std::pair<std::string, std::string> bad_types[] = {
      {"multipart/form-data", "missing boundary"},
      {"multipart/form-data; boundary=", "empty boundary"},
      {"multipart/form-data; boundary=" + std::string(71, 'b'), "boundary too long"},
      {"multipart/form-data; boundary=\"ends with space \"", "trailing space"},
      {"multipart/form-data; boundary=\"a{b\"", "bad character"},
      {MultipartType() + "; boundary=other", "two boundaries"},
  };
  for (const auto& [type, name] : bad_types) {
    SCOPED_TRACE(name);
    EXPECT_EQ(CodeOf(ParseBody(type, field + Close())), "malformed_body");
  }
  const std::pair<std::string, std::string> bad_bodies[] = {
      {"", "empty body"},
      {"no boundary anywhere", "boundary absent"},
      {field, "no closing boundary"},
      {field.substr(0, field.size() - 5), "truncated inside content"},
      {std::string("--") + kBoundary + "\r\nContent-Disposition: form-data; name=\"a\"",
       "truncated inside headers"},
      {std::string("--") + kBoundary, "ends after first boundary"},
      {std::string("--") + kBoundary + "\r\n\r\nvalue\r\n" + Close(), "part without headers"},
      {Part("Content-Type: text/plain", "v") + Close(), "no Content-Disposition"},
      {Part("Content-Disposition: attachment; name=\"a\"", "v") + Close(), "not form-data"},
      {Part("Content-Disposition: form-data; filename=\"f\"", "v") + Close(), "no name"},
      {Part("Content-Disposition: form-data; name=\"a\"; name=\"b\"", "v") + Close(), "two names"},
      {Part("Content-Disposition: form-data; name=\"a", "v") + Close(), "unterminated quote"},
      {Part("Content-Disposition: form-data; name=\"a\"\r\nContent-Disposition: form-data; "
            "name=\"b\"",
            "v") +
           Close(),
       "two dispositions"},
      {Part("Content-Disposition: form-data; name=\"a\"\r\nno colon here", "v") + Close(),
       "header line without colon"},
      {std::string("--") + kBoundary +
           "XYZ\r\nContent-Disposition: form-data; name=\"a\"\r\n"
           "\r\nv\r\n" +
           Close(),
       "boundary followed by other text"},
      {std::string("--") + kBoundary + "\nContent-Disposition: form-data; name=\"a\"\n\nv\n--" +
           kBoundary + "--\n",
       "LF-only line ends"},
  };
  for (const auto& [body, name] : bad_bodies) {
    SCOPED_TRACE(name);
    auto r = ParseBody(MultipartType(), body);
    EXPECT_EQ(CodeOf(r), "malformed_body") << r.status();
  }
}

TEST(ParseMultipart, EveryTruncationBeforeTheCloseIsRejected) {
  const std::string full =
      Part("Content-Disposition: form-data; name=\"name\"", "Ana") +
      Part("Content-Disposition: form-data; name=\"f\"; filename=\"a.txt\"", "file body") + Close();
  ASSERT_TRUE(ParseBody(MultipartType(), full).ok());
  // The close delimiter is complete once "--boundary--" is read; anything shorter is cut off.
  const size_t complete = full.size() - 2;  // without the final CRLF (epilogue)
  for (size_t n = 0; n < complete; ++n) {
    auto r = ParseBody(MultipartType(), full.substr(0, n));
    EXPECT_EQ(CodeOf(r), "malformed_body") << "prefix of " << n << " bytes: " << r.status();
  }
}

TEST(ParseMultipart, RejectsInvalidUtf8InFieldsButNotInFiles) {
  EXPECT_EQ(
      CodeOf(ParseBody(MultipartType(),
                       Part("Content-Disposition: form-data; name=\"m\"", "caf\xe9") + Close())),
      "invalid_utf8");
  EXPECT_EQ(
      CodeOf(ParseBody(MultipartType(),
                       Part("Content-Disposition: form-data; name=\"m\xff\"", "x") + Close())),
      "invalid_utf8");
  EXPECT_EQ(CodeOf(ParseBody(MultipartType(), Part("Content-Disposition: form-data; name=\"f\"; "
                                                   "filename=\"\xff.bin\"",
                                                   "x") +
                                                  Close())),
            "invalid_utf8");
  EXPECT_TRUE(
      ParseBody(MultipartType(),
                Part("Content-Disposition: form-data; name=\"f\"; filename=\"a.bin\"", "\xff\xfe") +
                    Close())
          .ok());
}

TEST(ParseMultipart, CapsTheNumberOfParts) {
  BodyParseOptions options;
  options.max_fields = 3;
  std::string body;
  for (int i = 0; i < 3; ++i) body += Part("Content-Disposition: form-data; name=\"a\"", "1");
  EXPECT_TRUE(ParseBody(MultipartType(), body + Close(), options).ok());
  body += Part("Content-Disposition: form-data; name=\"a\"", "1");
  EXPECT_EQ(CodeOf(ParseBody(MultipartType(), body + Close(), options)), "body_too_large");
}

// ---------------------------------------------------------------- robustness

TEST(ParseBody, ArbitraryBytesNeverCrashOrThrow) {
  std::mt19937 rng(20261129);
  const std::string types[] = {"application/json", "application/x-www-form-urlencoded",
                               MultipartType()};
  const std::string alphabet = std::string("{}[]\",:0123456789.eE+-%&=ntrufalse\\ \r\n-") +
                               kBoundary + std::string("\x00\xff\xc3\xa9", 4);
  for (int i = 0; i < 3000; ++i) {
    std::string body;
    const size_t len = rng() % 200;
    for (size_t k = 0; k < len; ++k) body.push_back(alphabet[rng() % alphabet.size()]);
    for (const auto& type : types) {
      auto r = ParseBody(type, body);
      // Either a value or a rejection with a known code: never an internal error.
      if (!r.ok()) {
        EXPECT_NE(RejectionCode(r.status()), "internal") << r.status();
      }
    }
  }
}

TEST(IsValidUtf8, AcceptsWellFormedAndRejectsTheRest) {
  EXPECT_TRUE(IsValidUtf8(""));
  EXPECT_TRUE(IsValidUtf8("plain ascii"));
  EXPECT_TRUE(IsValidUtf8("\xc3\xa9\xe2\x82\xac\xf0\x9f\x9a\xb0\xf4\x8f\xbf\xbf"));
  EXPECT_FALSE(IsValidUtf8("\x80"));
  EXPECT_FALSE(IsValidUtf8("\xc1\xbf"));          // overlong
  EXPECT_FALSE(IsValidUtf8("\xe0\x80\xaf"));      // overlong
  EXPECT_FALSE(IsValidUtf8("\xf0\x80\x80\xaf"));  // overlong
  EXPECT_FALSE(IsValidUtf8("\xed\xbf\xbf"));      // surrogate
  EXPECT_FALSE(IsValidUtf8("\xf8\x88\x80\x80\x80"));
  EXPECT_FALSE(IsValidUtf8("\xe2\x82"));
}

}  // namespace
}  // namespace handoff
