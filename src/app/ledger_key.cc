#include "app/ledger_key.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

namespace smsconsent {
namespace {

Status Errno(const std::string& what) {
  return Internal(what + ": " + std::strerror(errno));
}

Status WriteAllSynced(const std::string& path, const std::string& data) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return Errno("creating " + path);
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      Status st = Errno("writing " + path);
      ::close(fd);
      return st;
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) {
    Status st = Errno("syncing " + path);
    ::close(fd);
    return st;
  }
  if (::close(fd) != 0) return Errno("closing " + path);
  return Status::Ok();
}

}  // namespace

Result<SigningKey> LoadOrCreateLedgerKey(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (in) {
    std::ostringstream buf;
    buf << in.rdbuf();
    Result<SigningKey> key = SigningKey::FromPem(buf.str());
    if (!key.ok()) {
      return InvalidArgument("ledger key " + path + ": " + key.status().message());
    }
    return key;
  }
  if (errno != ENOENT) return Errno("reading the ledger key " + path);
  SMSC_ASSIGN_OR_RETURN(SigningKey key, SigningKey::Generate());
  const std::string tmp = path + ".tmp-" + std::to_string(::getpid());
  SMSC_RETURN_IF_ERROR(WriteAllSynced(tmp, key.ToPem()));
  // Two processes creating the key at once: the first link wins and both use its key.
  if (::link(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    if (err == EEXIST) return LoadOrCreateLedgerKey(path);
    errno = err;
    return Errno("creating the ledger key " + path);
  }
  ::unlink(tmp.c_str());
  // The directory entry too, so the key survives a power loss with the data it signs.
  const std::string dir = path.find('/') == std::string::npos
                              ? std::string(".")
                              : path.substr(0, path.rfind('/') == 0 ? 1 : path.rfind('/'));
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return key;
}

}  // namespace smsconsent
