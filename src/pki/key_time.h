/*
 * key_time.h - when a key pair was made, as `show crypto key mypubkey rsa` prints it ("% Key pair
 * was generated at: TIME"): a one-line record "KEYFILE.made" beside the key file.
 *
 * Neither an encrypted PKCS#8 file nor a certificate says when its key was made, and the key
 * file's own time changes when a backup is restored, so the making time is written once, when the
 * key is made, in the clock of whoever made it (simulated or not). Without a record the key file's
 * modification time is offered instead, said to be that (PKI_KEY_TIME_FILE), never passed off as
 * the making time.
 *
 * Purity and threads: file I/O in the directory given; any thread (one writer per key file).
 */
#ifndef EVERCERT_PKI_KEY_TIME_H
#define EVERCERT_PKI_KEY_TIME_H

#include "clock/clock.h"
#include "util/err.h"
#include "util/fsutil.h"

/* Records that the key in dir/key_file was made at made (atomic write, 0600). */
int pki_key_time_record_at(const ec_dir *dir, const char *key_file, ec_time made, ec_err *err) EC_MUST_USE;

/* When the key in dir/key_file was made: PKI_KEY_TIME_RECORDED (cert_show.h) with the record's
 * time, PKI_KEY_TIME_FILE with the key file's modification time, or PKI_KEY_TIME_NONE. */
int pki_key_time_at(const ec_dir *dir, const char *key_file, ec_time *out);

/* Removes the record with its key (a key made again in the same file records its own time). */
void pki_key_time_forget_at(const ec_dir *dir, const char *key_file);

#endif
