/* `show crypto key mypubkey rsa` for the trustpoints: each one's key pair and, while a
 * regenerated renewal or a SHADOW certificate waits on it, its successor ("NAME#"). */
#include "client/client_internal.h"

#include <stdio.h>
#include <string.h>

#include "pki/cert_show.h"
#include "pki/key_time.h"
#include "util/json.h"

static int one_key(tp_runtime *tp, EVP_PKEY *key, char slot, bool json, bool *first, ec_buf *out)
{
	char name[CFG_NAME_MAX + 2], file[EC_PATH_MAX], storage[2 * EC_PATH_MAX];
	bool successor = slot != tp->rec.key_slot;
	snprintf(name, sizeof(name), "%s%s", client_key_label(tp), successor ? "#" : "");
	pki_key_entry e = {.name = name, .key = key, .made_source = PKI_KEY_TIME_NONE, .storage = storage,
	                   /* `output key` writes it in clear for the application (the successor at its install). */
	                   .exportable = tp->cfg.key_file[0] != '\0'};
	if (client_key_file(tp, slot, file, sizeof(file)) == 0) {
		snprintf(storage, sizeof(storage), "%s/%s", tp->keys.path, file);
		e.made_source = pki_key_time_at(&tp->keys, file, &e.made);
	} else {
		snprintf(storage, sizeof(storage), "%s", tp->keys.path);
	}
	if (!json)
		return pki_key_entry_text(out, &e);
	int rc = (!*first && ec_buf_printf(out, ",")) || ec_buf_printf(out, "{") ||
	         ec_json_kv_str(out, true, "trustpoint", tp->cfg.name) || pki_key_entry_json(out, &e) ||
	         ec_json_kv_str(out, false, "role", successor ? "shadow" : "active") || ec_buf_printf(out, "}");
	*first = false;
	return rc ? -1 : 0;
}

/* Whether an earlier trustpoint shares tps[i]'s key label (`rsakeypair`): its keys are listed once. */
static bool listed_before(tp_runtime *const *tps, size_t i)
{
	for (size_t j = 0; j < i; j++)
		if (strcmp(client_key_label(tps[j]), client_key_label(tps[i])) == 0)
			return true;
	return false;
}

int client_show_all_keys(tp_runtime *const *tps, size_t n_tps, bool json, bool first, ec_buf *out)
{
	for (size_t i = 0; i < n_tps; i++) {
		tp_runtime *tp = tps[i];
		if (listed_before(tps, i))
			continue;
		char other = tp->rec.key_slot == 'a' ? 'b' : 'a';
		if ((tp->key != NULL && one_key(tp, tp->key, tp->rec.key_slot, json, &first, out) != 0) ||
		    (tp->shadow_key != NULL && one_key(tp, tp->shadow_key, other, json, &first, out) != 0))
			return -1;
	}
	return 0;
}
