// The pieces of an Internet message the smtp connector writes: quoted-printable bodies
// (RFC 2045), header text and display names as RFC 2047 encoded-words, address checks and
// header folding (RFC 5322). Kept apart from the connector so each rule is tested by itself.
// Every function is pure and thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"

namespace handoff::mime {

// Longest line we write before a folding or soft break (RFC 5322 §2.1.1 "SHOULD" limit).
inline constexpr size_t kHeaderLineLimit = 78;

// Encodes `text` as quoted-printable (RFC 2045 §6.7): '=' and bytes outside printable ASCII
// become =XX, a space or tab before a line end is encoded, lines are soft-broken with "=" so
// no encoded line exceeds 76 characters, and line breaks (LF or CRLF) become CRLF. A lone CR
// is encoded (=0D). Output ends with CRLF exactly when the input ends with a line break.
std::string QuotedPrintable(std::string_view text);

// Replaces CR, LF and every other control character (C0, DEL) by a space, so that text taken
// from a lead or a config can never start a new header line.
std::string StripControls(std::string_view text);

// Whether `text` may appear as-is in an unstructured header (printable ASCII and spaces, no
// "=?" that a reader could take for an encoded-word).
bool IsPlainHeaderText(std::string_view text);

// RFC 2047 encoded-words ("=?UTF-8?Q?...?=" or "?B?", whichever is shorter) for `text`, each
// at most `max_word` characters and never splitting a UTF-8 sequence. The Q form uses the
// restricted alphabet of §5(3), so the words are also valid inside a display name.
std::vector<std::string> EncodedWords(std::string_view text, size_t max_word = 68);

// The value of an unstructured header (Subject) for `name`: control characters stripped, plain
// ASCII folded at spaces, anything else as encoded-words; folded with CRLF + space so lines
// stay within 78 characters where possible and never exceed 998. No trailing CRLF.
std::string UnstructuredHeader(std::string_view name, std::string_view text);

// A display name as a phrase (RFC 5322 §3.2.5): atoms as-is, other ASCII as a quoted-string,
// non-ASCII as encoded-words joined by spaces. Control characters are stripped first.
std::string Phrase(std::string_view display_name);

// "Name <addr>" with the name as a Phrase, or the bare address when the name is empty.
std::string Mailbox(std::string_view display_name, std::string_view address);

// Joins already-formed header items (mailboxes) with ", " into "Name: a, b", folding between
// items when a line would exceed 78 characters. No trailing CRLF.
std::string AddressListHeader(std::string_view name, const std::vector<std::string>& items);

// A simple addr-spec check (local@domain): dot-atom local part of atext, a domain of LDH labels
// with at least one dot, at most 254 bytes, ASCII only. Rejects anything with spaces, quotes,
// brackets or control characters, which is what keeps a lead's address out of header syntax.
bool IsValidAddress(std::string_view address);

// Splits "Harbor Plumbing <leads@harbor.example>" (or a bare address) into its display name
// and address; quotes around the name are removed. The address is not validated.
struct NameAddr {
  std::string name;
  std::string address;
};
NameAddr ParseNameAddr(std::string_view text);

// `t` in the RFC 5322 §3.3 date-time format, in UTC: "Thu, 01 Jan 2026 00:00:00 +0000".
std::string Rfc5322Date(Micros t);

}  // namespace handoff::mime
