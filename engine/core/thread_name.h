// Names for the threads streamrec starts, as `top -H`, `perf` and
// /proc/<pid>/task/<tid>/comm show them, and as `streamrec bench ingest`
// and `bench scale` sum CPU time by (tools/bench/thread_cpu.h).
#pragma once

#include <pthread.h>

#include <string>
#include <string_view>

namespace streamrec::engine {

// Names the calling thread; Linux keeps the first 15 bytes.
inline void NameThisThread(std::string_view name) {
  const std::string cut(name.substr(0, 15));
  pthread_setname_np(pthread_self(), cut.c_str());
}

}  // namespace streamrec::engine
