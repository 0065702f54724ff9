#include "storage/rocks_logger.h"

#include <sys/time.h>

#include <cstdarg>
#include <ctime>
#include <filesystem>

namespace streamrec::storage {

std::shared_ptr<RocksInfoLog> RocksInfoLog::Open(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::exists(path, ec)) {
    // Swallowed on purpose: losing the previous run's LOG is not worth
    // refusing to start over.
    std::filesystem::rename(path, path + ".old", ec);
  }
  return std::shared_ptr<RocksInfoLog>(new RocksInfoLog(std::fopen(path.c_str(), "a")));
}

std::shared_ptr<RocksInfoLog> RocksInfoLog::Discarding() {
  return std::shared_ptr<RocksInfoLog>(new RocksInfoLog(nullptr));
}

RocksInfoLog::RocksInfoLog(std::FILE* f)
    : rocksdb::Logger(rocksdb::InfoLogLevel::INFO_LEVEL), file_(f), dropped_(0) {}

RocksInfoLog::~RocksInfoLog() { (void)CloseImpl(); }

rocksdb::Status RocksInfoLog::CloseImpl() {
  MutexLock lock(&mu_);
  if (file_ != nullptr) std::fclose(file_);
  file_ = nullptr;
  return rocksdb::Status::OK();
}

void RocksInfoLog::Logv(const char* format, va_list ap) {
  char line[1024];
  struct timeval now;
  gettimeofday(&now, nullptr);
  struct tm t;
  localtime_r(&now.tv_sec, &t);
  int n = std::snprintf(line, sizeof(line), "%04d/%02d/%02d-%02d:%02d:%02d.%06ld ",
                        t.tm_year + 1900, t.tm_mon + 1, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec,
                        static_cast<long>(now.tv_usec));
  if (n < 0) n = 0;
  const int body = std::vsnprintf(line + n, sizeof(line) - n, format, ap);
  size_t len = body < 0 ? static_cast<size_t>(n) : std::min(sizeof(line) - 2, size_t(n + body));
  if (len == 0 || line[len - 1] != '\n') line[len++] = '\n';
  MutexLock lock(&mu_);
  if (file_ == nullptr) return;
  // A failed write (ENOSPC) is a lost line, nothing more; the stream's error
  // flag is cleared so the next line is tried again.
  if (std::fwrite(line, 1, len, file_) != len || std::fflush(file_) != 0) {
    ++dropped_;
    std::clearerr(file_);
  }
}

uint64_t RocksInfoLog::dropped() const {
  MutexLock lock(&mu_);
  return dropped_;
}

}  // namespace streamrec::storage
