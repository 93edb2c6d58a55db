// Normalization of contact fields so the same person matches across channels: names trimmed,
// emails lowercased, phone numbers in E.164 (libphonenumber, the business's region as default).
#pragma once

#include <string>

namespace handoff {

// Trims, collapses runs of whitespace to one space, drops control characters. Keeps case.
std::string NormalizeName(const std::string& raw);

// Trims and lowercases; returns "" when the result is not a plausible address
// (one '@', non-empty local part, a domain with a dot, no spaces or control characters).
std::string NormalizeEmail(const std::string& raw);

// Parses `raw` as a phone number, national numbers read in `default_region` (ISO 3166-1
// alpha-2, e.g. "US"). Returns E.164 ("+14155550101"), or "" when it is not a possible number.
// Thread-safe.
std::string NormalizePhone(const std::string& raw, const std::string& default_region);

}  // namespace handoff
