// The well-known public interaction data sets `streamrec import` reads: what
// each holds, its license terms, where to get it and the command that
// imports it (what `streamrec datasets` prints). Nothing here downloads
// anything; the sizes are the publishers' figures, as text.
//
// The license lines are summaries for choosing a data set, not legal
// advice: read the data set's own terms before using it, and never commit
// one to a repository unless its terms allow redistribution.
//
// Thread-safety: immutable data and pure functions.
#pragma once

#include <span>
#include <string>
#include <string_view>

namespace streamrec::tools {

struct PublicDataset {
  std::string_view name;     // the `streamrec import` format, e.g. "movielens-1m"
  std::string_view title;    // "MovieLens 1M"
  std::string_view size;     // interactions, users, items; approximate
  std::string_view events;   // what the events are and the types they become
  std::string_view license;  // the terms, in one line
  std::string_view url;      // where to get it (the page that also states the terms)
  std::string_view path;     // what to pass to import: the file or directory as unpacked
};

// Every data set, in the order `streamrec datasets` lists them. Every name
// is a format ImportFormats() (tools/data/importers.h) accepts.
std::span<const PublicDataset> PublicDatasets();

// "streamrec import <name> <path> --out <name>.events".
std::string ImportCommand(const PublicDataset& d);

}  // namespace streamrec::tools
