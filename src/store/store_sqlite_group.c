/*
 * store_sqlite_group.c - the SQLite backend's group commit of grants (record_granted).
 *
 * Each grant is queued; one thread at a time leads: it takes everything queued, inserts it in one
 * transaction, commits it without a sync under the connection's lock, releases the lock and only
 * then makes the WAL durable with one fdatasync of its own. Grants that arrive meanwhile queue for
 * the next leader, who starts once this sync is done: one sync per group, never per grant, and
 * other calls (the reads of the requests being signed) go on while the disk works. A grant's
 * caller returns only after the sync that covers its commit, so no reply leaves before its
 * certificate is durable.
 *
 * Before it starts, a leader waits a little (on the machine's monotonic clock, at most as below)
 * for the requests that were under way when it started: those the CA announced as likely
 * grants (store_grant_expect_begin, from the moment their message arrives to the moment they
 * queue their own grant) and the certificates being signed (serials handed out by reserve_serial,
 * not recorded yet). Like PostgreSQL's commit_delay, it lingers only while others are known to be
 * about to commit; unlike it, it waits for those and not for a fixed time, and not for requests
 * that begin during the wait (they count toward the next group, else every wait would last until
 * the deadline under a steady load). That is what makes the groups as large as the number of
 * requests under way rather than the number that happened to arrive during the previous sync; a
 * serial handed out and never recorded (an issuance that failed) stops being waited for once it is
 * far older than a signature takes. The wait costs no CPU: the other requests' RSA goes on
 * meanwhile.
 *
 * How long the leader may wait follows how long requests take here: one and a half times the
 * measured time from a serial handed out to its grant queued (a request that began just before
 * the leader still has its envelope to open and two signatures to make), never less than
 * SQ_GROUP_WAIT_MS nor more than SQ_GROUP_WAIT_MAX_MS. With an RSA-2048 key on a quiet machine
 * that is the floor; with an RSA-4096 key, whose three private operations take tens of
 * milliseconds on a busy CPU, a fixed 4 ms ended before most of the requests under way were ready
 * and made groups of two. Alone, a request never waits: nothing else is under way.
 *
 * A wait longer than the floor stops once no more requests are under way than the machine has
 * CPUs less one: those keep the cores busy during the group's commit and join the next group.
 * Waiting for the very last of them left cores idle at the end of every group (measured with an
 * RSA-4096 key at 8 connections on 2 cores: 0.17 fdatasync per enrollment but 10% fewer
 * enrollments per second; leaving one out, 0.26 and the rate of the fixed wait within 3%). At
 * the floor every request under way is waited for: its signatures end within it anyway.
 *
 * Without a WAL file of our own to sync (a database in memory, or one we could not open), the
 * commit syncs itself (synchronous=FULL) under the lock, as every other change does.
 */
#include "store/store_sqlite_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define SQ_GROUP_WAIT_MS 4        /* the floor of the wait for the requests under way... */
#define SQ_GROUP_WAIT_MAX_MS 60   /* ...and its ceiling */
#define SQ_SIGNING_STALE_MS 40    /* a serial older than this (or than 4 waits) is not waited for */

/* One certificate and its request waiting to be committed with others. */
typedef struct grant_job {
	store_request *req;
	const char *otp_hash;           /* a one-time password to use up with the grant, or NULL */
	const store_cert *cert;
	const char *serial;
	int64_t num;
	int rc;
	ec_err err;
	bool done;
	struct grant_job *next;
} grant_job;

/* ---- serials being signed ---- */

void sq_signing_add(store_backend *st, const char *serial)
{
	char canon[STORE_SERIAL_MAX];
	int64_t num = 0;
	if (store_serial_canon(serial, STORE_SERIAL_MAX, canon, &num) != 0)
		return;
	pthread_mutex_lock(&st->group_lock);
	if (st->n_signing == SQ_SIGNING_MAX) {  /* the oldest goes: it is the likeliest abandoned */
		memmove(&st->signing[0], &st->signing[1], sizeof(st->signing[0]) * (SQ_SIGNING_MAX - 1));
		st->n_signing--;
	}
	st->signing[st->n_signing++] = (sq_signing){num, ec_elapsed_ms()};
	pthread_mutex_unlock(&st->group_lock);
}

/* Inside group_lock. Returns when num was handed out (ec_elapsed_ms), -1 when it is not listed. */
static int64_t signing_remove(store_backend *st, int64_t num)
{
	for (int i = 0; i < st->n_signing; i++)
		if (st->signing[i].num == num) {
			int64_t since = st->signing[i].since_ms;
			st->signing[i] = st->signing[--st->n_signing];
			return since;
		}
	return -1;
}

void sq_signing_done(store_backend *st, int64_t num)
{
	pthread_mutex_lock(&st->group_lock);
	(void)signing_remove(st, num);
	pthread_mutex_unlock(&st->group_lock);
}

/* How many serials handed out by start are still being signed at now (inside group_lock), none
 * older than stale_ms. Serials handed out later belong to requests that will join the next group. */
static int signing_now(const store_backend *st, ec_time start, ec_time now, int64_t stale_ms)
{
	int n = 0;
	for (int i = 0; i < st->n_signing; i++)
		if (st->signing[i].since_ms <= start && now - st->signing[i].since_ms < stale_ms)
			n++;
	return n;
}

/* A grant is queued (inside group_lock) took_ms after its serial was handed out: that goes into
 * the average the leader's wait follows. */
static void signing_measured(store_backend *st, int64_t took_ms)
{
	int64_t took8 = took_ms * 8;
	st->signing_avg8 = st->signing_avg8 == 0 ? took8 : st->signing_avg8 + (took8 - st->signing_avg8) / 8;
}

/* The leader's longest wait (inside group_lock), in ms. */
static int64_t group_wait_ms(const store_backend *st)
{
	int64_t ms = st->signing_avg8 * 3 / 16;   /* 1.5 x the average, from eighths */
	return ms < SQ_GROUP_WAIT_MS ? SQ_GROUP_WAIT_MS : ms > SQ_GROUP_WAIT_MAX_MS ? SQ_GROUP_WAIT_MAX_MS : ms;
}

/* ---- requests expected to be granted (store_grant_expect_begin) ---- */

unsigned sq_grant_expect_begin(store_backend *st)
{
	pthread_mutex_lock(&st->group_lock);
	unsigned epoch = st->expect_epoch;
	st->expected[epoch & 1]++;
	pthread_mutex_unlock(&st->group_lock);
	return epoch;
}

void sq_grant_expect_end(store_backend *st, unsigned token)
{
	pthread_mutex_lock(&st->group_lock);
	st->expected[token & 1]--;
	pthread_cond_signal(&st->group_arrival);   /* the leader may have nothing left to wait for */
	pthread_mutex_unlock(&st->group_lock);
}

/* The leader's wait (inside group_lock) for the requests that were under way when it started:
 * those expected to be granted and the certificates being signed. Requests beginning meanwhile
 * count toward the next epoch: waiting for them too would only ever end at the deadline. */
static void gather(store_backend *st)
{
	int64_t wait = group_wait_ms(st);
	int64_t stale = wait * 4 > SQ_SIGNING_STALE_MS ? wait * 4 : SQ_SIGNING_STALE_MS;
	/* A long wait leaves the last requests out (see the top); a short one waits for them all. */
	int keep = wait > SQ_GROUP_WAIT_MS ? st->cpus - 1 : 0;
	ec_time start = ec_elapsed_ms(), now = start, deadline = start + wait;
	unsigned epoch = st->expect_epoch++;
	struct timespec until = {deadline / 1000, deadline % 1000 * 1000000}; /* group_arrival's clock */
	while (now < deadline) {
		/* A request is counted from its arrival and, once its serial is handed out, by that too:
		 * the larger count is the requests still under way. */
		int under_way = signing_now(st, start, now, stale);
		if (under_way < st->expected[epoch & 1])
			under_way = st->expected[epoch & 1];
		if (under_way <= keep)
			break;
		if (pthread_cond_timedwait(&st->group_arrival, &st->group_lock, &until) == ETIMEDOUT)
			break;
		now = ec_elapsed_ms();
	}
}

/* ---- the commit ---- */

/* Inserts one job's certificate and request inside the open transaction, under a savepoint so
 * that a failing job leaves the others of its group intact. A one-time password the job names
 * is used up in the same savepoint: it is spent if and only if the certificate is recorded. */
static int grant_job_apply(store_backend *st, grant_job *j)
{
	if (sq_tx(st, ST_JOB_SAVEPOINT, &j->err) != 0)
		return -1;
	int rc = j->otp_hash != NULL ? sq_otp_use_in_tx(st, j->otp_hash, j->req->created, &j->err) : 0;
	if (rc == 0 && (sq_cert_row_insert(st, j->cert, j->serial, j->num, &j->err) != 0 ||
	                sq_request_row_insert(st, j->req, &j->err) != 0))
		rc = -1;
	if (rc != 0)
		(void)sq_tx(st, ST_JOB_ROLLBACK, NULL);
	(void)sq_tx(st, ST_JOB_RELEASE, NULL);
	return rc;
}

/* Makes the WAL durable: everything committed before the call is on disk when it returns 0. The
 * WAL stays the same file while the connection is open; should it have been replaced all the
 * same, the file now at its name is opened and synced. */
static int wal_sync(store_backend *st, ec_err *err)
{
	struct stat sb;
	if (fstat(st->wal_fd, &sb) != 0 || sb.st_nlink == 0) {
		int fd = open(st->wal_path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			return ec_err_set(err, "reopening %s: %s", st->wal_path, strerror(errno));
		int old = st->wal_fd;   /* only the leader, one at a time, reads or changes it */
		st->wal_fd = fd;
		close(old);
	}
	atomic_fetch_add(&st->counters.fdatasyncs, 1);
	if (fdatasync(st->wal_fd) != 0)
		return ec_err_set(err, "syncing %s: %s", st->wal_path, strerror(errno));
	return 0;
}

/* Commits a group of jobs in one transaction and one sync; each job's rc says whether it is
 * durable. The sync is ours, after the lock, when we hold the WAL (see the top). */
static void grant_group_commit(store_backend *st, grant_job *jobs)
{
	ec_err err;
	const bool deferred = st->wal_fd >= 0;
	sq_lock(st);
	int rc = deferred ? sq_tx(st, ST_SYNC_NORMAL, &err) : 0;
	if (rc == 0)
		rc = sq_tx(st, ST_BEGIN, &err);
	for (grant_job *j = jobs; rc == 0 && j != NULL; j = j->next)
		j->rc = grant_job_apply(st, j);
	if (rc == 0)
		rc = sq_tx(st, ST_COMMIT, &err);
	sq_tx_abort(st);
	/* Every other change syncs at its commit: the connection goes back to that at once. */
	ec_err restore;
	if (deferred && sq_tx(st, ST_SYNC_FULL, &restore) != 0 && rc == 0) {
		err = restore;
		rc = -1;
	}
	sq_unlock(st);
	if (rc == 0 && deferred)
		rc = wal_sync(st, &err);
	if (rc == 0)
		return;
	for (grant_job *j = jobs; j != NULL; j = j->next) {
		if (j->rc == 0 || j->err.msg[0] == '\0')
			j->err = err;
		j->rc = -1;
		j->req->id = 0;
	}
}

/* Queues job and returns once a group containing it is committed (led by this thread or not). */
static void group_run(store_backend *st, grant_job *job)
{
	pthread_mutex_lock(&st->group_lock);
	*st->group_tail = job;
	st->group_tail = &job->next;
	int64_t since = signing_remove(st, job->num);
	if (since >= 0)
		signing_measured(st, ec_elapsed_ms() - since);
	pthread_cond_signal(&st->group_arrival);
	while (!job->done) {
		if (st->group_busy) {
			pthread_cond_wait(&st->group_done, &st->group_lock);
			continue;
		}
		/* Lead: wait for the certificates being signed, then commit everything queued. */
		st->group_busy = true;
		gather(st);
		grant_job *group = st->group_head;
		st->group_head = NULL;
		st->group_tail = &st->group_head;
		pthread_mutex_unlock(&st->group_lock);
		grant_group_commit(st, group);
		pthread_mutex_lock(&st->group_lock);
		atomic_fetch_add(&st->counters.grant_groups, 1);
		for (grant_job *j = group, *next; j != NULL; j = next) {
			next = j->next; /* j may be gone as soon as done is seen */
			if (j->rc == 0)
				atomic_fetch_add(&st->counters.grants, 1);
			j->done = true;
		}
		st->group_busy = false;
		pthread_cond_broadcast(&st->group_done);
	}
	pthread_mutex_unlock(&st->group_lock);
}

int sq_record_granted(store_backend *st, store_request *req, const store_cert *cert, const char *otp,
                      ec_err *err)
{
	char serial[STORE_SERIAL_MAX];
	char hash[STORE_OTP_HASH_MAX];
	int64_t num = 0;

	if (store_grant_args(cert, otp, serial, &num, hash, err) != 0)
		return -1;
	grant_job job = {.req = req, .otp_hash = otp != NULL ? hash : NULL, .cert = cert, .serial = serial,
	                 .num = num, .rc = -1};
	ec_err_clear(&job.err);
	group_run(st, &job);
	OPENSSL_cleanse(hash, sizeof(hash));
	if (job.rc == 1) {
		*err = job.err;
		return 1;
	}
	if (job.rc != 0) {
		*err = job.err;
		return ec_err_wrap(err, "recording certificate %s", serial);
	}
	return 0;
}
