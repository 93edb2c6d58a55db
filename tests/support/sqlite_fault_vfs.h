// A SQLite VFS for tests that wraps the default one, the way a failing disk would sit under
// SQLite: it counts syncs and the writes to write-ahead log files, and can make either fail
// (EIO on fsync, or on write). Registered as the default VFS while it lives, so the store's
// connections (which open through a log-buffering VFS over the default) reach it.
#pragma once

#include <sqlite3.h>

#include <atomic>

namespace handoff {

class FaultVfs {
 public:
  FaultVfs() {
    real_ = sqlite3_vfs_find(nullptr);
    vfs_ = *real_;
    vfs_.szOsFile = static_cast<int>(sizeof(File)) + real_->szOsFile;
    vfs_.zName = "handoff-fault";
    vfs_.pAppData = this;
    vfs_.pNext = nullptr;
    vfs_.xOpen = &FaultVfs::Open;
    vfs_.xDelete = [](sqlite3_vfs* v, const char* name, int sync) {
      sqlite3_vfs* r = Self(v)->real_;
      return r->xDelete(r, name, sync);
    };
    vfs_.xAccess = [](sqlite3_vfs* v, const char* name, int flags, int* out) {
      sqlite3_vfs* r = Self(v)->real_;
      return r->xAccess(r, name, flags, out);
    };
    vfs_.xFullPathname = [](sqlite3_vfs* v, const char* name, int n, char* out) {
      sqlite3_vfs* r = Self(v)->real_;
      return r->xFullPathname(r, name, n, out);
    };
    sqlite3_vfs_register(&vfs_, /*makeDflt=*/1);
  }
  // The VFS it wrapped becomes the default again. (Unregistering a default VFS makes the next
  // one in SQLite's list the default, which may be a VFS registered over this one.)
  ~FaultVfs() {
    sqlite3_vfs_unregister(&vfs_);
    sqlite3_vfs_register(real_, /*makeDflt=*/1);
  }
  FaultVfs(const FaultVfs&) = delete;
  FaultVfs& operator=(const FaultVfs&) = delete;

  int syncs() const { return syncs_.load(); }
  void FailSyncs(bool fail) { fail_syncs_.store(fail); }
  // Writes that reached this VFS for write-ahead log files, and the bytes they carried.
  int log_writes() const { return log_writes_.load(); }
  long long log_bytes() const { return log_bytes_.load(); }
  // Of those, the writes of a lone 24-byte frame header.
  int log_frame_header_writes() const { return log_frame_header_writes_.load(); }
  void FailLogWrites(bool fail) { fail_log_writes_.store(fail); }

 private:
  struct File {
    sqlite3_file base;
    FaultVfs* owner;
    sqlite3_file* real;
    bool log;
  };

  static FaultVfs* Self(sqlite3_vfs* v) { return static_cast<FaultVfs*>(v->pAppData); }
  static sqlite3_file* Real(sqlite3_file* f) { return reinterpret_cast<File*>(f)->real; }

  static int Open(sqlite3_vfs* v, const char* name, sqlite3_file* file, int flags, int* out) {
    File* f = reinterpret_cast<File*>(file);
    f->owner = Self(v);
    f->real = reinterpret_cast<sqlite3_file*>(f + 1);
    f->real->pMethods = nullptr;
    f->log = (flags & SQLITE_OPEN_WAL) != 0;
    int rc = f->owner->real_->xOpen(f->owner->real_, name, f->real, flags, out);
    f->base.pMethods = f->real->pMethods != nullptr ? &kIo : nullptr;
    return rc;
  }

  static int Sync(sqlite3_file* file, int flags) {
    File* f = reinterpret_cast<File*>(file);
    f->owner->syncs_.fetch_add(1);
    if (f->owner->fail_syncs_.load()) return SQLITE_IOERR_FSYNC;
    return f->real->pMethods->xSync(f->real, flags);
  }

  static int Write(sqlite3_file* file, const void* buf, int n, sqlite3_int64 off) {
    File* f = reinterpret_cast<File*>(file);
    if (f->log) {
      if (f->owner->fail_log_writes_.load()) return SQLITE_IOERR_WRITE;
      f->owner->log_writes_.fetch_add(1);
      f->owner->log_bytes_.fetch_add(n);
      if (n == 24) f->owner->log_frame_header_writes_.fetch_add(1);
    }
    return f->real->pMethods->xWrite(f->real, buf, n, off);
  }

  static constexpr sqlite3_io_methods kIo = {
      3,
      [](sqlite3_file* f) { return Real(f)->pMethods->xClose(Real(f)); },
      [](sqlite3_file* f, void* buf, int n, sqlite3_int64 off) {
        return Real(f)->pMethods->xRead(Real(f), buf, n, off);
      },
      &FaultVfs::Write,
      [](sqlite3_file* f, sqlite3_int64 size) {
        return Real(f)->pMethods->xTruncate(Real(f), size);
      },
      &FaultVfs::Sync,
      [](sqlite3_file* f, sqlite3_int64* size) {
        return Real(f)->pMethods->xFileSize(Real(f), size);
      },
      [](sqlite3_file* f, int lock) { return Real(f)->pMethods->xLock(Real(f), lock); },
      [](sqlite3_file* f, int lock) { return Real(f)->pMethods->xUnlock(Real(f), lock); },
      [](sqlite3_file* f, int* out) { return Real(f)->pMethods->xCheckReservedLock(Real(f), out); },
      [](sqlite3_file* f, int op, void* arg) {
        return Real(f)->pMethods->xFileControl(Real(f), op, arg);
      },
      [](sqlite3_file* f) { return Real(f)->pMethods->xSectorSize(Real(f)); },
      [](sqlite3_file* f) { return Real(f)->pMethods->xDeviceCharacteristics(Real(f)); },
      [](sqlite3_file* f, int region, int size, int extend, void volatile** out) {
        return Real(f)->pMethods->xShmMap(Real(f), region, size, extend, out);
      },
      [](sqlite3_file* f, int offset, int n, int flags) {
        return Real(f)->pMethods->xShmLock(Real(f), offset, n, flags);
      },
      [](sqlite3_file* f) { Real(f)->pMethods->xShmBarrier(Real(f)); },
      [](sqlite3_file* f, int del) { return Real(f)->pMethods->xShmUnmap(Real(f), del); },
      [](sqlite3_file* f, sqlite3_int64 off, int n, void** out) {
        return Real(f)->pMethods->xFetch(Real(f), off, n, out);
      },
      [](sqlite3_file* f, sqlite3_int64 off, void* p) {
        return Real(f)->pMethods->xUnfetch(Real(f), off, p);
      },
  };

  sqlite3_vfs* real_ = nullptr;
  sqlite3_vfs vfs_{};
  std::atomic<int> syncs_{0};
  std::atomic<bool> fail_syncs_{false};
  std::atomic<int> log_writes_{0};
  std::atomic<long long> log_bytes_{0};
  std::atomic<int> log_frame_header_writes_{0};
  std::atomic<bool> fail_log_writes_{false};
};

}  // namespace handoff
