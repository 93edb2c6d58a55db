#include "store/sqlite/wal_write_buffer.h"

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <new>
#include <string>
#include <vector>

#include "fmt/format.h"

namespace handoff {
namespace {

constexpr int kLogHeaderBytes = 32;
constexpr int kFrameHeaderBytes = 24;
// SQLite's unix VFS writes at most 128 KiB - 1 bytes in one call (os_unix.c masks the size with
// 0x1ffff and reports SQLITE_FULL for what is left), so gathered frames go out in pieces of that
// size: about 31 frames of 4 KiB pages a write.
constexpr size_t kMaxWrite = 0x1ffff;

// One buffering VFS over one VFS underneath. `vfs` comes first: SQLite hands back its address.
struct BufferingVfs {
  sqlite3_vfs vfs;
  sqlite3_vfs* under;
  std::string under_name;
  std::string name;
};

sqlite3_vfs* Under(sqlite3_vfs* vfs) { return reinterpret_cast<BufferingVfs*>(vfs)->under; }

// An open log file. The file of the VFS underneath lives in the same allocation, after it.
struct LogFile {
  sqlite3_file base;  // first: SQLite hands back its address
  sqlite3_file* under = nullptr;
  std::vector<char> gathered;
  int64_t start = 0;  // the file offset of gathered[0]
  // The last gathered write is the header of a commit frame: its page completes the commit.
  bool commit_frame_open = false;
};

constexpr size_t kUnderOffset = (sizeof(LogFile) + 15) / 16 * 16;

LogFile* AsLog(sqlite3_file* file) { return reinterpret_cast<LogFile*>(file); }
const sqlite3_io_methods* UnderMethods(LogFile* log) { return log->under->pMethods; }

// Passes what is gathered to the file underneath. Whatever the outcome, nothing stays gathered:
// on an error SQLite abandons the transaction, whose frames it rewrites on the next attempt.
int Flush(LogFile* log) {
  log->commit_frame_open = false;
  if (log->gathered.empty()) return SQLITE_OK;
  int rc = UnderMethods(log)->xWrite(log->under, log->gathered.data(),
                                     static_cast<int>(log->gathered.size()), log->start);
  log->gathered.clear();
  return rc;
}

bool IsCommitFrameHeader(const void* data, int n) {
  if (n != kFrameHeaderBytes) return false;
  // Bytes 4-7: the database's size in pages after the commit, zero in every other frame.
  const auto* bytes = static_cast<const unsigned char*>(data);
  return (bytes[4] | bytes[5] | bytes[6] | bytes[7]) != 0;
}

int LogWrite(sqlite3_file* file, const void* data, int n, sqlite3_int64 offset) {
  LogFile* log = AsLog(file);
  const bool commit_header = IsCommitFrameHeader(data, n);
  const bool appends =
      !log->gathered.empty() && offset == log->start + static_cast<int64_t>(log->gathered.size());
  if (appends && log->gathered.size() + static_cast<size_t>(n) > kMaxWrite) {
    // A piece as large as the file underneath takes: write it and go on gathering.
    const bool commit_frame_open = log->commit_frame_open;
    if (int rc = Flush(log); rc != SQLITE_OK) return rc;
    log->commit_frame_open = commit_frame_open;
    log->start = offset;
  } else if (!appends) {
    if (int rc = Flush(log); rc != SQLITE_OK) return rc;
    // Gathering starts at the log's header or at a frame's header. A page written on its own
    // overwrites a frame of the same transaction, and a lone commit header is either a
    // one-frame commit or SQLite rewriting checksums, after which nothing may follow to flush it.
    const bool starts_frames =
        (n == kFrameHeaderBytes && !commit_header) || (n == kLogHeaderBytes && offset == 0);
    if (!starts_frames) return UnderMethods(log)->xWrite(log->under, data, n, offset);
    log->start = offset;
  }
  const auto* bytes = static_cast<const char*>(data);
  log->gathered.insert(log->gathered.end(), bytes, bytes + n);
  if (commit_header) {
    log->commit_frame_open = true;
    return SQLITE_OK;
  }
  return log->commit_frame_open ? Flush(log) : SQLITE_OK;
}

int LogClose(sqlite3_file* file) {
  LogFile* log = AsLog(file);
  int rc = Flush(log);
  int closed = UnderMethods(log)->xClose(log->under);
  log->~LogFile();
  return rc != SQLITE_OK ? rc : closed;
}

int LogRead(sqlite3_file* file, void* data, int n, sqlite3_int64 offset) {
  LogFile* log = AsLog(file);
  if (int rc = Flush(log); rc != SQLITE_OK) return rc;
  return UnderMethods(log)->xRead(log->under, data, n, offset);
}

int LogTruncate(sqlite3_file* file, sqlite3_int64 size) {
  LogFile* log = AsLog(file);
  if (int rc = Flush(log); rc != SQLITE_OK) return rc;
  return UnderMethods(log)->xTruncate(log->under, size);
}

int LogSync(sqlite3_file* file, int flags) {
  LogFile* log = AsLog(file);
  if (int rc = Flush(log); rc != SQLITE_OK) return rc;
  return UnderMethods(log)->xSync(log->under, flags);
}

int LogFileSize(sqlite3_file* file, sqlite3_int64* size) {
  LogFile* log = AsLog(file);
  if (int rc = Flush(log); rc != SQLITE_OK) return rc;
  return UnderMethods(log)->xFileSize(log->under, size);
}

int LogLock(sqlite3_file* file, int level) {
  LogFile* log = AsLog(file);
  return UnderMethods(log)->xLock(log->under, level);
}

int LogUnlock(sqlite3_file* file, int level) {
  LogFile* log = AsLog(file);
  return UnderMethods(log)->xUnlock(log->under, level);
}

int LogCheckReservedLock(sqlite3_file* file, int* out) {
  LogFile* log = AsLog(file);
  return UnderMethods(log)->xCheckReservedLock(log->under, out);
}

int LogFileControl(sqlite3_file* file, int op, void* arg) {
  LogFile* log = AsLog(file);
  if (int rc = Flush(log); rc != SQLITE_OK) return rc;
  return UnderMethods(log)->xFileControl(log->under, op, arg);
}

int LogSectorSize(sqlite3_file* file) {
  LogFile* log = AsLog(file);
  return UnderMethods(log)->xSectorSize(log->under);
}

int LogDeviceCharacteristics(sqlite3_file* file) {
  LogFile* log = AsLog(file);
  return UnderMethods(log)->xDeviceCharacteristics(log->under);
}

// Version 1: SQLite maps shared memory and pages only through the database file, never the log.
const sqlite3_io_methods kLogMethods = {
    .iVersion = 1,
    .xClose = LogClose,
    .xRead = LogRead,
    .xWrite = LogWrite,
    .xTruncate = LogTruncate,
    .xSync = LogSync,
    .xFileSize = LogFileSize,
    .xLock = LogLock,
    .xUnlock = LogUnlock,
    .xCheckReservedLock = LogCheckReservedLock,
    .xFileControl = LogFileControl,
    .xSectorSize = LogSectorSize,
    .xDeviceCharacteristics = LogDeviceCharacteristics,
    .xShmMap = nullptr,
    .xShmLock = nullptr,
    .xShmBarrier = nullptr,
    .xShmUnmap = nullptr,
    .xFetch = nullptr,
    .xUnfetch = nullptr,
};

int VfsOpen(sqlite3_vfs* vfs, const char* name, sqlite3_file* file, int flags, int* out_flags) {
  sqlite3_vfs* under = Under(vfs);
  // Every other file is the underlying VFS's own, in the same memory, with its own methods.
  if ((flags & SQLITE_OPEN_WAL) == 0) return under->xOpen(under, name, file, flags, out_flags);
  LogFile* log = new (file) LogFile();
  log->base.pMethods = nullptr;
  log->under = reinterpret_cast<sqlite3_file*>(reinterpret_cast<char*>(file) + kUnderOffset);
  log->under->pMethods = nullptr;
  int rc = under->xOpen(under, name, log->under, flags, out_flags);
  // SQLite closes a file whose open failed only if its methods are set.
  if (log->under->pMethods == nullptr) {
    log->~LogFile();
    file->pMethods = nullptr;
    return rc;
  }
  log->base.pMethods = &kLogMethods;
  return rc;
}

int VfsDelete(sqlite3_vfs* vfs, const char* name, int sync_dir) {
  return Under(vfs)->xDelete(Under(vfs), name, sync_dir);
}
int VfsAccess(sqlite3_vfs* vfs, const char* name, int flags, int* out) {
  return Under(vfs)->xAccess(Under(vfs), name, flags, out);
}
int VfsFullPathname(sqlite3_vfs* vfs, const char* name, int n, char* out) {
  return Under(vfs)->xFullPathname(Under(vfs), name, n, out);
}
void* VfsDlOpen(sqlite3_vfs* vfs, const char* name) {
  return Under(vfs)->xDlOpen(Under(vfs), name);
}
void VfsDlError(sqlite3_vfs* vfs, int n, char* out) { Under(vfs)->xDlError(Under(vfs), n, out); }
void (*VfsDlSym(sqlite3_vfs* vfs, void* handle, const char* symbol))(void) {
  return Under(vfs)->xDlSym(Under(vfs), handle, symbol);
}
void VfsDlClose(sqlite3_vfs* vfs, void* handle) { Under(vfs)->xDlClose(Under(vfs), handle); }
int VfsRandomness(sqlite3_vfs* vfs, int n, char* out) {
  return Under(vfs)->xRandomness(Under(vfs), n, out);
}
int VfsSleep(sqlite3_vfs* vfs, int micros) { return Under(vfs)->xSleep(Under(vfs), micros); }
int VfsCurrentTime(sqlite3_vfs* vfs, double* out) {
  return Under(vfs)->xCurrentTime(Under(vfs), out);
}
int VfsGetLastError(sqlite3_vfs* vfs, int n, char* out) {
  return Under(vfs)->xGetLastError(Under(vfs), n, out);
}
int VfsCurrentTimeInt64(sqlite3_vfs* vfs, sqlite3_int64* out) {
  return Under(vfs)->xCurrentTimeInt64(Under(vfs), out);
}

std::unique_ptr<BufferingVfs> MakeVfs(sqlite3_vfs* under, int serial) {
  auto made = std::make_unique<BufferingVfs>();
  made->under = under;
  made->under_name = under->zName != nullptr ? under->zName : "";
  made->name = fmt::format("handoff-wal-buffer-{}", serial);
  sqlite3_vfs& vfs = made->vfs;
  vfs = sqlite3_vfs{};
  // Version 2 at most: the system-call overrides (version 3) exist for SQLite's own tests.
  vfs.iVersion = under->iVersion >= 2 && under->xCurrentTimeInt64 != nullptr ? 2 : 1;
  vfs.szOsFile = static_cast<int>(kUnderOffset) + under->szOsFile;
  vfs.mxPathname = under->mxPathname;
  vfs.zName = made->name.c_str();
  vfs.xOpen = VfsOpen;
  vfs.xDelete = VfsDelete;
  vfs.xAccess = VfsAccess;
  vfs.xFullPathname = VfsFullPathname;
  vfs.xDlOpen = VfsDlOpen;
  vfs.xDlError = VfsDlError;
  vfs.xDlSym = VfsDlSym;
  vfs.xDlClose = VfsDlClose;
  vfs.xRandomness = VfsRandomness;
  vfs.xSleep = VfsSleep;
  vfs.xCurrentTime = VfsCurrentTime;
  vfs.xGetLastError = VfsGetLastError;
  if (vfs.iVersion >= 2) vfs.xCurrentTimeInt64 = VfsCurrentTimeInt64;
  return made;
}

}  // namespace

const char* WalWriteBufferVfsName() {
  static std::mutex mu;
  // Never freed: SQLite keeps pointers to registered VFSes until the process ends.
  static auto* made = new std::vector<std::unique_ptr<BufferingVfs>>();
  sqlite3_vfs* under = sqlite3_vfs_find(nullptr);
  if (under == nullptr) return nullptr;
  std::lock_guard<std::mutex> lock(mu);
  for (const auto& vfs : *made) {
    // A test's VFS may be destroyed and another made at the same address: match its shape too.
    if (vfs->under == under &&
        vfs->vfs.szOsFile == static_cast<int>(kUnderOffset) + under->szOsFile &&
        vfs->under_name == (under->zName != nullptr ? under->zName : "")) {
      return vfs->vfs.zName;
    }
  }
  made->push_back(MakeVfs(under, static_cast<int>(made->size())));
  sqlite3_vfs_register(&made->back()->vfs, /*makeDflt=*/0);
  return made->back()->vfs.zName;
}

}  // namespace handoff
