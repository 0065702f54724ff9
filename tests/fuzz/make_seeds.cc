// Writes the binary seeds of the fuzz corpora, which are easier to make
// with the production encoders than by hand: snapshots of the recommenders
// of snapshot_fixture.h (tests/fuzz/corpus/snapshot) and event, catalog,
// dedup and key records (tests/fuzz/corpus/event_codec). Rerun after a
// format change, keeping a seed of each older format the decoders still
// read under a -vN name (event_codec/item-meta*-v1, snapshot/*-events-v3):
//   build/fuzz/tests/fuzz/fuzz_make_seeds tests/fuzz/corpus
// The text corpora are written by hand.
#include <fmt/format.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "engine/live/snapshot.h"
#include "storage/event_codec.h"
#include "tests/fuzz/snapshot_fixture.h"

namespace streamrec::fuzz {
namespace {

using engine::Event;
using engine::Recommender;

bool Write(const std::filesystem::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  out.close();
  if (!out) fmt::print(stderr, "cannot write {}\n", path.string());
  return static_cast<bool>(out);
}

// Three users, four items, every default type; the last user is forgotten
// (a "" id in the snapshot) when `forget` is set.
void Feed(Recommender* rec, bool forget) {
  const engine::EventTypes& t = rec->types();
  const struct {
    const char* user;
    const char* item;
    const char* type;
    float value;
  } events[] = {
      {"u1", "i1", "view", 0.0f}, {"u1", "i2", "rating", 4.0f},   {"u2", "i2", "click", 0.0f},
      {"u2", "i3", "cart", 0.0f}, {"u3", "i1", "purchase", 0.0f}, {"u3", "i4", "rating", 2.5f},
      {"u1", "i3", "view", 0.0f},
  };
  std::vector<Event> applied;
  int64_t ts = 1'700'000'000'000;
  for (const auto& e : events) {
    const Event ev{e.user, e.item, *t.Find(e.type), e.value, ts += 60'000};
    if (rec->Apply(ev).ok()) applied.push_back(ev);
  }
  if (forget) (void)rec->ForgetUser("u3", applied);
}

// The same snapshot in an older format: before version 6 the config
// section ends before init_full_scale_users and _items; version 2 has no ivf section
// (tag 10); version 1 (rating models only) no implicit section (tag 9)
// either, and no objective in the config section.
std::string OlderVersion(const std::string& v3, uint32_t version) {
  constexpr size_t kHeader = sizeof(engine::kSnapshotMagic) + 4;
  std::string out(v3.substr(0, kHeader));
  std::memcpy(out.data() + sizeof(engine::kSnapshotMagic), &version, 4);
  const uint32_t last = version == 1 ? 8 : 9;
  size_t at = kHeader;
  while (at + 12 <= v3.size() - 4) {
    uint32_t tag = 0;
    uint64_t len = 0;
    std::memcpy(&tag, v3.data() + at, 4);
    std::memcpy(&len, v3.data() + at + 4, 8);
    std::string payload = v3.substr(at + 12, len);
    at += 12 + len;
    if (tag > last) break;
    if (tag == 1) payload.resize(payload.size() - 8);  // init_full_scale_users, _items
    if (tag == 1 && version == 1) payload.pop_back();  // the objective byte
    const uint64_t new_len = payload.size();
    out.append(reinterpret_cast<const char*>(&tag), 4);
    out.append(reinterpret_cast<const char*>(&new_len), 8);
    out += payload;
  }
  const uint32_t crc = engine::Crc32c(out);
  out.append(reinterpret_cast<const char*>(&crc), 4);
  return out;
}

bool Snapshots(const std::filesystem::path& dir) {
  bool ok = true;
  for (engine::Objective o : kSnapshotObjectives) {
    const std::string name(engine::ObjectiveName(o));
    std::unique_ptr<Recommender> rec = SnapshotRecommender(o);
    ok &= Write(dir / fmt::format("{}-empty.snap", name), engine::EncodeSnapshot(*rec));
    Feed(rec.get(), false);
    const std::string fed = engine::EncodeSnapshot(*rec);
    ok &= Write(dir / fmt::format("{}-events.snap", name), fed);
    if (o == engine::Objective::kRating) ok &= Write(dir / "rating-v1.snap", OlderVersion(fed, 1));
    ok &= Write(dir / fmt::format("{}-v2.snap", name), OlderVersion(fed, 2));
    rec = SnapshotRecommender(o);
    Feed(rec.get(), true);
    ok &= Write(dir / fmt::format("{}-forgotten.snap", name), engine::EncodeSnapshot(*rec));
  }
  return ok;
}

bool Records(const std::filesystem::path& dir) {
  std::string bytes;
  storage::StoredEvent e;
  e.user = "u1";
  e.item = "i9";
  e.type = "view";
  e.ts_ms = 1'700'000'000'000;
  storage::EncodeEvent(e, &bytes);
  bool ok = Write(dir / "event-view", bytes);
  e.event_id = "client-42";
  e.type = "rating";
  e.value = 4.5f;
  storage::EncodeEvent(e, &bytes);
  ok &= Write(dir / "event-rating-id", bytes);
  storage::ItemMeta m;
  m.categories = {"books", "sci-fi"};
  m.created_ms = 1'700'000'000'000;
  storage::EncodeItemMeta(m, &bytes);
  ok &= Write(dir / "item-meta", bytes);
  m = {};
  m.hidden = true;
  storage::EncodeItemMeta(m, &bytes);
  ok &= Write(dir / "item-meta-hidden", bytes);
  ok &= Write(dir / "dedup", storage::EncodeDedup(7, 0x0123456789abcdefull));
  ok &= Write(dir / "seq-key", storage::SeqKey(1'000'000));
  return ok;
}

}  // namespace
}  // namespace streamrec::fuzz

int main(int argc, char** argv) {
  if (argc != 2) {
    fmt::print(stderr, "usage: {} CORPUS_DIR (tests/fuzz/corpus)\n", argv[0]);
    return 2;
  }
  const std::filesystem::path root = argv[1];
  std::filesystem::create_directories(root / "snapshot");
  std::filesystem::create_directories(root / "event_codec");
  const bool ok = streamrec::fuzz::Snapshots(root / "snapshot") &&
                  streamrec::fuzz::Records(root / "event_codec");
  return ok ? 0 : 1;
}
