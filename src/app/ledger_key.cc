#include "app/ledger_key.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <random>

namespace smsconsent {
namespace {

Status KeyFileError(const std::string& what, const std::string& path, int err) {
  return FailedPrecondition("ledger key " + path + ": cannot " + what + ": " + std::strerror(err));
}

// Reads the whole file; nullopt-like NotFound when it does not exist.
Result<std::string> ReadKeyFile(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return NotFound(path);
    return KeyFileError("read it", path, errno);
  }
  std::string out;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      ::close(fd);
      return KeyFileError("read it", path, err);
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
    if (out.size() > kMaxLedgerKeyFileBytes) {
      ::close(fd);
      return InvalidArgument("ledger key " + path + ": larger than " +
                             std::to_string(kMaxLedgerKeyFileBytes) + " bytes");
    }
  }
  ::close(fd);
  return out;
}

Result<SigningKey> ParseKeyFile(const std::string& path, const std::string& text) {
  Result<SigningKey> key = SigningKey::FromPem(text);
  if (!key.ok()) return InvalidArgument("ledger key " + path + ": " + key.status().message());
  return key;
}

Status WriteAll(int fd, const std::string& data) {
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status(StatusCode::kInternal, std::strerror(errno));
    }
    done += static_cast<size_t>(n);
  }
  return Status::Ok();
}

void SyncDirectory(const std::string& path) {
  std::string dir = std::filesystem::path(path).parent_path().string();
  if (dir.empty()) dir = ".";
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

}  // namespace

Result<SigningKey> LoadOrCreateLedgerKey(const std::string& path) {
  Result<std::string> existing = ReadKeyFile(path);
  if (existing.ok()) return ParseKeyFile(path, *existing);
  if (existing.status().code() != StatusCode::kNotFound) return existing.status();

  SMSC_ASSIGN_OR_RETURN(SigningKey key, SigningKey::Generate());
  const std::string pem = key.ToPem();
  std::random_device random;
  const std::string temp =
      path + ".tmp-" + std::to_string(::getpid()) + "-" + std::to_string(random());
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return KeyFileError("create " + temp, path, errno);
  Status written = WriteAll(fd, pem);
  if (written.ok() && ::fsync(fd) != 0)
    written = Status(StatusCode::kInternal, std::strerror(errno));
  ::close(fd);
  if (!written.ok()) {
    ::unlink(temp.c_str());
    return FailedPrecondition("ledger key " + path + ": cannot write " + temp + ": " +
                              written.message());
  }
  // link() rather than rename(): it never replaces a key another process put there first.
  const int linked = ::link(temp.c_str(), path.c_str());
  const int link_errno = errno;
  ::unlink(temp.c_str());
  if (linked != 0) {
    if (link_errno != EEXIST) return KeyFileError("create it", path, link_errno);
    Result<std::string> theirs = ReadKeyFile(path);
    if (!theirs.ok()) return theirs.status();
    return ParseKeyFile(path, *theirs);
  }
  SyncDirectory(path);
  return key;
}

}  // namespace smsconsent
