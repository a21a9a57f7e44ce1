/*
 * config.h - the router-style configuration language (SPEC §4, §5) parsed into a plain model.
 *
 * cfg_parse reads bytes and returns a cfg_config or an error naming the line
 * ("line 12: unknown command 'foo' in crypto pki server block"). Unknown lines are errors, never
 * ignored. Apart from cfg_load_file reading its file, nothing is opened, resolved or generated
 * here: the daemon applies the model.
 *
 * Layout of the language: global lines start at column 0; `crypto pki server NAME` and
 * `crypto pki trustpoint NAME` open a block whose lines are indented; a line `!`, `exit`, or the
 * next unindented line closes it. `!` at the start of a line begins a comment. Keywords are
 * case-insensitive; values keep their case. `no <line>` is accepted where the router accepts it
 * (`no shutdown`).
 *
 * Ownership: cfg_config_free frees everything; strings are fixed-size arrays inside the model.
 *
 * Purity and threads: pure, any thread, all but cfg_load_file, which reads the file it is given
 * (then parses it as cfg_parse). The daemon's main thread loads; a model is never changed after it
 * is made, so readers on other threads share it.
 */
#ifndef EVERCERT_CONFIG_CONFIG_H
#define EVERCERT_CONFIG_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "clock/clock.h"
#include "util/err.h"

#define CFG_NAME_MAX 64
#define CFG_TEXT_MAX 1024
#define CFG_SECRET_MAX 256
#define CFG_MAX_SERVERS 8
#define CFG_MAX_TRUSTPOINTS 64
/* An RSA key's size where the configuration names none: keys we make, and the smallest we
 * issue for. */
#define CFG_RSA_BITS_DEFAULT 2048
/* `output post-install-timeout`: how long a post-install command may run, and its bounds. */
#define CFG_POST_INSTALL_TIMEOUT_DEFAULT 60
#define CFG_POST_INSTALL_TIMEOUT_MAX 86400
#define CFG_MAX_KEYS 64
#define CFG_MAX_GRANT_TPS 8
#define CFG_MAX_ALT_NAMES 16                   /* subjectAltNames a trustpoint requests */
#define CFG_ALT_NAME_MAX 256                   /* longest alternative name, with its NUL */
/* A configuration file larger than this is refused. */
#define CFG_FILE_MAX (1024 * 1024)
#define CFG_HTTP_MAX_CONNECTIONS 1024          /* default of `ip http max-connections` */
#define CFG_TIMEZONE_NAME_MAX 8                /* a router's zone name: at most 7 characters */
#define CFG_NOTICES_MAX 16
#define CFG_NOTICE_MAX 240

enum cfg_grant {
	CFG_GRANT_MANUAL = 0,       /* no grant line */
	CFG_GRANT_AUTO = 1,         /* grant auto */
	CFG_GRANT_NONE = 2,         /* grant none */
	CFG_GRANT_AUTO_TRUSTPOINT = 3, /* grant auto trustpoint TP / grant auto tp-list TP... */
};

enum cfg_db_level { CFG_DB_MINIMUM = 0, CFG_DB_NAMES = 1, CFG_DB_COMPLETE = 2 };
enum cfg_archive { CFG_ARCHIVE_PKCS12 = 0, CFG_ARCHIVE_PEM = 1 };
enum cfg_hash { CFG_HASH_SHA256 = 0, CFG_HASH_SHA384, CFG_HASH_SHA512, CFG_HASH_SHA1 };
enum cfg_server_mode { CFG_MODE_ROOT = 0, CFG_MODE_SUB_CS = 1, CFG_MODE_RA = 2 };
/* crl_none: `revocation-check crl none`, the CRL when one can be had, otherwise accept. */
enum cfg_revocation { CFG_REVOCATION_NONE = 0, CFG_REVOCATION_CRL = 1, CFG_REVOCATION_CRL_NONE = 2 };
/* The kind of a requested subjectAltName (`subject-alt-name [dns|ip|email] VALUE...`). */
enum cfg_alt_type { CFG_ALT_DNS = 0, CFG_ALT_IP = 1, CFG_ALT_EMAIL = 2 };

typedef struct cfg_alt_name {
	enum cfg_alt_type type;
	char value[CFG_ALT_NAME_MAX];          /* as written; an IP address in its numeric form */
} cfg_alt_name;
/* What a trustpoint's requests may use (`hash ...`, `encryption ...`): sets of these bits. */
enum cfg_alg {
	CFG_ALG_SHA512 = 1u << 0, CFG_ALG_SHA384 = 1u << 1, CFG_ALG_SHA256 = 1u << 2, CFG_ALG_SHA1 = 1u << 3,
	CFG_ALG_MD5 = 1u << 4,
	CFG_ALG_AES = 1u << 8, CFG_ALG_3DES = 1u << 9, CFG_ALG_DES = 1u << 10,
};
#define CFG_ALG_DIGESTS (CFG_ALG_SHA512 | CFG_ALG_SHA384 | CFG_ALG_SHA256 | CFG_ALG_SHA1 | CFG_ALG_MD5)
#define CFG_ALG_CIPHERS (CFG_ALG_AES | CFG_ALG_3DES | CFG_ALG_DES)
/* Neither MD5 nor single DES unless the trustpoint names them. */
#define CFG_ALG_TRUSTPOINT_DEFAULT \
	(CFG_ALG_SHA512 | CFG_ALG_SHA384 | CFG_ALG_SHA256 | CFG_ALG_SHA1 | CFG_ALG_AES | CFG_ALG_3DES)

typedef struct cfg_server {
	char name[CFG_NAME_MAX];
	int line;                              /* where the block starts */
	char issuer_name[CFG_TEXT_MAX];        /* "" means CN=<name> */
	enum cfg_grant grant;
	char grant_trustpoints[CFG_MAX_GRANT_TPS][CFG_NAME_MAX];
	size_t n_grant_trustpoints;
	bool grant_auto_rollover_ca;           /* grant auto rollover ca-cert (sub-CA rollover) */
	ec_time renewal_grace;                 /* `grant renewal-grace`: ms; default 30 days; 0 = off */
	ec_time lifetime_certificate;          /* ms; default 365 days */
	ec_time lifetime_ca_certificate;       /* ms; default 1095 days */
	ec_time lifetime_crl;                  /* ms; default 6 hours */
	ec_time lifetime_enrollment_request;   /* ms; default 168 hours */
	enum cfg_db_level database_level;
	char database_path[CFG_TEXT_MAX];      /* from `database url`, scheme removed; "" = state dir */
	/* From `database url postgresql://...` (or postgres://): the store's libpq URL as given, the
	 * CA's files staying in the state directory; "" = SQLite in the CA directory. */
	char database_store_url[CFG_TEXT_MAX];
	bool archive_set;                      /* a `database archive` line was given */
	enum cfg_archive archive_format;
	char archive_password[CFG_SECRET_MAX]; /* decoded clear text; "" when none */
	bool auto_rollover;
	ec_time auto_rollover_period;          /* ms; `auto-rollover` alone: 30 days */
	enum cfg_hash hash;
	char cdp_url[CFG_TEXT_MAX];
	bool encryption_des;                   /* accept single DES envelopes; `no encryption des` */
	bool shutdown;
	enum cfg_server_mode mode;
	char parent_url[CFG_TEXT_MAX];         /* not used until sub-CA mode */
	int issuance_rsa_min_bits;             /* `issuance rsa-modulus MIN [MAX]`: default CFG_RSA_BITS_DEFAULT */
	int issuance_rsa_max_bits;             /* default 8192 */
	bool issuance_allow_uri;               /* `issuance subject-alt-name uri` */
} cfg_server;

typedef struct cfg_trustpoint {
	char name[CFG_NAME_MAX];
	int line;
	char enrollment_url[CFG_TEXT_MAX];     /* "" = none */
	char subject_name[CFG_TEXT_MAX];       /* "" = CN=<hostname> */
	bool serial_number;                    /* `serial-number` (not `serial-number none`) */
	char ip_address[64];                   /* "" = none (or an interface, below) */
	char ip_interface[CFG_NAME_MAX];       /* `ip-address INTERFACE`: its address at each request */
	char fqdn[CFG_ALT_NAME_MAX];           /* `fqdn NAME`; "" = none */
	cfg_alt_name alt_names[CFG_MAX_ALT_NAMES]; /* `subject-alt-name` lines, in order, no duplicates */
	size_t n_alt_names;
	char password[CFG_SECRET_MAX];         /* decoded challenge password; "" = none */
	char rsakeypair[CFG_NAME_MAX];         /* "" = the trustpoint's name */
	int rsakeypair_bits;                   /* default CFG_RSA_BITS_DEFAULT */
	bool auto_enroll;
	int auto_enroll_percent;               /* 1..100; `auto-enroll` alone: 100 */
	bool auto_enroll_regenerate;
	int retry_count;                       /* default 999; 0 = no limit */
	int retry_period_minutes;              /* default 1 */
	enum cfg_revocation revocation_check;  /* as written */
	bool revocation_check_set;             /* a `revocation-check` line was given */
	char fingerprint[CFG_TEXT_MAX];        /* hex as written ("" = ask the operator) */
	char certificate_file[CFG_TEXT_MAX];   /* `output certificate PATH` */
	char key_file[CFG_TEXT_MAX];           /* `output key PATH` */
	char chain_file[CFG_TEXT_MAX];         /* `output chain PATH` */
	char ca_bundle_file[CFG_TEXT_MAX];     /* `output ca-bundle PATH` */
	char post_install[CFG_TEXT_MAX];       /* `output post-install COMMAND...` */
	int post_install_timeout_seconds;      /* `output post-install-timeout SECONDS`, default 60 */
	unsigned algorithms;                   /* enum cfg_alg bits: `hash` and `encryption` lists */
} cfg_trustpoint;

/* `crypto key generate rsa [general-keys] label NAME [modulus BITS]` */
typedef struct cfg_key {
	char label[CFG_NAME_MAX];
	int bits;
} cfg_key;

/* `logging console|file|syslog [LEVEL]`: the levels are syslog(3)'s priorities, so that a line
 * reaches syslog with its own. A destination logs the lines at its level and more severe. */
enum cfg_log_level {
	CFG_LOG_OFF = 0, CFG_LOG_ERROR = 3, CFG_LOG_WARNING = 4, CFG_LOG_NOTICE = 5, CFG_LOG_INFO = 6,
	CFG_LOG_DEBUG = 7,
};

/* Where the daemon's log goes. Without a `logging` line: standard error under --foreground,
 * otherwise evercertd.log in the state directory, at info. With one or more: those only. */
typedef struct cfg_logging {
	bool set;                              /* at least one `logging` line */
	int line;                              /* the first of them */
	int console;                           /* enum cfg_log_level; CFG_LOG_OFF: not at all */
	int file;
	char file_path[CFG_TEXT_MAX];          /* absolute, or a name in the state directory */
	int syslog;
} cfg_logging;

typedef struct cfg_config {
	char hostname[CFG_NAME_MAX];           /* "" = the system's */
	bool http_server;                      /* `ip http server` present */
	int http_port;                         /* default 80 */
	int http_port_line;                    /* the line that set the port, or declared the server */
	char http_bind[64];                    /* "" = all addresses */
	int http_max_connections;              /* `ip http max-connections`; default 1024 */
	/* `ip http metrics ADDRESS PORT`: the Prometheus listener, apart from the SCEP port. */
	bool metrics;
	char metrics_bind[64];
	int metrics_port;
	bool calendar_valid;                   /* `clock calendar-valid` */
	bool clock_simulated;                  /* `clock simulate start ISO [rate F]` */
	ec_time clock_simulate_start;
	double clock_simulate_rate;            /* default 1 */
	cfg_key keys[CFG_MAX_KEYS];
	size_t n_keys;
	cfg_server servers[CFG_MAX_SERVERS];
	size_t n_servers;
	cfg_trustpoint trustpoints[CFG_MAX_TRUSTPOINTS];
	size_t n_trustpoints;
	cfg_logging logging;                   /* `logging ...` lines */
	char timezone_name[CFG_TIMEZONE_NAME_MAX]; /* `clock timezone NAME HOURS [MINUTES]`; "" = UTC */
	int timezone_offset_minutes;           /* east of UTC */
	/* Lines accepted as a router takes them though written unusually (a block's line at column
	 * 0, a no-break space): "line N: ...", for the daemon to log. */
	char notices[CFG_NOTICES_MAX][CFG_NOTICE_MAX];
	size_t n_notices;
} cfg_config;

/* Parses a whole configuration. On error *out is NULL and err says "line N: ...". */
int cfg_parse(const uint8_t *text, size_t len, cfg_config **out, ec_err *err) EC_MUST_USE;

/* Reads and parses a file (at most CFG_FILE_MAX bytes); errors name the file and line. */
int cfg_load_file(const char *path, cfg_config **out, ec_err *err) EC_MUST_USE;

void cfg_config_free(cfg_config *cfg);

/* Decodes a router type 7 password ("01100F175804575D72" -> "...") into out. */
int cfg_type7_decode(const char *encoded, char *out, size_t outsz) EC_MUST_USE;
/* Encodes clear text as type 7 with the given salt index (0..15); for tests and `show`. */
int cfg_type7_encode(const char *clear, int salt, char *out, size_t outsz) EC_MUST_USE;

/* Key size configured for a key label by `crypto key generate rsa`, or def when none. */
int cfg_key_bits(const cfg_config *cfg, const char *label, int def);

/* The revocation check in force for a trustpoint: the `revocation-check` line when there is
 * one; otherwise crl for a trustpoint that a server's `grant auto trustpoint` names (its CA's
 * certificates then grant certificates here), none for the others. */
int cfg_trustpoint_revocation(const cfg_config *cfg, const cfg_trustpoint *tp);

/* "error", "warning", "notice", "info" or "debug" ("off" for CFG_LOG_OFF). */
const char *cfg_log_level_name(int level);

/* Lookups by name (case-sensitive); NULL when absent. */
const cfg_server *cfg_find_server(const cfg_config *cfg, const char *name);
const cfg_trustpoint *cfg_find_trustpoint(const cfg_config *cfg, const char *name);

#endif
