/* evercert: the operator's command line; sends one command to the running evercertd. */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "cli/check.h"
#include "cli/show_timeline.h"
#include "cli/restore.h"
#include "cli/forecast.h"
#include "util/buf.h"
#include "util/fsutil.h"
#include "util/opproto.h"

#define CLI_REPLY_MAX (16 * 1024 * 1024)
#define CLI_ARGS_MAX OPPROTO_ARGS_MAX

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: evercert [--state-dir DIR] [--json] [--md5] [--yes] COMMAND...\n"
	        "\n"
	        "Talks to the evercertd running with state directory DIR (or $EVERCERT_STATE_DIR)\n"
	        "over its operator socket. Commands use the router's words; unique abbreviations\n"
	        "are accepted (`sh cry pki ser`).\n"
	        "\n"
	        "  show crypto pki server            status of each certificate server\n"
	        "  show crypto pki certificates      identity and CA certificates (active, rollover)\n"
	        "  show crypto pki timers            PKI and CS timers with the time left\n"
	        "  show crypto key mypubkey rsa      the servers' and trustpoints' key pairs\n"
	        "  show clock                        the daemon's clock\n"
	        "  show ip http server status        HTTP connections held, limits, refusals\n"
	        "  server NAME info requests         pending enrollment requests\n"
	        "  server NAME grant all|ID          issue pending requests\n"
	        "  server NAME reject all|ID         refuse pending requests\n"
	        "  server NAME revoke SERIAL         revoke a certificate (hex serial); CRL reissued\n"
	        "  server NAME unrevoke SERIAL       take a revocation back\n"
	        "  server NAME password generate [MINUTES]\n"
	        "                                    one-time challenge password (default 60 min)\n"
	        "  server NAME rollover              create the rollover CA certificate now\n"
	        "  server NAME rollover cancel       delete it (asks for confirmation)\n"
	        "  server NAME shutdown | no shutdown\n"
	        "                                    refuse / accept enrollment requests\n"
	        "  show crypto pki trustpoints [status]\n"
	        "                                    each trustpoint's state and armed renewal\n"
	        "  show timeline [--html FILE]       CA generations and certificates as lanes on one\n"
	        "                                    time axis (FILE: a self-contained HTML page)\n"
	        "  authenticate TP                   fetch and show the CA certificate; install it\n"
	        "                                    once confirmed (or when `fingerprint` matches)\n"
	        "  enroll TP                         enroll now, or renew at once (asks first)\n"
	        "  crypto pki crl request TP         fetch the CA's CRL for TP now (revocation-check crl)\n"
	        "  clock advance DURATION            move a simulated clock (90d, 5m42.946s,\n"
	        "                                    639d23:54:18), firing due timers in order\n"
	        "  clock advance-to TIME             the same, to an ISO 8601 time (2017-07-10T13:14:16Z)\n"
	        "  ping                              check that the daemon answers\n"
	        "  reload                            read the configuration file again and apply it\n"
	        "                                    (as SIGHUP does); says what changed, or why not\n"
	        "  backup DIR                        a consistent copy of the running daemon's state\n"
	        "                                    (databases, keys, archives, trustpoints) into a new\n"
	        "                                    directory, with a MANIFEST of checksums\n"
	        "  restore BACKUP --state-dir NEW [--check]\n"
	        "                                    offline: verify a backup and restore it into a new\n"
	        "                                    state directory, serials moved past any issued since\n"
	        "  check --config FILE [--client-policy PERCENT]\n"
	        "                                    offline: is every client's SHADOW after its CA's\n"
	        "                                    rollover? (timeline; exit 1 when unsafe)\n"
	        "  forecast --config FILE --clients N [--spread DURATION] [--html FILE]\n"
	        "                                    offline: the CA's requests per hour from N\n"
	        "                                    clients across two rollovers, and the peak\n"
	        "The router's long forms `crypto pki server NAME ...`, `crypto pki authenticate TP`\n"
	        "and `crypto pki enroll TP` are accepted too.\n"
	        "\n"
	        "  -s, --state-dir DIR   the daemon's state directory\n"
	        "      --json            one JSON document (show, info requests, check, ping;\n"
	        "                        docs/JSON.md)\n"
	        "      --md5             also show MD5 fingerprints\n"
	        "  -y, --yes             do not ask for confirmation\n"
	        "  -h, --help, -V, --version\n");
}

static int connect_daemon(const char *state_dir)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (ec_path_join(sa.sun_path, sizeof(sa.sun_path), state_dir, "evercertd.sock") != 0) {
		fprintf(stderr, "evercert: state directory path too long\n");
		return -1;
	}
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		fprintf(stderr, "evercert: cannot reach evercertd at %s: %s\n"
		        "(is evercertd running with --state-dir %s?)\n", sa.sun_path, strerror(errno), state_dir);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* Sends the words, reads the whole reply; returns 0 (OK), 1 (ERROR) or -1 (no answer). */
static int call(const char *state_dir, int argc, char **argv, ec_buf *reply)
{
	int fd = connect_daemon(state_dir);
	if (fd < 0)
		return -1;
	/* Whether the words all went out or not, the daemon's answer (a refusal) is read. */
	(void)!opproto_send_request(fd, argc, argv);
	for (;;) {
		char chunk[8192];
		ssize_t n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 || (n > 0 && ec_buf_append(reply, chunk, (size_t)n) != 0) || n == 0)
			break;
	}
	size_t text = 0;
	opproto_status rc = opproto_reply_status(reply, &text);
	if (rc == OPPROTO_NO_ANSWER)
		fprintf(stderr, "evercert: the daemon closed the connection without an answer\n");
	close(fd);
	return rc;
}

/* Prints the reply's text, to standard error when it reports an error; the exit status. */
static int print_reply(const ec_buf *reply)
{
	size_t text = 0;
	opproto_status status = opproto_reply_status(reply, &text);
	fwrite(reply->data + text, 1, reply->len - text, status == OPPROTO_OK ? stdout : stderr);
	return status == OPPROTO_OK ? 0 : 1;
}

static bool confirm(const char *question)
{
	if (!isatty(STDIN_FILENO))
		return false;
	fprintf(stderr, "%s [y/N] ", question);
	char line[16];
	if (fgets(line, sizeof(line), stdin) == NULL)
		return false;
	return line[0] == 'y' || line[0] == 'Y';
}

/* What the command line asks for: the words to send (the daemon's own flags --json and --md5
 * among them) and whether confirmation is already given. */
typedef struct {
	const char *state_dir;
	char *words[CLI_ARGS_MAX + 3];
	int n;
	bool yes;
} cli_request;

/* Whether --json came before COMMAND (for the commands the CLI runs itself). */
static bool asks_json(const cli_request *req)
{
	for (int i = 0; i < req->n; i++)
		if (strcmp(req->words[i], "--json") == 0)
			return true;
	return false;
}

/* Reads the options before COMMAND; -1 to go on, otherwise the exit status (help, version, misuse). */
static int parse_options(int argc, char **argv, cli_request *req)
{
	static const struct option opts[] = {
		{"state-dir", required_argument, NULL, 's'}, {"json", no_argument, NULL, 'j'},
		{"md5", no_argument, NULL, 'm'},             {"yes", no_argument, NULL, 'y'},
		{"help", no_argument, NULL, 'h'},            {"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0}};
	int c;
	while ((c = getopt_long(argc, argv, "+s:yhV", opts, NULL)) != -1) {
		switch (c) {
		case 's': req->state_dir = optarg; break;
		case 'j': req->words[req->n++] = "--json"; break;
		case 'm': req->words[req->n++] = "--md5"; break;
		case 'y': req->yes = true; break;
		case 'h': usage(stdout); return 0;
		case 'V': printf("evercert %s\n", EVERCERT_VERSION); return 0;
		default: usage(stderr); return 2;
		}
	}
	return -1;
}

/* Appends the command's words; --yes among them is the option, not a word (it is sent last). */
static int add_command_words(int argc, char **argv, cli_request *req)
{
	for (int i = optind; i < argc; i++) {
		if (req->n >= CLI_ARGS_MAX || strchr(argv[i], '\n') != NULL) {
			fprintf(stderr, "evercert: too many words, or a word with a line break\n");
			return 2;
		}
		if (strcmp(argv[i], "--json") == 0 || strcmp(argv[i], "--md5") == 0 || strcmp(argv[i], "--yes") == 0) {
			req->yes = req->yes || strcmp(argv[i], "--yes") == 0;
			if (strcmp(argv[i], "--yes") == 0)
				continue;
		}
		req->words[req->n++] = argv[i];
	}
	if (req->yes)
		req->words[req->n++] = "--yes";
	return 0;
}

/* Sends the command; when the daemon asks for confirmation, asks the operator and sends it again
 * with --yes. The exit status. */
static int run_command(cli_request *req)
{
	ec_buf reply;
	ec_buf_init(&reply, CLI_REPLY_MAX);
	int rc = call(req->state_dir, req->n, req->words, &reply);
	char *question = rc == OPPROTO_OK ? opproto_take_confirm(&reply) : NULL;
	if (question != NULL) {
		char q[512];
		snprintf(q, sizeof(q), "%s", question);
		print_reply(&reply);
		if (!confirm(q)) {
			fprintf(stderr, isatty(STDIN_FILENO) ? "Nothing done.\n"
			                                     : "Not confirmed: run again with --yes to confirm.\n");
			ec_buf_free(&reply);
			return 1;
		}
		ec_buf_reset(&reply);
		req->words[req->n++] = "--yes";
		rc = call(req->state_dir, req->n, req->words, &reply);
	}
	int status = rc < 0 ? 1 : print_reply(&reply);
	ec_buf_free(&reply);
	return status;
}

/* `show timeline --html FILE`: the page goes to FILE. */
static int run_to_file(cli_request *req, const char *file)
{
	ec_buf reply;
	ec_buf_init(&reply, CLI_REPLY_MAX);
	size_t text = 0;
	int status = call(req->state_dir, req->n, req->words, &reply) < 0 ? 1
	             : opproto_reply_status(&reply, &text) == OPPROTO_OK ? cli_timeline_save(&reply, text, file)
	                                                                 : print_reply(&reply);
	ec_buf_free(&reply);
	return status;
}

int main(int argc, char **argv)
{
	cli_request req = {.state_dir = getenv("EVERCERT_STATE_DIR")};
	int status = parse_options(argc, argv, &req);
	if (status >= 0)
		return status;
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[optind], "check") == 0)
		return cli_check(argc - optind, argv + optind, asks_json(&req));
	if (strcmp(argv[optind], "restore") == 0)
		return cli_restore(argc - optind, argv + optind, req.state_dir);
	if (strcmp(argv[optind], "forecast") == 0)
		return cli_forecast(argc - optind, argv + optind);
	if (req.state_dir == NULL) {
		fprintf(stderr, "evercert: give the daemon's state directory with --state-dir DIR or EVERCERT_STATE_DIR\n");
		return 2;
	}
	if (add_command_words(argc, argv, &req) != 0)
		return 2;
	const char *html = NULL;
	char width[16];
	if (cli_timeline_words(req.words, &req.n, CLI_ARGS_MAX + 3, &html, width, sizeof(width)) != 0)
		return 2;
	if (html != NULL)
		return run_to_file(&req, html);
	char backup_dir[4096];
	if (req.n == 2 && strcmp(req.words[0], "backup") == 0) {
		if (cli_absolute_path(req.words[1], backup_dir, sizeof(backup_dir)) != 0) {
			fprintf(stderr, "evercert: backup directory path too long\n");
			return 2;
		}
		req.words[1] = backup_dir;
	}
	return run_command(&req);
}
