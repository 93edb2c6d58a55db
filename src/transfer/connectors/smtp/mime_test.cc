#include "transfer/connectors/smtp/mime.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "transfer/connectors/smtp/mime_test_decoders.h"

namespace handoff::mime {
namespace {

using testing::DecodeQp;
using testing::DecodeWords;
using testing::Lines;

struct QpCase {
  const char* name;
  std::string in;
  std::string out;
};

TEST(QuotedPrintable, Vectors) {
  const std::string a75(75, 'a');
  const std::string a76(76, 'a');
  const std::string a77(77, 'a');
  const std::vector<QpCase> cases = {
      {"empty", "", ""},
      {"plain ascii passes", "Hello, world!", "Hello, world!"},
      {"equals is escaped", "a=b", "a=3Db"},
      {"LF becomes CRLF", "a\nb\n", "a\r\nb\r\n"},
      {"CRLF stays CRLF", "a\r\nb", "a\r\nb"},
      {"lone CR is encoded", "a\rb", "a=0Db"},
      {"utf-8 bytes", "Zo\xC3\xAB", "Zo=C3=AB"},
      {"trailing space before a break", "a \nb", "a=20\r\nb"},
      {"trailing tab at the end", "a\t", "a=09"},
      {"inner spaces stay", "a b\tc", "a b\tc"},
      {"control bytes", std::string("\x01\x7F", 2), "=01=7F"},
      {"76 characters fit one line", a76, a76},
      {"77 characters are soft-broken", a77, a75 + "=\r\naa"},
      {"a line of 76 then a break", a76 + "\n", a76 + "\r\n"},
      {"escape triplet is never split", std::string(74, 'a') + "=",
       std::string(74, 'a') + "=\r\n=3D"},
      {"dot at line start is left to the transport", ".\n..x", ".\r\n..x"},
  };
  for (const QpCase& c : cases) {
    EXPECT_EQ(QuotedPrintable(c.in), c.out) << c.name;
  }
}

TEST(QuotedPrintable, LongLinesRoundTripWithinTheLineLimit) {
  std::string text;
  for (int i = 0; i < 40; ++i) text += "Zo\xC3\xAB = caf\xC3\xA9 <b>&amp;</b> ";
  text += "\nsecond line   \n";
  const std::string qp = QuotedPrintable(text);
  for (const std::string& line : Lines(qp)) {
    EXPECT_LE(line.size(), 76u) << line;
    EXPECT_NE(line.back(), ' ') << "trailing whitespace on an encoded line";
  }
  EXPECT_EQ(DecodeQp(qp), text);
  EXPECT_EQ(qp.find('\n'), qp.find("\r\n") + 1) << "bare LF";
}

TEST(StripControls, ReplacesEveryControlCharacter) {
  EXPECT_EQ(StripControls("a\r\nBcc: x\t\x7F"), "a  Bcc: x  ");
}

struct HeaderCase {
  const char* name;
  std::string subject;
  std::string decoded;  // what a reader shows after unfolding and decoding
  bool encoded;
};

TEST(UnstructuredHeader, EncodesAndFolds) {
  const std::vector<HeaderCase> cases = {
      {"ascii", "New call inquiry from Dana Roe", "New call inquiry from Dana Roe", false},
      {"non-ascii", "New call inquiry from Zo\xC3\xAB Ro\xC3\xA9",
       "New call inquiry from Zo\xC3\xAB Ro\xC3\xA9", true},
      {"CRLF injection", "Hi\r\nBcc: victim@example.com", "Hi Bcc: victim@example.com", false},
      {"bare LF injection", "Hi\nBcc: x@y.z", "Hi Bcc: x@y.z", false},
      {"looks like an encoded word", "=?UTF-8?Q?x?=", "=?UTF-8?Q?x?=", true},
      {"mostly non-ascii uses B",
       "\xE6\x96\xB0\xE3\x81\x97\xE3\x81\x84\xE5\x95\x8F\xE3\x81\x84\xE5\x90\x88\xE3\x82\x8F"
       "\xE3\x81\x9B",
       "\xE6\x96\xB0\xE3\x81\x97\xE3\x81\x84\xE5\x95\x8F\xE3\x81\x84\xE5\x90\x88\xE3\x82\x8F"
       "\xE3\x81\x9B",
       true},
  };
  for (const HeaderCase& c : cases) {
    const std::string h = UnstructuredHeader("Subject", c.subject);
    ASSERT_EQ(h.rfind("Subject: ", 0), 0u) << c.name;
    for (const std::string& line : Lines(h)) {
      EXPECT_LE(line.size(), kHeaderLineLimit) << c.name << ": " << line;
    }
    for (size_t i = 0; i < h.size(); ++i) {
      if (h[i] == '\n') {
        ASSERT_GT(i, 0u);
        EXPECT_EQ(h[i - 1], '\r') << c.name;
        ASSERT_LT(i + 1, h.size());
        EXPECT_EQ(h[i + 1], ' ') << c.name << ": a line break must be a fold";
      }
      if (h[i] == '\r') {
        EXPECT_EQ(h[i + 1], '\n') << c.name;
      }
    }
    std::string unfolded;
    for (const std::string& line : Lines(h)) unfolded += line;
    const std::string value = unfolded.substr(9);
    if (c.encoded) {
      EXPECT_EQ(value.rfind("=?UTF-8?", 0), 0u) << c.name << ": " << value;
      EXPECT_EQ(DecodeWords(value), c.decoded) << c.name;
    } else {
      EXPECT_EQ(value, c.decoded) << c.name;
    }
  }
  EXPECT_NE(UnstructuredHeader("Subject", "\xE6\x96\xB0\xE3\x81\x97").find("?B?"),
            std::string::npos);
  EXPECT_NE(UnstructuredHeader("Subject", "Zo\xC3\xAB").find("?Q?"), std::string::npos);
}

TEST(UnstructuredHeader, LongSubjectsFoldAtSpacesAndNeverPass998) {
  std::string words;
  for (int i = 0; i < 30; ++i) words += "water heater ";
  const std::string folded = UnstructuredHeader("Subject", words);
  EXPECT_GT(Lines(folded).size(), 2u);
  for (const std::string& line : Lines(folded)) EXPECT_LE(line.size(), kHeaderLineLimit);

  const std::string no_spaces(3000, 'x');
  const std::string forced = UnstructuredHeader("Subject", no_spaces);
  for (const std::string& line : Lines(forced)) EXPECT_LE(line.size(), kHeaderLineLimit);
  std::string unfolded;
  for (const std::string& line : Lines(forced)) unfolded += line;
  EXPECT_EQ(DecodeWords(unfolded.substr(9)), no_spaces);
}

TEST(EncodedWords, NeverSplitAUtf8Sequence) {
  std::string text;
  for (int i = 0; i < 50; ++i) text += "\xC3\xA9\xE2\x82\xAC";  // é€
  for (const std::string& w : EncodedWords(text)) {
    EXPECT_LE(w.size(), 68u);
    const std::string bytes = DecodeWords(w);
    // Each word decodes to whole characters: walking by lead bytes lands exactly on its end.
    size_t i = 0;
    while (i < bytes.size()) {
      const unsigned char lead = static_cast<unsigned char>(bytes[i]);
      ASSERT_NE(lead & 0xC0, 0x80) << w;
      i += lead < 0x80 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4;
    }
    EXPECT_EQ(i, bytes.size()) << w;
  }
}

struct PhraseCase {
  std::string name;
  std::string phrase;
};

TEST(Phrase, QuotesOrEncodesAsNeeded) {
  const std::vector<PhraseCase> cases = {
      {"Dana Roe", "Dana Roe"},
      {"Roe, Dana", "\"Roe, Dana\""},
      {"Dana \"D\" Roe", "\"Dana \\\"D\\\" Roe\""},
      {"Dana\r\nBcc: x@y.z", "\"Dana Bcc: x@y.z\""},
      {"Zo\xC3\xAB", "=?UTF-8?Q?Zo=C3=AB?="},
      {"", ""},
  };
  for (const PhraseCase& c : cases) EXPECT_EQ(Phrase(c.name), c.phrase) << c.name;
  EXPECT_EQ(Mailbox("Dana Roe", "dana@example.com"), "Dana Roe <dana@example.com>");
  EXPECT_EQ(Mailbox("", "dana@example.com"), "dana@example.com");
}

TEST(AddressListHeader, FoldsBetweenAddresses) {
  std::vector<std::string> items;
  for (int i = 0; i < 8; ++i) items.push_back("someone" + std::to_string(i) + "@harbor.example");
  const std::string h = AddressListHeader("To", items);
  for (const std::string& line : Lines(h)) EXPECT_LE(line.size(), kHeaderLineLimit) << line;
  std::string unfolded;
  for (const std::string& line : Lines(h)) unfolded += line;
  EXPECT_EQ(unfolded.find("To: someone0@harbor.example, someone1@harbor.example, "), 0u);
}

TEST(IsValidAddress, SimpleAddrSpec) {
  for (const char* ok : {"dana@example.com", "dana+1@example.com", "d.r@mail.example.co.uk",
                         "o'neil@example.com", "x@a-b.example"}) {
    EXPECT_TRUE(IsValidAddress(ok)) << ok;
  }
  for (const char* bad :
       {"", "dana", "@example.com", "dana@", "dana@localhost", "dana@example..com",
        ".dana@example.com", "dana.@example.com", "da..na@example.com", "dana roe@example.com",
        "dana@example.com\r\nBcc: x@y.z", "dana@example.com>", "<dana@example.com",
        "\"dana\"@example.com", "dana@-example.com", "dana@exa_mple.com", "zo\xC3\xAB@example.com",
        "a@b@example.com", "dana@example.com,x@y.z"}) {
    EXPECT_FALSE(IsValidAddress(bad)) << bad;
  }
  EXPECT_FALSE(IsValidAddress(std::string(65, 'a') + "@example.com"));
}

TEST(ParseNameAddr, NameAndAddress) {
  struct Case {
    const char* in;
    const char* name;
    const char* address;
  };
  for (const Case& c : std::vector<Case>{
           {"Harbor Plumbing <leads@harbor.example>", "Harbor Plumbing", "leads@harbor.example"},
           {"\"Harbor, Inc.\" <leads@harbor.example>", "Harbor, Inc.", "leads@harbor.example"},
           {"  leads@harbor.example ", "", "leads@harbor.example"},
           {"<leads@harbor.example>", "", "leads@harbor.example"},
       }) {
    NameAddr na = ParseNameAddr(c.in);
    EXPECT_EQ(na.name, c.name) << c.in;
    EXPECT_EQ(na.address, c.address) << c.in;
  }
}

TEST(Rfc5322Date, FormatsUtc) {
  EXPECT_EQ(Rfc5322Date(1767225600 * kMicrosPerSecond), "Thu, 01 Jan 2026 00:00:00 +0000");
  EXPECT_EQ(Rfc5322Date(1741962723 * kMicrosPerSecond + 500), "Fri, 14 Mar 2025 14:32:03 +0000");
}

}  // namespace
}  // namespace handoff::mime
