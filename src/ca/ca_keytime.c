/* When each CA key pair was made (ca_internal.h): a small record beside the key file, since
 * neither the encrypted PKCS#8 file nor the store's generation row says it, and the file's own
 * time changes when a backup is restored. */
#include "ca/ca_internal.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Room for one ISO 8601 line. */
#define KEY_TIME_RECORD_MAX 64

static int record_name(const ca_engine *ca, int generation, char *out, size_t sz)
{
	return ca_file(ca, out, sz, "%s.%d.key.made", ca->cfg.name, generation);
}

void ca_key_time_record(ca_engine *ca, int generation, ec_time made)
{
	char name[EC_PATH_MAX], iso[EC_TIME_TEXT_MAX], line[EC_TIME_TEXT_MAX + 1];
	ec_err err = {""};
	ec_time_format_iso(made, iso);
	int n = snprintf(line, sizeof(line), "%s\n", iso);
	if (record_name(ca, generation, name, sizeof(name)) != 0 ||
	    ec_write_atomic_at(&ca->dir, name, line, (size_t)n, 0600, &err) != 0)
		ca_audit(ca, "the making time of key generation %d is not recorded: %s", generation,
		         err.msg[0] ? err.msg : "file name too long");
}

void ca_key_time_forget(ca_engine *ca, int generation)
{
	char name[EC_PATH_MAX];
	if (record_name(ca, generation, name, sizeof(name)) == 0)
		ec_unlink_at(&ca->dir, name);
}

static int recorded(const ca_engine *ca, int generation, ec_time *out)
{
	char name[EC_PATH_MAX];
	uint8_t *data = NULL;
	size_t len = 0;
	ec_err err;
	if (record_name(ca, generation, name, sizeof(name)) != 0 || !ec_file_exists_at(&ca->dir, name) ||
	    ec_read_file_at(&ca->dir, name, KEY_TIME_RECORD_MAX, &data, &len, &err) != 0)
		return -1;
	char text[KEY_TIME_RECORD_MAX + 1];
	len = len < KEY_TIME_RECORD_MAX ? len : KEY_TIME_RECORD_MAX;
	memcpy(text, data, len);
	text[len] = '\0';
	free(data);
	text[strcspn(text, "\r\n")] = '\0';
	return ec_time_parse_iso(text, out) == 0 ? 0 : -1;
}

int ca_key_time(const ca_engine *ca, int generation, ec_time *out)
{
	if (recorded(ca, generation, out) == 0)
		return 1;
	char key_name[EC_PATH_MAX];
	struct stat st;
	if (ca_gen_files(ca, generation, key_name, NULL, sizeof(key_name)) != 0 ||
	    fstatat(ca->dir.fd, key_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode))
		return -1;
	*out = (ec_time)st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000;
	return 0;
}
