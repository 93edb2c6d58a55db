#include "entry/common/html_text.h"

#include <gtest/gtest.h>

#include <string>

namespace handoff {
namespace {

TEST(HtmlToText, Cases) {
  struct Case {
    const char* html;
    const char* text;
  };
  const Case cases[] = {
      {"", ""},
      {"plain text", "plain text"},
      {"<p>Hi there</p><p>Second line</p>", "Hi there\nSecond line"},
      {"one<br>two<br/>three<BR />four", "one\ntwo\nthree\nfour"},
      {"<p>a <b>bold</b> <i>move</i></p>", "a bold move"},
      {"Tom &amp; Jerry &lt;3 &quot;q&quot; &#39;s&#x27; &apos;", "Tom & Jerry <3 \"q\" 's' '"},
      {"caf&#233; &#x1F600;", "caf\xC3\xA9 \xF0\x9F\x98\x80"},
      {"&#0; &#xD800; &#99999999;", "\xEF\xBF\xBD \xEF\xBF\xBD \xEF\xBF\xBD"},
      {"AT&T &unknown; & done", "AT&T &unknown; & done"},
      {"a&nbsp;&nbsp;b", "a b"},
      {"<script>alert('x')</script>safe", "safe"},
      {"<STYLE>p{}</style>after<Script type=x>var a = '</p>';</SCRIPT>end", "afterend"},
      {"<!-- note -->visible<!-- unterminated", "visible"},
      {"<a href=\"https://x.example/?a=1&b=2\" title='>'>link</a>", "link"},
      {"1 < 2 and 3 > 2", "1 < 2 and 3 > 2"},
      {"<p>  lots   of\n\n  space  </p>", "lots of space"},
      {"<p>a</p><p></p><p></p><p>b</p>", "a\nb"},
      {"<p>a</p> <p>b</p>", "a\nb"},
      {"a<br><br><br><br>b", "a\n\nb"},
      {"intro<div>block</div>outro", "intro\nblock\noutro"},
      {"<ul><li>one</li><li>two</li></ul>", "one\ntwo"},
      {"unterminated <b", "unterminated"},
      {"<script>never closed", ""},
      {"<div><p>nested</p></div>", "nested"},
  };
  for (const Case& c : cases) EXPECT_EQ(HtmlToText(c.html), c.text) << c.html;
}

TEST(HtmlToText, LongHostileInputStaysLinear) {
  std::string html;
  for (int i = 0; i < 20000; ++i) html += "<script>&#x";
  EXPECT_EQ(HtmlToText(html), "");
  std::string amps(100000, '&');
  EXPECT_EQ(HtmlToText(amps), amps);
}

}  // namespace
}  // namespace handoff
