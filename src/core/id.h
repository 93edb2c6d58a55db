// Identifiers: UUIDv7 (RFC 9562), time-ordered so ids sort by creation time.
#pragma once

#include <string>
#include <string_view>

#include "core/clock.h"

namespace handoff {

// Returns a new UUIDv7 in canonical lowercase 8-4-4-4-12 form. The 48-bit timestamp is the
// clock's milliseconds; within one millisecond ids from one process are strictly increasing.
// Thread-safe.
std::string NewUuidV7(Micros now);

// The first 13 characters ("xxxxxxxx-xxxx", the 48-bit millisecond timestamp) of a UUIDv7 made
// at `at`: every lowercase UUIDv7 made in an earlier millisecond sorts below it, every one made
// at or after `at`'s millisecond above it. A range bound on an id index by time.
std::string UuidV7Floor(Micros at);

// True when `s` is a canonical lowercase or uppercase UUID string (36 characters).
bool IsUuid(std::string_view s);

// Returns `n` random bytes from the OS CSPRNG, hex-encoded (2n characters).
std::string RandomHex(size_t n);

}  // namespace handoff
