// Recommender as the second copy of a Left-Right pair (recommender.h, "The
// second copy of a Left-Right pair"): it takes what its leader's step did
// instead of stepping again: the leader's indices for known ids, its user
// pages and item rows, its centroids when the IVF index is retrained.
#include <fmt/format.h>

#include <algorithm>
#include <cstring>

#include "engine/live/recommender.h"

namespace streamrec::engine {

IndexedEvent Recommender::IndexFollowing(const Event& e, const Recommender& leader) {
  if (followed_ < leader.led_.size()) {
    // The names checked below are a chain of cache misses each at 500k
    // ids: the next events' are hinted a link further each.
    for (int s = 0; s < IdMap::kNameStages && followed_ + 1 + s < leader.led_.size(); ++s) {
      const IndexedEvent& next = leader.led_[followed_ + 1 + s];
      users_.PrefetchName(next.user, s);
      items_.PrefetchName(next.item, s);
    }
    const IndexedEvent& x = leader.led_[followed_];
    const bool known = x.user < users_.size() && x.item < items_.size();
    if (known && x.user < seen_.users() && x.user < leader.seen_.users() && x.type == e.type &&
        users_.Name(x.user) == e.user && items_.Name(x.item) == e.item) {
      ++followed_;
      // The leader's page holds u's list with this item (and what the rest
      // of the run adds): FinishFollowing would take it anyway.
      seen_.SharePageOf(x.user, leader.seen_);
      return IndexedEvent{x.user, x.item, e.type, e.value, e.ts_ms};
    }
    if (!known) {
      // An id new to this copy: added here as the leader added it.
      const IndexedEvent mine = Index(e);
      followed_ = mine.user == x.user && mine.item == x.item ? followed_ + 1 : SIZE_MAX;
      return mine;
    }
  }
  followed_ = SIZE_MAX;  // the run is not the leader's: on our own from here
  return Index(e);
}

void Recommender::ShareUpdater(const Recommender& leader) {
  if (implicit_ && leader.implicit_) implicit_ = leader.implicit_;
}

bool Recommender::SharesUpdaterWith(const Recommender& other) const {
  return implicit_ != nullptr && implicit_ == other.implicit_;
}

Status Recommender::ApplyFollowing(const Event& e, const Recommender& leader) {
  if (!SharesUpdaterWith(leader)) return Apply(e);
  STREAMREC_RETURN_IF_ERROR(Validate(e));
  const IndexedEvent x = IndexFollowing(e, leader);
  if (x.user >= leader.model_.num_users() || x.item >= leader.model_.num_items()) {
    // The leader has no rows for these ids: the copies' ids diverged, and
    // the rows to share are not there. Refused rather than read past them.
    return Status::Internal(fmt::format(
        "the follower copy gives ({}, {}) indices ({}, {}), past its leader's {} users and {} "
        "items: the two copies diverged",
        e.user, e.item, x.user, x.item, leader.model_.num_users(), leader.model_.num_items()));
  }
  // What the updater's step did to the two rows, as the leader has them.
  // The user's page is shared (MFModel). The item's row is copied into
  // this copy's page, and FinishFollowing shares the leader's page in its
  // place: taking the page now would also change the page's other rows
  // under the IVF index, which must see each row's move (Count).
  if (x.user >= model_.num_users()) {
    model_.ShareUsers(leader.model_, x.user + 1);
  } else {
    model_.ShareUserPage(leader.model_, x.user);
  }
  // How far the row moves here, for the IVF index (Learn).
  const bool track = IndexWantsMove(x.item);
  model_.EnsureItems(x.item + 1);
  const float* row = leader.model_.item_factors(x.item);
  const MFModel& rows = model_;  // reads (a non-const item_factors(i) takes the page)
  const float* mine = rows.item_factors(x.item);
  const float moved = track ? IvfIndex::Distance(row, mine, model_.rank()) : IvfIndex::kUnknownMove;
  // A row the leader's step left as it was (a popular item's update
  // skipped: ImplicitOnlineOptions::min_item_step) is not written here:
  // writing takes the page, a 4 KB copy while the leader still shares it,
  // for the same bytes.
  if (std::memcmp(row, mine, sizeof(float) * static_cast<size_t>(model_.rank())) != 0) {
    std::copy_n(row, model_.rank(), model_.item_factors(x.item));
  }
  Count(x, &leader, moved);
  return Status::OK();
}

void Recommender::InstallModelFollowing(const Recommender& leader) {
  model_ = leader.model_.Clone();  // same object: the learner's pointer stays valid
  // The leader's mirror and index were made from these very rows: a copy
  // is bit-identical and spares a second k-means.
  quantized_ = leader.quantized_;
  ivf_ = leader.ivf_;
  ivf_next_ = leader.ivf_next_;
}

void Recommender::FinishFollowing(const Recommender& leader) {
  led_.clear();
  trained_led_.clear();
  followed_ = 0;
  model_.ShareWrittenUserPages(leader.model_);
  model_.ShareWrittenItemPages(leader.model_);
  seen_.ShareWritten(leader.seen_);
  users_.ShareWritten(leader.users_);
  items_.ShareWritten(leader.items_);
}

void Recommender::PrepareForReaders() {
  prepared_for_readers_ = true;
  if (implicit_) reader_item_gramian_ = implicit_->item_gramian();  // k x k: 16 KB at k = 64
}

const Eigen::MatrixXf* Recommender::ItemGramianForReads() const {
  if (!implicit_) return nullptr;
  return prepared_for_readers_ ? &reader_item_gramian_ : &implicit_->item_gramian();
}

bool Recommender::ForgetUserFollowing(std::string_view user, std::span<const Event> events,
                                      const Recommender& leader) {
  return Forget(user, events, SharesUpdaterWith(leader) ? &leader : nullptr);
}

}  // namespace streamrec::engine
