// JetStreamLog's images (jetstream_log.h, docs/DESIGN.md section 10): a
// directory put into the images stream in chunks under a manifest, found,
// fetched back and dropped.
#include <fmt/format.h>
#include <nats/nats.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "storage/jetstream/jetstream_impl.h"
#include "storage/jetstream/jetstream_log.h"

namespace streamrec::storage {
namespace jetstream_internal {

// An image's manifest, the last message on its subject. A few lines of
// text, written and read only here:
//   streamrec-image 1
//   seq <stream seq>
//   file <name> <bytes>                        one per file, in order
//   chunk <images seq> <file> <offset> <bytes>  one per chunk, in order
struct Manifest {
  struct File {
    std::string name;
    uint64_t bytes = 0;
  };
  struct Chunk {
    uint64_t seq = 0;
    size_t file = 0;
    uint64_t offset = 0;
    uint64_t bytes = 0;
  };
  uint64_t seq = 0;
  std::vector<File> files;
  std::vector<Chunk> chunks;

  std::string Encode() const {
    std::string out = fmt::format("streamrec-image 1\nseq {}\n", seq);
    for (const File& f : files) out += fmt::format("file {} {}\n", f.name, f.bytes);
    for (const Chunk& c : chunks) {
      out += fmt::format("chunk {} {} {} {}\n", c.seq, c.file, c.offset, c.bytes);
    }
    return out;
  }
  static StatusOr<Manifest> Decode(std::string_view text) {
    std::istringstream in{std::string(text)};
    std::string word;
    int version = 0;
    Manifest m;
    if (!(in >> word >> version) || word != "streamrec-image" || version != 1 ||
        !(in >> word >> m.seq) || word != "seq") {
      return Status::Corruption("an image manifest without its header");
    }
    while (in >> word) {
      if (word == "file") {
        File f;
        if (!(in >> f.name >> f.bytes)) return Status::Corruption("a bad file line in a manifest");
        m.files.push_back(std::move(f));
      } else if (word == "chunk") {
        Chunk c;
        if (!(in >> c.seq >> c.file >> c.offset >> c.bytes) || c.file >= m.files.size()) {
          return Status::Corruption("a bad chunk line in a manifest");
        }
        m.chunks.push_back(c);
      } else {
        return Status::Corruption(fmt::format("an unknown line '{}' in a manifest", word));
      }
    }
    return m;
  }
};

}  // namespace jetstream_internal

namespace {
constexpr const char* kManifestHeader = "Streamrec-Manifest";

}  // namespace

using jetstream_internal::Manifest;
using jetstream_internal::NatsError;

// Finds or creates the images stream (kept until dropped, like the log).
Status JetStreamLog::Impl::EnsureImages() {
  jsOptions o = RequestOptions();
  jsStreamInfo* si = nullptr;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  natsStatus s = js_GetStreamInfo(&si, js, images_stream.c_str(), &o, &jerr);
  if (s == NATS_OK) {
    jsStreamInfo_Destroy(si);
    return Status::OK();
  }
  if (s != NATS_NOT_FOUND && jerr != JSStreamNotFoundErr) {
    return Status::Unavailable(NatsError("reading the images stream's info", s, jerr));
  }
  s = AddStream(images_stream, images_prefix + "*", &jerr);
  if (s == NATS_OK) return Status::OK();
  // Another replica may have created it meanwhile.
  jerr = static_cast<jsErrCode>(0);
  if (js_GetStreamInfo(&si, js, images_stream.c_str(), &o, &jerr) == NATS_OK) {
    jsStreamInfo_Destroy(si);
    return Status::OK();
  }
  return Status::Unavailable(NatsError("creating the images stream", s, jerr));
}

// The images' subjects ("<prefix><seq>_<upload>"), oldest seq first.
StatusOr<std::vector<JetStreamLog::Impl::ImageSubject>> JetStreamLog::Impl::ImageSubjects() {
  jsOptions o = RequestOptions();
  const std::string filter = images_prefix + "*";
  o.Stream.Info.SubjectsFilter = filter.c_str();
  jsStreamInfo* si = nullptr;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  natsStatus s = js_GetStreamInfo(&si, js, images_stream.c_str(), &o, &jerr);
  if (s != NATS_OK) return Status::Unavailable(NatsError("listing the images", s, jerr));
  std::vector<ImageSubject> out;
  if (si->State.Subjects != nullptr) {
    for (int k = 0; k < si->State.Subjects->Count; ++k) {
      const jsStreamStateSubject& e = si->State.Subjects->List[k];
      std::string_view name(e.Subject);
      if (!name.starts_with(images_prefix)) continue;
      name.remove_prefix(images_prefix.size());
      uint64_t seq = 0;
      auto [end, ec] = std::from_chars(name.data(), name.data() + name.size(), seq);
      if (ec == std::errc() && end != name.data() + name.size() && *end == '_') {
        out.push_back({seq, e.Subject, e.Msgs});
      }
    }
  }
  jsStreamInfo_Destroy(si);
  std::sort(out.begin(), out.end(),
            [](const ImageSubject& x, const ImageSubject& y) { return x.seq < y.seq; });
  return out;
}

// The newest complete image (of seq `want`, or of any when 0): its
// subject and manifest. NotFound if there is none. An image is complete
// when its manifest is the subject's last message and every chunk it
// names is there.
StatusOr<std::pair<std::string, Manifest>> JetStreamLog::Impl::FindImage(uint64_t want) {
  StatusOr<std::vector<ImageSubject>> subjects = ImageSubjects();
  if (!subjects.ok()) return subjects.status();
  for (auto it = subjects->rbegin(); it != subjects->rend(); ++it) {
    if (want != 0 && it->seq != want) continue;
    jsOptions o = RequestOptions();
    natsMsg* msg = nullptr;
    jsErrCode jerr = static_cast<jsErrCode>(0);
    natsStatus s = js_GetLastMsg(&msg, js, images_stream.c_str(), it->subject.c_str(), &o, &jerr);
    if (s == NATS_NOT_FOUND || jerr == JSNoMessageFoundErr) continue;  // dropped meanwhile
    if (s != NATS_OK) return Status::Unavailable(NatsError("reading an image's manifest", s, jerr));
    const char* flag = nullptr;
    const bool is_manifest = natsMsgHeader_Get(msg, kManifestHeader, &flag) == NATS_OK;
    StatusOr<Manifest> m =
        is_manifest ? Manifest::Decode(std::string_view(
                          natsMsg_GetData(msg), static_cast<size_t>(natsMsg_GetDataLength(msg))))
                    : StatusOr<Manifest>(Status::NotFound("no manifest"));
    natsMsg_Destroy(msg);
    if (!m.ok() || m->seq != it->seq || it->messages != m->chunks.size() + 1) continue;
    return std::make_pair(it->subject, std::move(m).value());
  }
  return Status::NotFound(want != 0 ? fmt::format("no complete image of stream seq {}", want)
                                    : std::string("no complete image"));
}

// Message `seq` of the images stream; NotFound if it is gone.
StatusOr<natsMsg*> JetStreamLog::Impl::GetImageMsg(uint64_t seq) {
  jsOptions o = RequestOptions();
  natsMsg* msg = nullptr;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  natsStatus s = js_GetMsg(&msg, js, images_stream.c_str(), seq, &o, &jerr);
  if (s == NATS_OK) return msg;
  if (s == NATS_NOT_FOUND || jerr == JSNoMessageFoundErr) {
    return Status::NotFound(fmt::format("image message {} is gone", seq));
  }
  return Status::Unavailable(NatsError(fmt::format("reading image message {}", seq), s, jerr));
}

Status JetStreamLog::PutImage(uint64_t seq, const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  std::vector<fs::path> paths;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    if (e.is_regular_file()) paths.push_back(e.path());
  }
  if (ec) return Status::IOError(fmt::format("listing '{}': {}", dir, ec.message()));
  std::sort(paths.begin(), paths.end());
  // One subject per upload: two replicas imaging the same seq at once do
  // not interleave on one subject.
  std::mt19937_64 rng(std::random_device{}());
  const std::string subject = fmt::format("{}{}_{:016x}", impl_->images_prefix, seq, rng());
  const size_t chunk = std::min<size_t>(max_message_bytes() - 512, size_t{1} << 20);
  Manifest m;
  m.seq = seq;
  std::string buf(chunk, '\0');
  for (const fs::path& p : paths) {
    const std::string name = p.filename().string();
    if (name.find_first_of(" \t\r\n/") != std::string::npos) {
      return Status::InvalidArgument(fmt::format("image file name '{}' has whitespace", name));
    }
    std::ifstream in(p, std::ios::binary);
    if (!in) return Status::IOError(fmt::format("reading '{}'", p.string()));
    const size_t index = m.files.size();
    m.files.push_back({name, 0});
    for (;;) {
      in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
      const size_t got = static_cast<size_t>(in.gcount());
      if (got == 0) break;
      const uint64_t offset = m.files.back().bytes;
      StatusOr<uint64_t> at =
          impl_->Publish(subject, fmt::format("{}-{}", subject, m.chunks.size()),
                         std::string_view(buf.data(), got),
                         {{"Streamrec-File", name}, {"Streamrec-Offset", std::to_string(offset)}});
      if (!at.ok()) return at.status();
      m.chunks.push_back({*at, index, offset, got});
      m.files.back().bytes += got;
      if (got < buf.size()) break;
    }
    if (in.bad()) return Status::IOError(fmt::format("reading '{}'", p.string()));
  }
  const std::string text = m.Encode();
  if (text.size() > max_message_bytes()) {
    return Status::InvalidArgument(fmt::format("the image's manifest takes {} bytes", text.size()));
  }
  StatusOr<uint64_t> at =
      impl_->Publish(subject, subject + "-manifest", text, {{kManifestHeader, "1"}});
  return at.status();
}

StatusOr<std::optional<StreamImage>> JetStreamLog::LatestImage() {
  StatusOr<std::pair<std::string, Manifest>> found = impl_->FindImage(0);
  if (!found.ok() && found.status().code() == StatusCode::kNotFound) {
    return std::optional<StreamImage>();
  }
  if (!found.ok()) return found.status();
  StreamImage image{found->second.seq, found->second.files.size(), 0};
  for (const Manifest::File& f : found->second.files) image.bytes += f.bytes;
  return std::optional<StreamImage>(image);
}

Status JetStreamLog::GetImage(uint64_t seq, const std::string& dir) {
  namespace fs = std::filesystem;
  StatusOr<std::pair<std::string, Manifest>> found = impl_->FindImage(seq);
  if (!found.ok()) return found.status();
  const Manifest& m = found->second;
  std::error_code ec;
  if (!fs::create_directory(dir, ec)) {
    return Status::IOError(
        fmt::format("creating '{}': {}", dir, ec ? ec.message() : "it exists already"));
  }
  std::FILE* out = nullptr;
  size_t open_file = m.files.size();
  uint64_t written = 0;
  auto close_file = [&]() -> Status {
    if (out == nullptr) return Status::OK();
    const bool ok = std::fflush(out) == 0 && ::fsync(fileno(out)) == 0;
    std::fclose(out);
    out = nullptr;
    if (!ok) return Status::IOError(fmt::format("writing '{}'", m.files[open_file].name));
    if (written != m.files[open_file].bytes) {
      return Status::Corruption(fmt::format("image file '{}': {} bytes, the manifest says {}",
                                            m.files[open_file].name, written,
                                            m.files[open_file].bytes));
    }
    return Status::OK();
  };
  auto open = [&](size_t file) -> Status {
    STREAMREC_RETURN_IF_ERROR(close_file());
    open_file = file;
    written = 0;
    out = std::fopen((fs::path(dir) / m.files[file].name).c_str(), "wb");
    if (out == nullptr) return Status::IOError(fmt::format("creating '{}'", m.files[file].name));
    return Status::OK();
  };
  std::vector<bool> opened(m.files.size(), false);
  Status st;
  for (const Manifest::Chunk& c : m.chunks) {
    if (c.file != open_file) {
      if (opened[c.file]) {
        st = Status::Corruption("an image manifest whose chunks of one file are not together");
        break;
      }
      opened[c.file] = true;
      if (st = open(c.file); !st.ok()) break;
    }
    StatusOr<natsMsg*> msg = impl_->GetImageMsg(c.seq);
    if (!msg.ok()) {
      st = msg.status();
      break;
    }
    const size_t n = static_cast<size_t>(natsMsg_GetDataLength(*msg));
    const bool fits = n == c.bytes && c.offset == written;
    const bool put = fits && std::fwrite(natsMsg_GetData(*msg), 1, n, out) == n;
    natsMsg_Destroy(*msg);
    if (!fits) {
      st = Status::Corruption(fmt::format("image chunk {} does not fit its manifest", c.seq));
      break;
    }
    if (!put) {
      st = Status::IOError(fmt::format("writing '{}'", m.files[c.file].name));
      break;
    }
    written += n;
  }
  if (Status closed = close_file(); st.ok()) st = closed;
  // Files with no bytes have no chunk.
  for (size_t f = 0; st.ok() && f < m.files.size(); ++f) {
    if (opened[f]) continue;
    if (m.files[f].bytes != 0) {
      st = Status::Corruption(fmt::format("image file '{}' has no chunks", m.files[f].name));
      break;
    }
    std::FILE* empty = std::fopen((fs::path(dir) / m.files[f].name).c_str(), "wb");
    if (empty == nullptr) st = Status::IOError(fmt::format("creating '{}'", m.files[f].name));
    if (empty != nullptr) std::fclose(empty);
  }
  if (!st.ok()) {
    fs::remove_all(dir, ec);
    return st;
  }
  return Status::OK();
}

Status JetStreamLog::DropImagesBefore(uint64_t seq) {
  StatusOr<std::vector<Impl::ImageSubject>> subjects = impl_->ImageSubjects();
  if (!subjects.ok()) return subjects.status();
  for (const Impl::ImageSubject& s : *subjects) {
    if (s.seq >= seq) continue;
    jsOptions o = impl_->RequestOptions();
    o.Stream.Purge.Subject = s.subject.c_str();
    jsErrCode jerr = static_cast<jsErrCode>(0);
    natsStatus st = js_PurgeStream(impl_->js, impl_->images_stream.c_str(), &o, &jerr);
    if (st != NATS_OK) {
      return Status::Unavailable(NatsError(fmt::format("dropping image {}", s.seq), st, jerr));
    }
  }
  return Status::OK();
}

}  // namespace streamrec::storage
