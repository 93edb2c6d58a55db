#include "transfer/connectors/common/escaped_text.h"

#include <gtest/gtest.h>

#include "transfer/connectors/slack/slack_connector.h"

namespace handoff {
namespace {

TEST(EscapeWithin, FitsTheEscapedTextWithoutSplittingAnEscape) {
  // 10 '&' become 50 bytes; a 23-byte limit keeps whole "&amp;" entities plus the ellipsis.
  std::string out = EscapeWithin(std::string(10, '&'), 23, SlackEscape);
  EXPECT_LE(out.size(), 23u);
  EXPECT_EQ(out, "&amp;&amp;&amp;&amp;\xE2\x80\xA6");
}

TEST(EscapeWithin, ShortTextIsOnlyEscaped) {
  EXPECT_EQ(EscapeWithin("a<b", 100, SlackEscape), "a&lt;b");
  EXPECT_EQ(EscapeWithin("", 10, SlackEscape), "");
}

TEST(EscapeWithin, TinyLimitGivesEmpty) { EXPECT_EQ(EscapeWithin("<<<<", 2, SlackEscape), ""); }

TEST(PlainToken, KeepsCodesAndIdsOnly) {
  EXPECT_EQ(PlainToken("channel_not_found"), "channel_not_found");
  EXPECT_EQ(PlainToken(" invalid_payload\n"), "invalid_payload");
  EXPECT_EQ(PlainToken("1741962725.123459"), "1741962725.123459");
  EXPECT_EQ(PlainToken("PERMISSION_DENIED"), "PERMISSION_DENIED");
  EXPECT_EQ(PlainToken(""), "");
  EXPECT_EQ(PlainToken("<html>oops</html>"), "");
  EXPECT_EQ(PlainToken("two words"), "");
  EXPECT_EQ(PlainToken(std::string(65, 'a')), "");
}

}  // namespace
}  // namespace handoff
