/* When a key pair was made (key_time.h). */
#include "pki/key_time.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "pki/cert_show.h"

/* Room for one ISO 8601 line. */
#define KEY_TIME_RECORD_MAX 64

static int record_name(const char *key_file, char out[EC_PATH_MAX])
{
	int n = snprintf(out, EC_PATH_MAX, "%s.made", key_file);
	return n < 0 || n >= EC_PATH_MAX ? -1 : 0;
}

int pki_key_time_record_at(const ec_dir *dir, const char *key_file, ec_time made, ec_err *err)
{
	char name[EC_PATH_MAX], iso[EC_TIME_TEXT_MAX], line[EC_TIME_TEXT_MAX + 1];
	if (record_name(key_file, name) != 0)
		return ec_err_set(err, "key file name too long");
	ec_time_format_iso(made, iso);
	int n = snprintf(line, sizeof(line), "%s\n", iso);
	return ec_write_atomic_at(dir, name, line, (size_t)n, 0600, err);
}

static int recorded(const ec_dir *dir, const char *key_file, ec_time *out)
{
	char name[EC_PATH_MAX];
	uint8_t *data = NULL;
	size_t len = 0;
	ec_err err;
	if (record_name(key_file, name) != 0 || !ec_file_exists_at(dir, name) ||
	    ec_read_file_at(dir, name, KEY_TIME_RECORD_MAX, &data, &len, &err) != 0)
		return -1;
	char text[KEY_TIME_RECORD_MAX + 1];
	len = len < KEY_TIME_RECORD_MAX ? len : KEY_TIME_RECORD_MAX;
	memcpy(text, data, len);
	text[len] = '\0';
	free(data);
	text[strcspn(text, "\r\n")] = '\0';
	return ec_time_parse_iso(text, out) == 0 ? 0 : -1;
}

int pki_key_time_at(const ec_dir *dir, const char *key_file, ec_time *out)
{
	if (recorded(dir, key_file, out) == 0)
		return PKI_KEY_TIME_RECORDED;
	struct stat st;
	if (fstatat(dir->fd, key_file, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode))
		return PKI_KEY_TIME_NONE;
	*out = (ec_time)st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000;
	return PKI_KEY_TIME_FILE;
}

void pki_key_time_forget_at(const ec_dir *dir, const char *key_file)
{
	char name[EC_PATH_MAX];
	if (record_name(key_file, name) == 0)
		ec_unlink_at(dir, name);
}
