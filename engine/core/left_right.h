// LeftRight<T>: two copies of a T, one that readers see and one the single
// writer mutates, after the Left-Right construction of Ramalhete and Correia
// (2015). Readers are wait-free: two atomic increments around their read,
// never a lock, never a wait for the writer. The writer applies each change
// twice, once to the standby copy before publishing it and once to the
// other copy after the last reader has left it, so T's mutations must be
// deterministic (the same change applied to equal copies gives equal
// copies): streamrec's Recommender is, bit for bit.
//
// Writer protocol:
//   Mutate(lr.standby());   // readers cannot see the standby copy
//   lr.Publish();           // readers now see the change
//   Mutate(lr.standby());   // waits for readers of the old copy to leave
//
// Thread-safety: Read() from any number of threads at once; standby(),
// Publish() and published() from the one writer thread only.
#pragma once

#include <atomic>
#include <cassert>
#include <cstdint>
#include <memory>
#include <thread>
#include <utility>

namespace streamrec::engine {

template <typename T>
class LeftRight {
 public:
  // Both copies must start equal.
  LeftRight(std::unique_ptr<T> a, std::unique_ptr<T> b) : copies_{std::move(a), std::move(b)} {
    assert(copies_[0] && copies_[1]);
  }
  LeftRight(const LeftRight&) = delete;
  LeftRight& operator=(const LeftRight&) = delete;

  // Calls fn(const T&) on the published copy and returns its result. The
  // copy does not change while fn runs; keep fn short (the writer waits for
  // it before it can reuse the previous copy).
  template <typename Fn>
  decltype(auto) Read(Fn&& fn) const {
    const int v = version_.load(std::memory_order_seq_cst);
    readers_[v].count.fetch_add(1, std::memory_order_seq_cst);
    struct Leave {
      std::atomic<int64_t>* c;
      ~Leave() { c->fetch_sub(1, std::memory_order_seq_cst); }
    } leave{&readers_[v].count};
    const T& copy = *copies_[front_.load(std::memory_order_seq_cst)];
    return std::forward<Fn>(fn)(copy);
  }

  // The copy readers cannot see, to mutate. Waits, if a Publish() came
  // since the last call, until every reader of the previous copy is done.
  T& standby() {
    if (drain_pending_) Drain();
    return *copies_[1 - front_.load(std::memory_order_relaxed)];
  }

  // The copy readers see, for the writer's own reads (it never changes
  // under the writer).
  const T& published() const { return *copies_[front_.load(std::memory_order_relaxed)]; }

  // Makes the standby copy the one readers see. New reads see it at once;
  // the old copy becomes the standby once its readers leave (standby()
  // waits for that).
  void Publish() {
    if (drain_pending_) Drain();
    front_.store(1 - front_.load(std::memory_order_relaxed), std::memory_order_seq_cst);
    drain_pending_ = true;
  }

 private:
  struct alignas(64) Readers {
    std::atomic<int64_t> count{0};
  };

  // Moves readers over to the other version counter and waits until none
  // is left on either: a reader that entered before the flip may be on
  // either counter, one that entered after reads the new copy.
  void Drain() {
    const int v = version_.load(std::memory_order_relaxed);
    WaitEmpty(1 - v);
    version_.store(1 - v, std::memory_order_seq_cst);
    WaitEmpty(v);
    drain_pending_ = false;
  }
  void WaitEmpty(int v) const {
    for (int spins = 0; readers_[v].count.load(std::memory_order_seq_cst) != 0; ++spins) {
      if (spins > 64) std::this_thread::yield();
    }
  }

  std::unique_ptr<T> copies_[2];
  std::atomic<int> front_{0};    // the copy readers use
  std::atomic<int> version_{0};  // the counter new readers announce on
  mutable Readers readers_[2];
  bool drain_pending_ = false;  // writer-only
};

}  // namespace streamrec::engine
