// CHECK for broken invariants: untrusted input never reaches one (it gets a Status); a CHECK
// failing means the program itself is wrong, so it stops loudly.
#pragma once

#include <cstdio>
#include <cstdlib>

#define HANDOFF_CHECK(cond, msg)                                                               \
  do {                                                                                         \
    if (!(cond)) {                                                                             \
      std::fprintf(stderr, "%s:%d: CHECK failed: %s: %s\n", __FILE__, __LINE__, #cond, (msg)); \
      std::abort();                                                                            \
    }                                                                                          \
  } while (0)
