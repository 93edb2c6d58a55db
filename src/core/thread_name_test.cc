#include "core/thread_name.h"

#include <pthread.h>

#include <string>
#include <thread>

#include "gtest/gtest.h"

namespace handoff {
namespace {

// The calling thread's name as the OS keeps it.
std::string ThisThreadName() {
  char name[kMaxThreadNameBytes + 1] = {};
  if (pthread_getname_np(pthread_self(), name, sizeof(name)) != 0) return "";
  return name;
}

// Names a new thread `name` and returns the name it then reads back.
std::string NameInANewThread(std::string_view name) {
  std::string named;
  std::thread thread([&] {
    NameThisThread(name);
    named = ThisThreadName();
  });
  thread.join();
  return named;
}

TEST(ThreadNameTest, NamesTheCallingThreadOnly) {
  EXPECT_EQ(NameInANewThread("store-writer"), "store-writer");
  EXPECT_NE(ThisThreadName(), "store-writer");
}

TEST(ThreadNameTest, ALongNameIsCutToWhatTheOsKeeps) {
  const std::string named = NameInANewThread("a-name-longer-than-fifteen-bytes");
  EXPECT_EQ(named, "a-name-longer-t");
  EXPECT_EQ(named.size(), kMaxThreadNameBytes);
}

}  // namespace
}  // namespace handoff
