#include "tools/data/public_datasets.h"

#include <fmt/format.h>

#include <array>

namespace streamrec::tools {
namespace {

// MovieLens READMEs: use needs no permission for research, but the data may
// not be redistributed or used commercially without it, and publications
// must cite it.
constexpr std::string_view kGroupLens =
    "GroupLens research license: free for research and education; no redistribution and no "
    "commercial use without permission; cite Harper & Konstan, ACM TiiS 2015";
constexpr std::string_view kGroupLensLatest =
    "GroupLens research license (no redistribution or commercial use without permission, cite "
    "Harper & Konstan 2015); changes with each release, so not for reporting research results";
constexpr std::string_view kMovieLensStars = "star ratings 1-5 -> rating";
constexpr std::string_view kMovieLensHalfStars = "star ratings 0.5-5 in half stars -> rating";

constexpr std::array<PublicDataset, 15> kDatasets{{
    {"movielens-100k", "MovieLens 100K", "100,000 ratings, 943 users, 1,682 movies (1997-1998)",
     kMovieLensStars, kGroupLens, "https://grouplens.org/datasets/movielens/100k/", "ml-100k"},
    {"movielens-1m", "MovieLens 1M",
     "1,000,209 ratings, 6,040 users, about 3,900 movies (users who joined in 2000)",
     kMovieLensStars, kGroupLens, "https://grouplens.org/datasets/movielens/1m/", "ml-1m"},
    {"movielens-10m", "MovieLens 10M", "10,000,054 ratings, 71,567 users, 10,681 movies",
     kMovieLensHalfStars, kGroupLens, "https://grouplens.org/datasets/movielens/10m/",
     "ml-10M100K"},
    {"movielens-20m", "MovieLens 20M",
     "20,000,263 ratings, 138,493 users, 27,278 movies (1995-2015)", kMovieLensHalfStars,
     kGroupLens, "https://grouplens.org/datasets/movielens/20m/", "ml-20m"},
    {"movielens-25m", "MovieLens 25M",
     "25,000,095 ratings, 162,541 users, 62,423 movies (1995-2019)", kMovieLensHalfStars,
     kGroupLens, "https://grouplens.org/datasets/movielens/25m/", "ml-25m"},
    {"movielens-32m", "MovieLens 32M",
     "32,000,204 ratings, 200,948 users, 87,585 movies (1995-2023)", kMovieLensHalfStars,
     kGroupLens, "https://grouplens.org/datasets/movielens/32m/", "ml-32m"},
    {"movielens-latest-small", "MovieLens Latest Small",
     "about 100,000 ratings, 610 users, 9,700 movies (the 2018-09 release)", kMovieLensHalfStars,
     kGroupLensLatest, "https://grouplens.org/datasets/movielens/latest/", "ml-latest-small"},
    {"movielens-latest", "MovieLens Latest (full)",
     "about 33 million ratings, 330,975 users, 86,000 movies (the 2018-09 release; it grows)",
     kMovieLensHalfStars, kGroupLensLatest, "https://grouplens.org/datasets/movielens/latest/",
     "ml-latest"},
    {"amazon-ratings", "Amazon Reviews 2018, ratings only (McAuley lab)",
     "233.1 million ratings in 29 category files (1996-2018)",
     "star ratings 1-5 -> rating; CSV item,user,rating,unix seconds without a header; a 2023 "
     "pure-ID CSV (header user_id,parent_asin,rating,timestamp in ms) is read too",
     "research use (McAuley lab, UCSD); cite Ni, Li & McAuley, EMNLP 2019 (2023 files: Hou et "
     "al. 2024); the reviews are Amazon's content",
     "https://nijianmo.github.io/amazon/", "Books.csv"},
    {"amazon-ratings-2014", "Amazon product data 2014, ratings only (McAuley lab)",
     "142.8 million reviews in 24 category files (May 1996 - July 2014), about 83 million after "
     "de-duplication",
     "star ratings 1-5 -> rating; CSV user,item,rating,unix seconds without a header",
     "research use (McAuley lab, UCSD); cite McAuley et al., SIGIR 2015 and He & McAuley, WWW "
     "2016; the reviews are Amazon's content",
     "http://jmcauley.ucsd.edu/data/amazon/index_2014.html", "ratings_Books.csv"},
    {"amazon-reviews", "Amazon Reviews with text, JSON lines (McAuley lab, 2014 / 2018 / 2023)",
     "2014: 142.8 million reviews; 2018: 233.1 million; 2023: 571.5 million reviews, 54.5 "
     "million users, 48.2 million items",
     "each review's stars 1-5 -> rating; 2014/2018 members reviewerID, asin, overall, "
     "unixReviewTime (s); 2023 user_id, parent_asin (else asin), rating, timestamp (ms); "
     "gunzip the files first",
     "research use (McAuley lab, UCSD); cite the version's paper (He & McAuley 2016, Ni et al. "
     "2019, Hou et al. 2024); the reviews are Amazon's content",
     "https://amazon-reviews-2023.github.io/", "Books.jsonl"},
    {"retailrocket", "RetailRocket e-commerce events",
     "2,756,101 events (2,664,312 views, 69,332 add-to-carts, 22,457 transactions), 1,407,580 "
     "visitors, 235,061 items (4.5 months)",
     "view -> view, addtocart -> cart, transaction -> purchase; user = visitorid; ms timestamps",
     "CC BY-NC-SA 4.0 (as published on Kaggle): attribution, non-commercial, share alike",
     "https://www.kaggle.com/datasets/retailrocket/ecommerce-dataset", "events.csv"},
    {"netflix", "Netflix Prize training set",
     "100,480,507 ratings, 480,189 users, 17,770 movies (1998-2005)",
     "star ratings 1-5 -> rating at midnight UTC of its date; 'MovieID:' blocks of "
     "CustomerID,Rating,YYYY-MM-DD lines (combined_data_1..4.txt or training_set/mv_*.txt); "
     "probe.txt and qualifying.txt hold no ratings",
     "the Prize's terms (the contest and non-commercial research, no redistribution); Netflix no "
     "longer distributes it, copies such as Kaggle's are unofficial",
     "https://www.kaggle.com/datasets/netflix-inc/netflix-prize-data", "netflix-prize-data"},
    {"yoochoose", "YOOCHOOSE clicks and buys (RecSys Challenge 2015)",
     "33,003,944 clicks and 1,150,753 buys in 9,249,729 sessions, 52,739 items (6 months of "
     "2014)",
     "click -> click, buy -> purchase; user = the session id (sessions are anonymous); price "
     "and quantity are not kept; a directory is read as yoochoose-clicks.dat then "
     "yoochoose-buys.dat",
     "RecSys Challenge 2015 terms (data by YOOCHOOSE GmbH): research use; the challenge site is "
     "gone, copies circulate (e.g. on Kaggle)",
     "https://recsys.acm.org/recsys15/challenge/", "yoochoose-data"},
    {"lastfm-1k", "Last.fm 1K users' listening histories (Celma)",
     "19,150,868 plays, 992 users, 176,948 artists (to May 2009)",
     "each play -> view (no ratings); item = the track's MusicBrainz id, or \"artist - track\" "
     "(the names) when it has none",
     "non-commercial use, distributed with Last.fm's permission (commercial use: ask Last.fm); "
     "cite Celma, Music Recommendation and Discovery, Springer 2010",
     "http://ocelma.net/MusicRecommendationDataset/lastfm-1K.html", "lastfm-dataset-1K"},
}};

}  // namespace

std::span<const PublicDataset> PublicDatasets() { return kDatasets; }

std::string ImportCommand(const PublicDataset& d) {
  return fmt::format("streamrec import {} {} --out {}.events", d.name, d.path, d.name);
}

}  // namespace streamrec::tools
