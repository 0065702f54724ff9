// The write routes: each validates what it can on the calling thread, then
// queues the write on the store and answers from the store's callback (a
// store thread: it only builds the response and hands it to the
// transport, which posts it to the connection's strand).

#include <fmt/format.h>

#include <boost/beast/http/field.hpp>
#include <boost/json/object.hpp>

#include "engine/core/event.h"
#include "http/api_internal.h"
#include "http/api_json.h"
#include "http/event_json.h"

namespace streamrec::http::internal {
namespace json = boost::json;
using boost::beast::http::status;

std::string_view ContentType(const Call& c) {
  const auto it = c.req->find(boost::beast::http::field::content_type);
  return it == c.req->end() ? std::string_view{} : std::string_view(it->value());
}

void UnsupportedMediaType(Call& c, std::string_view want) {
  const std::string_view got = ContentType(c);
  c.reply.Error(status::unsupported_media_type, "unsupported_media_type",
                fmt::format("Content-Type must be {}, got '{}'", want,
                            got.empty() ? "none" : got.substr(0, 100)));
}

void PostEvents(Call& c) {
  if (!Check(c, c.query.OnlyAllowed({}))) return;
  const std::optional<EventFormat> format = EventFormatFor(ContentType(c));
  if (!format) {
    UnsupportedMediaType(c, "application/json or application/x-ndjson");
    return;
  }
  EventParseOptions opts;
  opts.max_events = c.options->max_batch_events;
  opts.max_json_depth = c.options->max_json_depth;
  opts.now_ms = engine::WallClockMs();
  opts.max_future_skew_ms =
      c.options->max_future_skew_seconds < 0 ? -1 : c.options->max_future_skew_seconds * 1000;
  opts.max_past_age_ms = c.options->max_past_age_seconds * 1000;
  opts.max_id_length = c.options->max_id_length;
  std::vector<size_t> lines;  // NDJSON: each event's line, for messages
  StatusOr<std::vector<storage::StoredEvent>> events =
      ParseEvents(c.req->body(), *format, opts, &lines);
  if (!events.ok()) {
    if (events.status().code() == StatusCode::kResourceExhausted) {
      c.reply.Error(status::payload_too_large, "payload_too_large", events.status().message());
    } else {
      c.reply.Error(events.status());
    }
    return;
  }
  c.store->IngestAsync(
      std::move(*events), [reply = c.reply, metrics = c.metrics,
                           lines = std::move(lines)](StatusOr<storage::AppendResult> r) {
        if (!r.ok()) {
          reply.StoreError(Status(r.status().code(), NameLines(r.status().message(), lines)));
          return;
        }
        metrics->RecordEvents(r->accepted, r->duplicates);
        reply.Json(status::ok, json::object{{"accepted", r->accepted},
                                            {"duplicates", r->duplicates},
                                            {"first_seq", r->first_seq},
                                            {"last_seq", r->last_seq}});
      });
}

void PutItem(Call& c) {
  if (!Check(c, c.query.OnlyAllowed({}))) return;
  const std::optional<EventFormat> format = EventFormatFor(ContentType(c));
  if (format != EventFormat::kJson) {
    UnsupportedMediaType(c, "application/json");
    return;
  }
  StatusOr<engine::ItemMeta> meta = ParseItemMeta(c.req->body(), c.options->max_json_depth);
  if (!Check(c, meta.status())) return;
  json::object answer = ItemMetaJson(c.id, *meta);
  c.store->PutItemAsync(c.id, std::move(*meta),
                        [reply = c.reply, answer = std::move(answer)](Status s) {
                          if (!s.ok()) {
                            reply.StoreError(s);
                            return;
                          }
                          reply.Json(status::ok, answer);
                        });
}

void DeleteItem(Call& c) {
  if (!Check(c, c.query.OnlyAllowed({}))) return;
  c.store->DeleteItemAsync(c.id, [reply = c.reply, item = c.id](Status s) {
    if (!s.ok()) {
      reply.StoreError(s);
      return;
    }
    reply.Json(status::ok, json::object{{"item", item}, {"deleted", true}});
  });
}

void DeleteUser(Call& c) {
  if (!Check(c, c.query.OnlyAllowed({}))) return;
  c.store->ForgetUserAsync(c.id, [reply = c.reply, user = c.id](StatusOr<uint64_t> n) {
    if (!n.ok()) {
      reply.StoreError(n.status());
      return;
    }
    reply.Json(status::ok, json::object{{"user", user}, {"events_removed", *n}});
  });
}

void PostSnapshot(Call& c) {
  if (!Check(c, c.query.OnlyAllowed({}))) return;
  c.store->SnapshotAsync([reply = c.reply](StatusOr<uint64_t> seq) {
    if (!seq.ok()) {
      reply.StoreError(seq.status());
      return;
    }
    reply.Json(status::ok, json::object{{"snapshot_seq", *seq}});
  });
}

void PostRetrain(Call& c) {
  if (!Check(c, c.query.OnlyAllowed({}))) return;
  const Status s = c.store->Retrain();
  if (s.ok()) {
    c.reply.Json(status::accepted, json::object{{"status", "started"}});
  } else if (s.code() == StatusCode::kFailedPrecondition && c.store->status().closed) {
    c.reply.Error(status::service_unavailable, "unavailable", s.message());
  } else {
    c.reply.Error(s);  // FailedPrecondition (one is running): 409
  }
}

}  // namespace streamrec::http::internal
