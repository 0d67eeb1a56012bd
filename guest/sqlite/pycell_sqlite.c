/* SQLite's setup in the guest: the default VFS and the default journal mode.
 * Compiled into libsqlite3.a next to the amalgamation; SQLite calls
 * pycell_sqlite_init at the end of sqlite3_initialize (SQLITE_EXTRA_INIT).
 *
 * Locking. WASI has no file locks, and SQLite's WASI default ("unix-dotfile")
 * takes a lock by creating a directory next to the database: that fails on a
 * read-only mount and, on a read-write mount, survives a trap as a stale lock
 * that keeps the database locked on the host for good. The guest is a single
 * thread and the only process that can see its /tmp, so the locks that matter
 * are those between its own connections: this VFS is SQLite's "unix-none" plus
 * a lock table in guest memory, keyed by the database's full path, that
 * implements SQLite's shared/reserved/pending/exclusive protocol exactly.
 *
 * Journal mode. A read-write mount publishes a file when its fd is closed
 * (docs/filesystem.md). In DELETE mode SQLite closes the journal at the end of
 * every transaction and then deletes it: a trap between the two would publish
 * a journal holding pages of a state the host's database file never had, and
 * the next opener would roll it back into the file. In TRUNCATE mode the
 * journal is emptied before it is closed, so only an empty journal is ever
 * published (or, after a failed rollback, a hot journal together with the
 * database it belongs to). File databases therefore start in TRUNCATE mode, and
 * the last connection of this guest to a database removes its empty journal
 * when it closes, so none is left beside the database.
 *
 * A database created on a read-write mount does not exist by name until its
 * connection closes (it is published then). SQLite stats the database by name
 * to give its journal the same permissions, so stat() of a database this VFS
 * has open answers for it meanwhile.
 *
 * WASI has no permission bits, so SQLite's WASI build has no fchmod, yet it
 * calls one when a file it creates lacks the bits it asked for (every temporary
 * file: temp tables, sorts, VACUUM), through a null pointer: a trap. Here
 * fchmod succeeds and does nothing, which is all a file without permission
 * bits can have done to it. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sqlite3.h"

typedef struct Lock Lock;
struct Lock {
  char *path;
  int refs;     /* open database files with this path */
  int readers;  /* files holding at least SHARED */
  struct File *writer; /* the file holding RESERVED, PENDING or EXCLUSIVE */
  Lock *next;
};

typedef struct File {
  sqlite3_file base;
  Lock *lock;        /* main databases only */
  int level;         /* SQLITE_LOCK_* this file holds */
  sqlite3_file *real; /* the "unix-none" file, allocated right after this struct */
} File;

static sqlite3_vfs *g_real;
static Lock *g_locks;
static int (*g_real_stat)(const char *, struct stat *);

static Lock *lock_acquire(const char *path) {
  for (Lock *l = g_locks; l; l = l->next) {
    if (strcmp(l->path, path) == 0) {
      l->refs++;
      return l;
    }
  }
  Lock *l = sqlite3_malloc(sizeof *l);
  char *copy = sqlite3_mprintf("%s", path);
  if (!l || !copy) {
    sqlite3_free(l);
    sqlite3_free(copy);
    return NULL;
  }
  *l = (Lock){.path = copy, .refs = 1, .next = g_locks};
  g_locks = l;
  return l;
}

static void lock_release(Lock *lock) {
  if (--lock->refs > 0) return;
  for (Lock **p = &g_locks; *p; p = &(*p)->next) {
    if (*p == lock) {
      *p = lock->next;
      break;
    }
  }
  sqlite3_free(lock->path);
  sqlite3_free(lock);
}

/* SQLite's "stat" system call: as the real one, except that a database open
 * here that is not on a mount's host directory yet is a plain file (with no
 * permission bits, as WASI reports every file). */
static int db_stat(const char *path, struct stat *st) {
  int rc = g_real_stat(path, st);
  if (rc != 0 && errno == ENOENT) {
    for (Lock *l = g_locks; l; l = l->next) {
      if (strcmp(l->path, path) == 0) {
        memset(st, 0, sizeof *st);
        st->st_mode = S_IFREG;
        st->st_nlink = 1;
        return 0;
      }
    }
  }
  return rc;
}

static int no_fchmod(int fd, mode_t mode) {
  (void)fd;
  (void)mode;
  return 0;
}

/* --- locking: the rules of os_unix.c's unixLock, within one process -------- */

static int x_lock(sqlite3_file *f, int level) {
  File *p = (File *)f;
  Lock *l = p->lock;
  if (!l || p->level >= level) {
    if (!l && p->level < level) p->level = level;
    return SQLITE_OK;
  }
  if (level == SQLITE_LOCK_SHARED) {
    /* A writer on its way to EXCLUSIVE keeps new readers out. */
    if (l->writer && l->writer->level >= SQLITE_LOCK_PENDING) return SQLITE_BUSY;
    l->readers++;
    p->level = SQLITE_LOCK_SHARED;
    return SQLITE_OK;
  }
  /* RESERVED or EXCLUSIVE: one writer at a time. */
  if (l->writer && l->writer != p) return SQLITE_BUSY;
  l->writer = p;
  if (level == SQLITE_LOCK_RESERVED) {
    p->level = SQLITE_LOCK_RESERVED;
    return SQLITE_OK;
  }
  /* EXCLUSIVE waits, holding PENDING, until the other readers are gone. */
  if (l->readers > 1) {
    p->level = SQLITE_LOCK_PENDING;
    return SQLITE_BUSY;
  }
  p->level = SQLITE_LOCK_EXCLUSIVE;
  return SQLITE_OK;
}

static int x_unlock(sqlite3_file *f, int level) {
  File *p = (File *)f;
  Lock *l = p->lock;
  if (p->level <= level) return SQLITE_OK;
  if (l) {
    if (l->writer == p) l->writer = NULL;
    if (level == SQLITE_LOCK_NONE) l->readers--;
  }
  p->level = level;
  return SQLITE_OK;
}

static int x_check_reserved(sqlite3_file *f, int *out) {
  File *p = (File *)f;
  *out = p->lock && p->lock->writer != NULL;
  return SQLITE_OK;
}

/* --- everything else is the real file's ------------------------------------ */

/* After the database itself is closed (on a mount: published), so that a trap
 * in between leaves at most an empty journal, which is never hot. */
static void remove_empty_journal(const char *db) {
  char *journal = sqlite3_mprintf("%s-journal", db);
  struct stat st;
  if (journal && stat(journal, &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 0) unlink(journal);
  sqlite3_free(journal);
}

static int x_close(sqlite3_file *f) {
  File *p = (File *)f;
  Lock *l = p->lock;
  if (l) x_unlock(f, SQLITE_LOCK_NONE);
  int rc = p->real->pMethods->xClose(p->real);
  if (l) {
    if (l->refs == 1 && rc == SQLITE_OK) remove_empty_journal(l->path);
    lock_release(l);
    p->lock = NULL;
  }
  return rc;
}
static int x_read(sqlite3_file *f, void *buf, int n, sqlite3_int64 off) {
  sqlite3_file *r = ((File *)f)->real;
  return r->pMethods->xRead(r, buf, n, off);
}
static int x_write(sqlite3_file *f, const void *buf, int n, sqlite3_int64 off) {
  sqlite3_file *r = ((File *)f)->real;
  return r->pMethods->xWrite(r, buf, n, off);
}
static int x_truncate(sqlite3_file *f, sqlite3_int64 size) {
  sqlite3_file *r = ((File *)f)->real;
  return r->pMethods->xTruncate(r, size);
}
static int x_sync(sqlite3_file *f, int flags) {
  sqlite3_file *r = ((File *)f)->real;
  return r->pMethods->xSync(r, flags);
}
static int x_file_size(sqlite3_file *f, sqlite3_int64 *size) {
  sqlite3_file *r = ((File *)f)->real;
  return r->pMethods->xFileSize(r, size);
}
static int x_file_control(sqlite3_file *f, int op, void *arg) {
  sqlite3_file *r = ((File *)f)->real;
  return r->pMethods->xFileControl(r, op, arg);
}
static int x_sector_size(sqlite3_file *f) {
  sqlite3_file *r = ((File *)f)->real;
  return r->pMethods->xSectorSize(r);
}
static int x_device_characteristics(sqlite3_file *f) {
  sqlite3_file *r = ((File *)f)->real;
  return r->pMethods->xDeviceCharacteristics(r);
}

/* Version 1: no shared memory (no WAL) and no memory mapping. */
static const sqlite3_io_methods g_methods = {
    .iVersion = 1,
    .xClose = x_close,
    .xRead = x_read,
    .xWrite = x_write,
    .xTruncate = x_truncate,
    .xSync = x_sync,
    .xFileSize = x_file_size,
    .xLock = x_lock,
    .xUnlock = x_unlock,
    .xCheckReservedLock = x_check_reserved,
    .xFileControl = x_file_control,
    .xSectorSize = x_sector_size,
    .xDeviceCharacteristics = x_device_characteristics,
};

static int v_open(sqlite3_vfs *vfs, sqlite3_filename name, sqlite3_file *f, int flags, int *out_flags) {
  (void)vfs;
  File *p = (File *)f;
  memset(p, 0, sizeof *p);
  p->real = (sqlite3_file *)(p + 1);
  if (name && (flags & SQLITE_OPEN_MAIN_DB)) {
    p->lock = lock_acquire(name);
    if (!p->lock) return SQLITE_NOMEM;
  }
  int rc = g_real->xOpen(g_real, name, p->real, flags, out_flags);
  if (rc != SQLITE_OK || !p->real->pMethods) {
    if (p->lock) lock_release(p->lock);
    p->lock = NULL;
    return rc;
  }
  p->base.pMethods = &g_methods;
  return SQLITE_OK;
}
static int v_delete(sqlite3_vfs *vfs, const char *name, int sync_dir) {
  (void)vfs;
  return g_real->xDelete(g_real, name, sync_dir);
}
static int v_access(sqlite3_vfs *vfs, const char *name, int flags, int *out) {
  (void)vfs;
  return g_real->xAccess(g_real, name, flags, out);
}
static int v_full_pathname(sqlite3_vfs *vfs, const char *name, int n, char *out) {
  (void)vfs;
  return g_real->xFullPathname(g_real, name, n, out);
}
/* WASI's random_get (the host's, or the deterministic stream in deterministic
 * mode) rather than /dev/urandom, which the guest does not have. */
static int v_randomness(sqlite3_vfs *vfs, int n, char *out) {
  (void)vfs;
  arc4random_buf(out, (size_t)n);
  return n;
}
static int v_sleep(sqlite3_vfs *vfs, int us) {
  (void)vfs;
  return g_real->xSleep(g_real, us);
}
static int v_current_time(sqlite3_vfs *vfs, double *out) {
  (void)vfs;
  return g_real->xCurrentTime(g_real, out);
}
static int v_last_error(sqlite3_vfs *vfs, int n, char *out) {
  (void)vfs;
  return g_real->xGetLastError(g_real, n, out);
}
static int v_current_time64(sqlite3_vfs *vfs, sqlite3_int64 *out) {
  (void)vfs;
  return g_real->xCurrentTimeInt64(g_real, out);
}

static sqlite3_vfs g_vfs = {
    .iVersion = 2,
    .zName = "pycell",
    .xOpen = v_open,
    .xDelete = v_delete,
    .xAccess = v_access,
    .xFullPathname = v_full_pathname,
    .xRandomness = v_randomness,
    .xSleep = v_sleep,
    .xCurrentTime = v_current_time,
    .xGetLastError = v_last_error,
    .xCurrentTimeInt64 = v_current_time64,
};

/* Auto-extension: every new connection of a file database starts in TRUNCATE
 * journal mode (see the top of this file). An error here (say, the file is not
 * a database) is left for the connection's first statement to report. */
static int truncate_journal(sqlite3 *db, char **err, const sqlite3_api_routines *api) {
  (void)err;
  (void)api;
  const char *file = sqlite3_db_filename(db, "main");
  if (file && file[0]) sqlite3_exec(db, "PRAGMA main.journal_mode=TRUNCATE", NULL, NULL, NULL);
  return SQLITE_OK;
}

int pycell_sqlite_init(const char *unused) {
  (void)unused;
  g_real = sqlite3_vfs_find("unix-none");
  if (!g_real) return SQLITE_ERROR;
  g_vfs.szOsFile = (int)sizeof(File) + g_real->szOsFile;
  g_vfs.mxPathname = g_real->mxPathname;
  g_real_stat = (int (*)(const char *, struct stat *))g_real->xGetSystemCall(g_real, "stat");
  if (!g_real_stat) return SQLITE_ERROR;
  int rc = g_real->xSetSystemCall(g_real, "stat", (sqlite3_syscall_ptr)db_stat);
  if (rc == SQLITE_OK) rc = g_real->xSetSystemCall(g_real, "fchmod", (sqlite3_syscall_ptr)no_fchmod);
  if (rc == SQLITE_OK) rc = sqlite3_vfs_register(&g_vfs, 1);
  if (rc == SQLITE_OK) rc = sqlite3_auto_extension((void (*)(void))truncate_journal);
  return rc;
}
