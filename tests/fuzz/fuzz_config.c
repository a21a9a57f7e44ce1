/* libFuzzer target for the configuration parser: any bytes must give a model or an error naming
 * a line, never a crash, a leak or undefined behaviour. A parsed model is also walked through the
 * lookups, and type 7 decoding is fed the same bytes. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "config/config.h"

static void exercise(const cfg_config *cfg)
{
	for (size_t i = 0; i < cfg->n_servers; i++) {
		const cfg_server *s = &cfg->servers[i];
		if (cfg_find_server(cfg, s->name) != s)
			__builtin_trap();
		(void)cfg_key_bits(cfg, s->name, 2048);
	}
	for (size_t i = 0; i < cfg->n_trustpoints; i++) {
		const cfg_trustpoint *tp = &cfg->trustpoints[i];
		if (cfg_find_trustpoint(cfg, tp->name) != tp)
			__builtin_trap();
		/* Requested names: within the limit, typed, non-empty, each kept once. */
		if (tp->n_alt_names > CFG_MAX_ALT_NAMES)
			__builtin_trap();
		for (size_t j = 0; j < tp->n_alt_names; j++) {
			const cfg_alt_name *a = &tp->alt_names[j];
			if (a->value[0] == '\0' || a->type < CFG_ALT_DNS || a->type > CFG_ALT_EMAIL)
				__builtin_trap();
			for (size_t k = 0; k < j; k++)
				if (tp->alt_names[k].type == a->type && strcasecmp(tp->alt_names[k].value, a->value) == 0)
					__builtin_trap();
		}
		if (tp->ip_address[0] != '\0' && tp->ip_interface[0] != '\0')
			__builtin_trap(); /* an address or an interface, never both */
		char enc[2 * CFG_SECRET_MAX + 3], dec[CFG_SECRET_MAX];
		if (cfg_type7_encode(tp->password, 3, enc, sizeof(enc)) == 0 &&
		    (cfg_type7_decode(enc, dec, sizeof(dec)) != 0 || strcmp(dec, tp->password) != 0))
			__builtin_trap();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	cfg_config *cfg = NULL;
	ec_err err;
	if (cfg_parse(data, size, &cfg, &err) == 0) {
		exercise(cfg);
		cfg_config_free(cfg);
	} else if (cfg != NULL || strncmp(err.msg, "line ", 5) != 0) {
		if (size <= CFG_FILE_MAX)
			__builtin_trap(); /* every error names its line */
	}

	char text[600], out[CFG_SECRET_MAX];
	size_t n = size < sizeof(text) - 1 ? size : sizeof(text) - 1;
	memcpy(text, data, n);
	text[n] = '\0';
	(void)cfg_type7_decode(text, out, sizeof(out));
	return 0;
}
