#include "core/thread_priority.h"

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <thread>

#include "gtest/gtest.h"

namespace handoff {
namespace {

// The nice value of the calling thread, as the kernel reports it.
int CurrentThreadNice() {
  errno = 0;
  return getpriority(PRIO_PROCESS, static_cast<id_t>(syscall(SYS_gettid)));
}

TEST(SetCurrentThreadNice, ChangesOnlyTheCallingThread) {
  const int process_nice = CurrentThreadNice();
  int thread_nice = 0;
  absl::Status set;
  std::thread([&] {
    set = SetCurrentThreadNice(kWriterNice);
    thread_nice = CurrentThreadNice();
  }).join();
  if (set.ok()) {
    EXPECT_EQ(thread_nice, kWriterNice);
  } else {
    // Without CAP_SYS_NICE (not root, as CI is) the refusal is reported and nothing changes.
    EXPECT_EQ(set.code(), absl::StatusCode::kPermissionDenied) << set;
    EXPECT_EQ(thread_nice, process_nice);
  }
  EXPECT_EQ(CurrentThreadNice(), process_nice) << "the calling thread's neighbour changed";
}

TEST(SetCurrentThreadNice, AThreadMayAlwaysLowerItsOwnPriority) {
  int thread_nice = 0;
  absl::Status set;
  std::thread([&] {
    set = SetCurrentThreadNice(CurrentThreadNice() + 1);
    thread_nice = CurrentThreadNice();
  }).join();
  ASSERT_TRUE(set.ok()) << set;
  EXPECT_EQ(thread_nice, CurrentThreadNice() + 1);
}

}  // namespace
}  // namespace handoff
