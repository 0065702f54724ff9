// Recommender's top-N index upkeep (recommender.h): which scan reads the
// items (ActiveTopN), the int8 mirror and the IVF index kept current per
// event, retrained when due, deferred in a replay, restored from a snapshot.
#include <algorithm>

#include "engine/live/recommender.h"

namespace streamrec::engine {

TopNMethod Recommender::ActiveTopN() const {
  const TopNOptions& t = options_.topn;
  if (t.method != TopNMethod::kAuto) return t.method;
  if (model_.num_items() >= t.ivf_min_items) return TopNMethod::kIvf;
  if (model_.num_items() >= t.int8_min_items) return TopNMethod::kInt8;
  return TopNMethod::kExact;
}

void Recommender::EndReplay() {
  if (!index_deferred_) return;
  index_deferred_ = false;
  // Trained during the replay where a live copy trained (TrainIndexIfDue):
  // its rows filed now.
  RefileOrRequantizeAll();
}

void Recommender::RefileOrRequantizeAll() {
  if (ActiveTopN() == TopNMethod::kIvf && !IndexDue()) {
    quantized_ = QuantizedItems(model_.rank());
    ivf_.Refile(model_.item_factors(), model_.num_items());
    return;
  }
  RequantizeAll();
}

bool Recommender::IndexDue() const {
  return ActiveTopN() == TopNMethod::kIvf &&
         (ivf_.lists() == 0 || model_.num_items() >= 2 * uint64_t{ivf_.trained_items()});
}

bool Recommender::IndexRetrainDue(uint64_t ordinal) const {
  const uint64_t every = uint64_t{options_.topn.ivf_retrain_factor} * ivf_.trained_items();
  return every > 0 && ActiveTopN() == TopNMethod::kIvf && (ordinal + 1) % every == 0;
}

void Recommender::TrainIndexIfDue(uint64_t ordinal) {
  if (!IndexTrainingDue(ordinal)) return;
  if (index_deferred_) {
    ivf_.Train(model_.item_factors(), model_.num_items(), model_.rank(), options_.topn.ivf);
  } else {
    RequantizeAll();
  }
}

void Recommender::RestoreIndex(IvfIndex trained) {
  // Centroids of other k-means options are not this configuration's: none
  // kept, so the index is trained afresh where one is kept.
  ivf_ = trained.TrainedWith(options_.topn.ivf) ? std::move(trained) : IvfIndex(model_.rank());
  RefileOrRequantizeAll();
}

void Recommender::Requantize(uint32_t i, const Recommender* leader, float moved) {
  if (index_deferred_) return;  // EndReplay files it
  // Kept only while in use: under kAuto below its threshold (and always
  // under kExact) neither the mirror nor the index exists or costs.
  const TopNMethod active = ActiveTopN();
  if (active == TopNMethod::kInt8) {
    const uint32_t had = quantized_.size();
    if (had == 0) return RequantizeAll();  // just switched on
    if (had < model_.num_items()) {
      quantized_.Resize(model_.num_items());
      for (uint32_t r = had; r < model_.num_items(); ++r) {
        quantized_.Set(r, model_.item_factors(r));
      }
    }
    if (i < had) quantized_.Set(i, model_.item_factors(i));
  } else if (active == TopNMethod::kIvf) {
    if (IndexTrainingDue(events_applied_)) {
      // A follower takes the centroids its leader trained at this event.
      // A leader trains at the end of Learn (TrainIndexIfDue), so it is due
      // here only inside Learn (a BPR negative), where it waits for that.
      if (leader != nullptr) RequantizeAll(leader);
      return;
    }
    const uint32_t had = ivf_.size();
    for (uint32_t r = had; r < model_.num_items(); ++r) ivf_.Update(r, model_.item_factors());
    if (i < had) ivf_.Update(i, model_.item_factors(), moved);
  }
}

void Recommender::RequantizeAll(const Recommender* leader) {
  const TopNMethod active = ActiveTopN();
  if (active == TopNMethod::kInt8) {
    quantized_.Assign(model_.item_factors(), model_.num_items(), model_.rank());
  } else {
    quantized_ = QuantizedItems(model_.rank());
  }
  if (active == TopNMethod::kIvf && leader != nullptr && leader->ivf_.lists() > 0) {
    // A follower runs behind its leader, whose rows it copies as they are
    // at the end of the leader's run: a k-means of its own here would see
    // other rows than the leader's did and give other cells. It takes the
    // leader's centroids instead (the leader trained at this same event).
    ivf_.Adopt(leader->ivf_, model_.item_factors(), model_.num_items());
  } else if (active == TopNMethod::kIvf) {
    ivf_.Build(model_.item_factors(), model_.num_items(), model_.rank(), options_.topn.ivf);
  } else {
    ivf_ = IvfIndex(model_.rank());
  }
}

}  // namespace streamrec::engine
