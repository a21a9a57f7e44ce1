/*
 * store_sqlite_vfs.c - the SQLite backend's counting VFS: the platform's own VFS ("unix") with
 * every file call passed through unchanged, except that each sync (fsync or fdatasync on the
 * database, its WAL or a journal) and each write to a WAL file is counted in the counters of the
 * store whose connection opened the file. What the store reports as its fdatasync count is what
 * reached the kernel, whoever asked for it (a commit, a checkpoint, the WAL's restart).
 *
 * Which store a file belongs to: the thread that opens it is inside that store's open or its
 * lock (sq_vfs_attribute), and SQLite opens files only in the thread of the call that needs them.
 */
#include "store/store_sqlite_internal.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <string.h>

#define SQ_VFS_NAME "evercert-counting"
#define WAL_FRAME_HEADER 24       /* SQLite writes each WAL frame as its header, then its page */

typedef struct counted_file {
	sqlite3_file base;            /* its methods: counted_io */
	sq_counters *counters;        /* NULL: a file no store claimed */
	bool wal;
	sqlite3_file *real;           /* the platform VFS's file, in the same allocation */
} counted_file;

static sqlite3_vfs *real_vfs;
static sqlite3_vfs counting_vfs;
static pthread_once_t vfs_once = PTHREAD_ONCE_INIT;
static int vfs_rc = SQLITE_ERROR;
static _Thread_local sq_counters *attributed;

void sq_vfs_attribute(sq_counters *c)
{
	attributed = c;
}

static sqlite3_file *real_of(sqlite3_file *f)
{
	return ((counted_file *)f)->real;
}

static int c_close(sqlite3_file *f)
{
	return real_of(f)->pMethods->xClose(real_of(f));
}

static int c_read(sqlite3_file *f, void *buf, int amt, sqlite3_int64 off)
{
	return real_of(f)->pMethods->xRead(real_of(f), buf, amt, off);
}

static int c_write(sqlite3_file *f, const void *buf, int amt, sqlite3_int64 off)
{
	counted_file *cf = (counted_file *)f;
	int rc = cf->real->pMethods->xWrite(cf->real, buf, amt, off);
	if (rc == SQLITE_OK && cf->wal && cf->counters != NULL) {
		atomic_fetch_add(&cf->counters->wal_bytes, (uint64_t)amt);
		if (amt == WAL_FRAME_HEADER)
			atomic_fetch_add(&cf->counters->wal_frames, 1);
	}
	return rc;
}

static int c_truncate(sqlite3_file *f, sqlite3_int64 size)
{
	return real_of(f)->pMethods->xTruncate(real_of(f), size);
}

static int c_sync(sqlite3_file *f, int flags)
{
	counted_file *cf = (counted_file *)f;
	if (cf->counters != NULL)
		atomic_fetch_add(&cf->counters->fdatasyncs, 1);
	return cf->real->pMethods->xSync(cf->real, flags);
}

static int c_file_size(sqlite3_file *f, sqlite3_int64 *size)
{
	return real_of(f)->pMethods->xFileSize(real_of(f), size);
}

static int c_lock(sqlite3_file *f, int level)
{
	return real_of(f)->pMethods->xLock(real_of(f), level);
}

static int c_unlock(sqlite3_file *f, int level)
{
	return real_of(f)->pMethods->xUnlock(real_of(f), level);
}

static int c_reserved(sqlite3_file *f, int *out)
{
	return real_of(f)->pMethods->xCheckReservedLock(real_of(f), out);
}

static int c_file_control(sqlite3_file *f, int op, void *arg)
{
	return real_of(f)->pMethods->xFileControl(real_of(f), op, arg);
}

static int c_sector_size(sqlite3_file *f)
{
	return real_of(f)->pMethods->xSectorSize(real_of(f));
}

static int c_device(sqlite3_file *f)
{
	return real_of(f)->pMethods->xDeviceCharacteristics(real_of(f));
}

static int c_shm_map(sqlite3_file *f, int region, int size, int extend, void volatile **out)
{
	return real_of(f)->pMethods->xShmMap(real_of(f), region, size, extend, out);
}

static int c_shm_lock(sqlite3_file *f, int offset, int n, int flags)
{
	return real_of(f)->pMethods->xShmLock(real_of(f), offset, n, flags);
}

static void c_shm_barrier(sqlite3_file *f)
{
	real_of(f)->pMethods->xShmBarrier(real_of(f));
}

static int c_shm_unmap(sqlite3_file *f, int delete_flag)
{
	return real_of(f)->pMethods->xShmUnmap(real_of(f), delete_flag);
}

static int c_fetch(sqlite3_file *f, sqlite3_int64 off, int amt, void **out)
{
	return real_of(f)->pMethods->xFetch(real_of(f), off, amt, out);
}

static int c_unfetch(sqlite3_file *f, sqlite3_int64 off, void *p)
{
	return real_of(f)->pMethods->xUnfetch(real_of(f), off, p);
}

static const sqlite3_io_methods counted_io = {
	3, c_close, c_read, c_write, c_truncate, c_sync, c_file_size, c_lock, c_unlock, c_reserved,
	c_file_control, c_sector_size, c_device, c_shm_map, c_shm_lock, c_shm_barrier, c_shm_unmap,
	c_fetch, c_unfetch,
};

/* The real file lives right after ours, aligned as SQLite aligns its own. */
#define REAL_OFFSET ((sizeof(counted_file) + 7) & ~(size_t)7)

static int c_open(sqlite3_vfs *vfs, sqlite3_filename name, sqlite3_file *f, int flags, int *out_flags)
{
	(void)vfs;
	counted_file *cf = (counted_file *)f;
	memset(cf, 0, sizeof(*cf));
	cf->real = (sqlite3_file *)((char *)f + REAL_OFFSET);
	cf->counters = attributed;
	cf->wal = (flags & SQLITE_OPEN_WAL) != 0;
	int rc = real_vfs->xOpen(real_vfs, name, cf->real, flags, out_flags);
	/* SQLite closes a file whose methods are set, even after a failed open: mirror the real one. */
	cf->base.pMethods = cf->real->pMethods != NULL ? &counted_io : NULL;
	return rc;
}

static void vfs_register(void)
{
	real_vfs = sqlite3_vfs_find(NULL);
	if (real_vfs == NULL || real_vfs->iVersion < 1)
		return;
	/* Everything but opening is the platform's own, called with our VFS (it reads only the
	 * fields copied here). */
	counting_vfs = *real_vfs;
	counting_vfs.szOsFile = (int)(REAL_OFFSET + (size_t)real_vfs->szOsFile);
	counting_vfs.zName = SQ_VFS_NAME;
	counting_vfs.pNext = NULL;
	counting_vfs.xOpen = c_open;
	vfs_rc = sqlite3_vfs_register(&counting_vfs, 0);
}

const char *sq_vfs_name(void)
{
	pthread_once(&vfs_once, vfs_register);
	return vfs_rc == SQLITE_OK ? SQ_VFS_NAME : NULL;
}
