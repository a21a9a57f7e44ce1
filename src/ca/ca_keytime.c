/* When each CA key pair was made (ca_internal.h), recorded beside its key file (pki/key_time.h). */
#include "ca/ca_internal.h"

#include "pki/cert_show.h"
#include "pki/key_time.h"

void ca_key_time_record(ca_engine *ca, int generation, ec_time made)
{
	char key_name[EC_PATH_MAX];
	ec_err err = {""};
	if (ca_gen_files(ca, generation, key_name, NULL, sizeof(key_name)) != 0)
		ec_err_set(&err, "file name too long");
	else if (pki_key_time_record_at(&ca->dir, key_name, made, &err) == 0)
		return;
	ca_audit(ca, "the making time of key generation %d is not recorded: %s", generation, err.msg);
}

void ca_key_time_forget(ca_engine *ca, int generation)
{
	char key_name[EC_PATH_MAX];
	if (ca_gen_files(ca, generation, key_name, NULL, sizeof(key_name)) == 0)
		pki_key_time_forget_at(&ca->dir, key_name);
}

int ca_key_time(const ca_engine *ca, int generation, ec_time *out)
{
	char key_name[EC_PATH_MAX];
	if (ca_gen_files(ca, generation, key_name, NULL, sizeof(key_name)) != 0)
		return PKI_KEY_TIME_NONE;
	return pki_key_time_at(&ca->dir, key_name, out);
}
