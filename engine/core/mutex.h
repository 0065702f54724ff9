// Mutex, MutexLock, CondVar: std::mutex and std::condition_variable with
// Clang's thread-safety annotations (engine/core/thread_annotations.h), so
// that -Wthread-safety checks every GUARDED_BY member and REQUIRES function
// that uses them. No cost over the std types: the same members, inline.
// After leveldb's port::Mutex, port::CondVar and MutexLock.
//
//   mutable Mutex mu_;
//   uint64_t next_seq_ GUARDED_BY(mu_) = 1;
//   ...
//   MutexLock lock(&mu_);
//   while (!ready_) cv_.Wait(&mu_);
//
// Thread-safety: as std::mutex and std::condition_variable.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>

#include "engine/core/thread_annotations.h"

namespace streamrec {

class CAPABILITY("mutex") Mutex {
 public:
  Mutex() = default;
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;

  void Lock() ACQUIRE() { mu_.lock(); }
  void Unlock() RELEASE() { mu_.unlock(); }
  // Tells the analysis the mutex is held where it cannot see it (checks
  // nothing at run time).
  void AssertHeld() ASSERT_CAPABILITY(this) {}

 private:
  friend class CondVar;
  std::mutex mu_;
};

// Holds a Mutex for its scope. Unlock() and Lock() drop it and take it
// again within the scope (the destructor releases it only if held).
class SCOPED_CAPABILITY MutexLock {
 public:
  explicit MutexLock(Mutex* mu) ACQUIRE(mu) : mu_(mu) { mu_->Lock(); }
  ~MutexLock() RELEASE() {
    if (held_) mu_->Unlock();
  }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

  void Unlock() RELEASE() {
    mu_->Unlock();
    held_ = false;
  }
  void Lock() ACQUIRE() {
    mu_->Lock();
    held_ = true;
  }

 private:
  Mutex* const mu_;
  bool held_ = true;
};

// A condition variable for a Mutex, named at each wait (the analysis then
// checks that the caller holds it). std::condition_variable underneath:
// std::condition_variable_any would work on Mutex directly but allocates
// and takes a second lock per wait, which the event log's group commit
// (one CondVar per appending call) should not pay.
class CondVar {
 public:
  CondVar() = default;
  CondVar(const CondVar&) = delete;
  CondVar& operator=(const CondVar&) = delete;

  // Releases *mu while waiting; holds it again on return. May wake
  // spuriously: wait in a loop on the condition.
  void Wait(Mutex* mu) REQUIRES(mu) {
    std::unique_lock<std::mutex> lock(mu->mu_, std::adopt_lock);
    cv_.wait(lock);
    lock.release();  // still held: the caller owns it
  }
  // As Wait, until `deadline`; false once it has passed.
  template <typename Clock, typename Duration>
  bool WaitUntil(Mutex* mu, const std::chrono::time_point<Clock, Duration>& deadline) REQUIRES(mu) {
    std::unique_lock<std::mutex> lock(mu->mu_, std::adopt_lock);
    const bool woken = cv_.wait_until(lock, deadline) == std::cv_status::no_timeout;
    lock.release();
    return woken;
  }
  void Signal() { cv_.notify_one(); }
  void SignalAll() { cv_.notify_all(); }

 private:
  std::condition_variable cv_;
};

}  // namespace streamrec
