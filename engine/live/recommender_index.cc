// Recommender's top-N index upkeep (recommender.h): which scan reads the
// items (ActiveTopN), the int8 mirror and the IVF index kept current per
// event, retrained when due, deferred in a replay, restored from a snapshot.
#include <algorithm>
#include <cstddef>
#include <vector>

#include "engine/core/random.h"
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
  // Trained during the replay where a live copy trained (IndexUpkeep): its
  // rows filed now. A retraining under way stays so, and is installed at
  // its event as a live copy's (a replay's trains the centroids only, so
  // its install searches every row).
  RefileOrRequantizeAll();
}

void Recommender::RefileOrRequantizeAll() {
  if (ActiveTopN() == TopNMethod::kIvf && !IndexDue()) {
    quantized_ = QuantizedItems(model_.rank());
    ivf_.Refile(model_.item_rows(), model_.num_items());
    return;
  }
  RequantizeAll();
}

bool Recommender::IndexDue() const { return ActiveTopN() == TopNMethod::kIvf && ivf_.lists() == 0; }

bool Recommender::IndexRetrainDue(uint64_t ordinal) const {
  if (ivf_next_ != nullptr || ActiveTopN() != TopNMethod::kIvf || ivf_.lists() == 0) return false;
  // Centroids no training measured (the first Build's, a version-4
  // snapshot's) read the default cells: trained again at once, so that a
  // young index, where the default reads least well, is measured a
  // catalog's worth of events later, not at the next doubling. Similar
  // items' probe is the sign: it is measured on items, which every catalog
  // has (the users' waits for served users).
  const IvfOptions& o = options_.topn.ivf;
  if (o.probe == 0 && o.target_recall > 0.0f && ivf_.measured_recall(/*cosine=*/true) < 0.0f) {
    return true;
  }
  const uint64_t trained = ivf_.trained_items();
  const uint64_t every = uint64_t{options_.topn.ivf_retrain_factor} * trained;
  return model_.num_items() >= 2 * trained || (every > 0 && (ordinal + 1) % every == 0);
}

void Recommender::IndexUpkeep(uint64_t ordinal, const Recommender* leader) {
  if (IndexDue()) {
    const std::shared_ptr<IvfTraining> led =
        leader ? LedTraining(*leader, ordinal, /*started=*/false) : nullptr;
    if (led != nullptr) {
      DropRetraining();
      quantized_ = QuantizedItems(model_.rank());
      ivf_.Adopt(led->Trained(), model_.item_rows(), model_.num_items());
    } else if (leader != nullptr) {
      RequantizeAll(leader);
    } else if (index_deferred_) {
      DropRetraining();
      ivf_.Train(model_.item_rows(), model_.num_items(), model_.rank(), options_.topn.ivf);
    } else {
      RequantizeAll();
    }
    if (leader == nullptr && ivf_.lists() > 0 && ivf_.CentroidsFinite()) {
      StatusOr<IvfIndex> centroids = IvfIndex::FromCentroids(ivf_.dim(), ivf_.trained_items(),
                                                             ivf_.trained_with(), ivf_.centroids());
      if (centroids.ok()) LeadTraining(ordinal, IvfTraining::Finished(std::move(*centroids), 0));
    }
  }
  if (ivf_next_ != nullptr && !index_deferred_ && ordinal == ivf_next_->refresh_at()) {
    ivf_next_->Refresh(model_.item_rows(), model_.num_items());
  }
  if (ivf_next_ != nullptr && ordinal == ivf_next_->install_at()) InstallRetrained();
  if (IndexRetrainDue(ordinal)) StartRetraining(ordinal, leader);
}

void Recommender::LeadTraining(uint64_t ordinal, std::shared_ptr<IvfTraining> training) {
  if (implicit_ && implicit_.use_count() > 1)
    trained_led_.push_back({ordinal, std::move(training)});
}

std::shared_ptr<IvfTraining> Recommender::LedTraining(const Recommender& leader, uint64_t ordinal,
                                                      bool started) {
  for (const Trained& t : leader.trained_led_) {
    if (t.ordinal == ordinal && (t.training->install_at() != 0) == started) return t.training;
  }
  return nullptr;
}

namespace {

// What a retraining measures its probes on (IvfOptions::target_recall),
// drawn by generators seeded with the event's ordinal, so that every copy,
// a replay and a follower draw the same: up to 128 users' vectors among
// those the scan answers (`served`: not the cold, who get the popular
// list), as pages are asked for by users, and 128 items whose own rows
// ask for similar items. With replacement: a small catalog is measured on
// what it has; at most 64 draws per user, so a stream of mostly cold
// users is measured on fewer, and on none where none is served.
constexpr uint32_t kProbeQueries = 128;

template <typename Served>
IvfTraining::ProbeSample DrawProbeSample(const MFModel& model, uint64_t ordinal, Served served) {
  IvfTraining::ProbeSample s;
  const uint32_t users = model.num_users(), items = model.num_items();
  const auto rank = static_cast<size_t>(model.rank());
  SplitMix64 rng(0x1f5a9e3c7b2d4861ull ^ ordinal);
  for (uint32_t draw = 0;
       users > 0 && draw < 64 * kProbeQueries && s.users.size() < kProbeQueries * rank; ++draw) {
    const auto u = static_cast<uint32_t>(rng.Uniform(users));
    if (!served(u)) continue;
    s.users.insert(s.users.end(), model.user_factors(u), model.user_factors(u) + rank);
  }
  SplitMix64 item_rng(0x6c8e9cf570932bd5ull ^ ordinal);
  for (uint32_t k = 0; items > 0 && k < kProbeQueries; ++k) {
    s.items.push_back(static_cast<uint32_t>(item_rng.Uniform(items)));
  }
  return s;
}

}  // namespace

void Recommender::StartRetraining(uint64_t ordinal, const Recommender* leader) {
  const uint32_t n = model_.num_items();
  std::shared_ptr<IvfTraining> led =
      leader ? LedTraining(*leader, ordinal, /*started=*/true) : nullptr;
  if (led != nullptr && led->rows() == n) {
    // The leader started it at this event, on the rows it had there.
    ivf_next_ = std::move(led);
  } else {
    const IvfOptions& ivf = options_.topn.ivf;
    IvfTraining::ProbeSample sample;
    if (ivf.probe == 0 && ivf.target_recall > 0.0f) {
      // Cold users (fewer than cold_start_min_items items seen) are
      // answered with the popular list, not the scan. Told apart by the
      // model step's own state, not by the seen lists: a replay's front
      // writes those ahead of the step, on another thread (ReplayPipeline),
      // so they would be read in a race and at another event than a live
      // copy reads them. kBpr is not split (its step reads the seen lists).
      const uint32_t min_items = options_.cold_start_min_items;
      sample = DrawProbeSample(model_, ordinal, [this, min_items](uint32_t u) {
        if (implicit_) return implicit_->UserCells(u).size() >= min_items;  // items with strength
        if (options_.objective == Objective::kRating) {
          return learner_.user_event_count(u) >= min_items;
        }
        return Seen(u).size() >= min_items;
      });
    }
    ivf_next_ = IvfTraining::Start(model_.item_rows(), n, model_.rank(), ivf,
                                   /*centroids_only=*/index_deferred_, ordinal + n,
                                   std::move(sample), options_.topn.int8);
    if (leader == nullptr) LeadTraining(ordinal, ivf_next_);
  }
}

void Recommender::InstallRetrained() {
  const std::shared_ptr<IvfTraining> t = std::move(ivf_next_);  // leaves ivf_next_ null
  quantized_ = QuantizedItems(model_.rank());
  if (index_deferred_) {
    ivf_ = t->Trained();  // the centroids; EndReplay files the rows
  } else {
    ivf_ = t->Install(model_.item_rows(), model_.num_items());
  }
}

void Recommender::DropRetraining() { ivf_next_.reset(); }

void Recommender::RestoreIndex(IvfIndex trained, IvfIndex next, uint64_t next_at) {
  DropRetraining();
  // Centroids of other k-means options are not this configuration's: none
  // kept, so the index is trained afresh where one is kept.
  const bool kept = trained.TrainedWith(options_.topn.ivf);
  ivf_ = kept ? std::move(trained) : IvfIndex(model_.rank());
  RefileOrRequantizeAll();
  if (kept && next.lists() > 0 && next.TrainedWith(options_.topn.ivf) &&
      ActiveTopN() == TopNMethod::kIvf && !IndexDue()) {
    ivf_next_ = IvfTraining::Finished(std::move(next), next_at);
  }
}

void Recommender::Requantize(uint32_t i, const Recommender* leader, float moved) {
  if (index_deferred_) return;  // EndReplay files it
  // Kept only while in use: under kAuto below its threshold (and always
  // under kExact) neither the mirror nor the index exists or costs.
  const TopNMethod active = ActiveTopN();
  if (active == TopNMethod::kInt8) {
    const uint32_t had = quantized_.size();
    if (had == 0) return RequantizeAll();  // just switched on
    const MFModel& rows = model_;  // reads (a non-const item_factors(i) takes the page)
    if (had < model_.num_items()) {
      quantized_.Resize(model_.num_items());
      for (uint32_t r = had; r < model_.num_items(); ++r) {
        quantized_.Set(r, rows.item_factors(r));
      }
    }
    if (i < had) quantized_.Set(i, rows.item_factors(i));
  } else if (active == TopNMethod::kIvf) {
    if (IndexDue()) {
      // Trained at the end of the step (IndexUpkeep): a leader's Learn, a
      // follower's Count (before this). Due here only inside Learn (a BPR
      // negative) or a forgetting; a follower takes its leader's
      // centroids.
      if (leader != nullptr) RequantizeAll(leader);
      return;
    }
    const uint32_t had = ivf_.size();
    for (uint32_t r = had; r < model_.num_items(); ++r) ivf_.Update(r, model_.item_rows());
    if (i < had) ivf_.Update(i, model_.item_rows(), moved);
  }
}

void Recommender::RequantizeAll(const Recommender* leader) {
  DropRetraining();
  const TopNMethod active = ActiveTopN();
  if (active == TopNMethod::kInt8) {
    quantized_.Assign(model_.item_rows(), model_.num_items(), model_.rank());
  } else {
    quantized_ = QuantizedItems(model_.rank());
  }
  if (active == TopNMethod::kIvf && leader != nullptr && leader->ivf_.lists() > 0) {
    // A follower runs behind its leader, whose rows it copies as they are
    // at the end of the leader's run: a k-means of its own here would see
    // other rows than the leader's did and give other cells. It takes the
    // leader's centroids instead (the leader trained at this same event;
    // IndexUpkeep finds them in trained_led_ where the leader retrained
    // again later in the run).
    ivf_.Adopt(leader->ivf_, model_.item_rows(), model_.num_items());
  } else if (active == TopNMethod::kIvf) {
    ivf_.Build(model_.item_rows(), model_.num_items(), model_.rank(), options_.topn.ivf);
  } else {
    ivf_ = IvfIndex(model_.rank());
  }
}

}  // namespace streamrec::engine
