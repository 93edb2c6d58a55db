#include "core/thread_name.h"

#include <pthread.h>

#include <string>

namespace handoff {

void NameThisThread(std::string_view name) {
  const std::string cut(name.substr(0, kMaxThreadNameBytes));
  (void)pthread_setname_np(pthread_self(), cut.c_str());
}

}  // namespace handoff
