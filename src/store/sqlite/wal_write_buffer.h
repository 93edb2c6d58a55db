// Gathers the writes SQLite makes to a write-ahead log file into a few large ones per commit.
// SQLite writes each log frame as two pwrites, its 24-byte header and then the page, so a
// commit of n pages costs 2n system calls, each taking the file's locks and updating its times
// in the kernel. This VFS passes every file to the VFS under it unchanged, except the -wal
// files, whose appended frames it keeps in memory and writes when the transaction's commit frame
// is complete, in pieces of up to 128 KiB (the most SQLite's unix VFS writes in one call).
//
// Why that is safe: SQLite publishes a commit (the wal-index header that readers and the
// checkpointer read, on their own file handles) only after the commit frame has been written,
// and the frames reach the OS by then, as with the VFS under it. Anything that could observe
// the file, or depends on the order of writes, first writes out what is gathered: a read, a
// sync, a truncate, a size query, a file control, a close, and any write that does not append
// to what is gathered (SQLite rewriting a frame it already wrote in the same transaction,
// rewriting frame checksums before the commit, or starting the log again at its header). A
// commit frame's header is written through at once unless it is appended to a gathered
// transaction, because SQLite rewrites it on its own when it recomputes checksums. So a crash
// of the process loses nothing committed, and a crash of the machine loses exactly what it
// would have without this VFS: the sync is where durability comes from, and it is unchanged.
#pragma once

namespace handoff {

// The name of the VFS that gathers log writes over the process's current default VFS,
// registered (not as the default) the first time each default is seen. Connections open the
// database through it; a test that registers a fault-injecting default VFS gets a buffering VFS
// over its own.
const char* WalWriteBufferVfsName();

}  // namespace handoff
