/*
 * config_internal.h - what the parts of the configuration parser share: one split line, the
 * parser's state, and the argument readers that turn words into checked values.
 *
 * Every reader that fails writes "line N: <reason>" into the parser's ec_err and returns -1, so a
 * handler can `return cfg_fail(...)` or chain readers with `||`. Nothing here allocates.
 *
 * Purity and threads: pure; on the thread that parses.
 */
#ifndef EVERCERT_CONFIG_INTERNAL_H
#define EVERCERT_CONFIG_INTERNAL_H

#include "config/config.h"

/* The longest line accepted (without its line ending). */
#define CFG_LINE_MAX 4096
/* The most words on one line. */
#define CFG_WORDS_MAX 128

/* One configuration line, split into words. */
typedef struct cfg_line {
	int no;                         /* 1-based line number */
	bool indented;                  /* starts with a space or a tab */
	char raw[CFG_LINE_MAX + 1];     /* the line, trailing blanks and line ending removed */
	char words[CFG_LINE_MAX + 1];   /* the same text, each word NUL-terminated */
	const char *w[CFG_WORDS_MAX];   /* the words, pointing into words */
	size_t off[CFG_WORDS_MAX];      /* where each word starts in raw */
	size_t n;                       /* number of words */
} cfg_line;

enum cfg_block { CFG_BLOCK_NONE = 0, CFG_BLOCK_SERVER, CFG_BLOCK_TRUSTPOINT };

typedef struct cfg_parser {
	cfg_config *cfg;
	ec_err *err;
	enum cfg_block block;           /* the open block, if any */
	size_t index;                   /* which server or trustpoint the open block fills */
	bool was_open;                  /* a block was open when the current line came */
	enum cfg_block block_was;       /* ... of this kind */
	int grant_line[CFG_MAX_SERVERS]; /* where each server's last grant line was, for validation */
	int end_line;                   /* the `end` line, 0 before it */
	enum cfg_block noted_block;     /* the block whose unindented lines a notice already named */
	size_t noted_index;
} cfg_parser;

#define CFG_COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* A keyword and what it stands for, in the tables of choices a line's word is looked up in. */
typedef struct cfg_word {
	const char *word;
	int value;
} cfg_word;

/* A setting whose last word is one of a fixed list: `mode sub-cs|ra`. */
typedef struct cfg_choices {
	const char *syntax; /* the whole line, for the word count error */
	size_t word;        /* where the choice stands; the line has no word after it */
	const char *what;   /* "mode", for "unknown mode 'WORD' (HINT)" */
	const char *hint;   /* "expected sub-cs or ra" */
	size_t n;
	cfg_word words[8];
} cfg_choices;

/* Writes "line N: <fmt...>" into p->err; returns -1. */
int cfg_fail(const cfg_parser *p, const cfg_line *ln, const char *fmt, ...) EC_PRINTF(3, 4);

/* Adds "line N: <fmt...>" to the configuration's notices (beyond CFG_NOTICES_MAX, the last one
 * says that more followed). */
void cfg_notice(const cfg_parser *p, const cfg_line *ln, const char *fmt, ...) EC_PRINTF(3, 4);

/* True when word i exists and equals kw, ignoring case. */
bool cfg_is(const cfg_line *ln, size_t i, const char *kw);

/* True when word i is one of the n words (ignoring case), with its value in *out. */
bool cfg_lookup(const cfg_line *ln, size_t i, const cfg_word *words, size_t n, int *out);

/* Reads a line of the form c->syntax: the value of the word chosen (the values in c are >= 0), or
 * -1 with the error written (wrong word count, unknown word). */
int cfg_choice(const cfg_parser *p, const cfg_line *ln, const cfg_choices *c) EC_MUST_USE;

/* The entry of a command table (n entries of size bytes, each starting with its keyword as a
 * `const char *`) whose keyword is word, ignoring case; NULL when there is none. */
const void *cfg_command_find(const void *table, size_t n, size_t size, const char *word);
#define CFG_COMMAND_FIND(table, word) cfg_command_find((table), CFG_COUNT(table), sizeof((table)[0]), (word))

/* The keyword of a command table closest to a mistyped word (an abbreviation of exactly one
 * keyword, or within a small edit distance), for "did you mean ...?"; NULL when none is close. */
const char *cfg_command_nearest(const void *table, size_t n, size_t size, const char *word);
#define CFG_COMMAND_NEAREST(table, word) \
	cfg_command_nearest((table), CFG_COUNT(table), sizeof((table)[0]), (word))

/* The error for a first word that is not a command of a `crypto pki server|trustpoint` block
 * (block names which), with a hint when it is a global command written indented. */
int cfg_block_unknown(const cfg_parser *p, const cfg_line *ln, const char *block, const char *nearest);

/* The keyword of the server, trustpoint or global commands closest to word (NULL: none). */
const char *cfg_server_nearest(const char *word);
const char *cfg_trustpoint_nearest(const char *word);
const char *cfg_global_nearest(const char *word);

/* The rest of the line from word i on, as written (inner spaces kept). */
const char *cfg_rest(const cfg_line *ln, size_t i);

/* Checks that the line has between min and max words; the error quotes the syntax. */
int cfg_want(const cfg_parser *p, const cfg_line *ln, size_t min, size_t max, const char *syntax) EC_MUST_USE;

/* Reads word i as a decimal integer in [min, max]; what names it in errors ("hours"). */
int cfg_int(const cfg_parser *p, const cfg_line *ln, size_t i, long min, long max, const char *what,
            long *out) EC_MUST_USE;

/* Reads a line of the form syntax whose last word, i, is an integer in [min, max] (what names it
 * in errors); *out is set only when the line is right. */
int cfg_int_setting(const cfg_parser *p, const cfg_line *ln, size_t i, long min, long max, const char *syntax,
                    const char *what, int *out) EC_MUST_USE;

/* Reads `KEYWORD DN` (the rest of the line from word 1) into dst: a distinguished name, so at least
 * one '='; keyword and example (of a name) are quoted in errors. */
int cfg_dn(const cfg_parser *p, const cfg_line *ln, const char *keyword, const char *example, char *dst,
           size_t dstsz) EC_MUST_USE;

/* Copies text into dst (size dstsz); an error names what when it does not fit or is empty. */
int cfg_text(const cfg_parser *p, const cfg_line *ln, const char *text, char *dst, size_t dstsz,
             const char *what) EC_MUST_USE;

/* Copies word i as a name: letters, digits, '.', '_', '-' (and '#' when label is set, for key
 * labels such as ROOTCA#), not starting with '.', '-' or '#', shorter than CFG_NAME_MAX. */
int cfg_name(const cfg_parser *p, const cfg_line *ln, size_t i, bool label, char *dst, const char *what) EC_MUST_USE;

/* Reads `[0|7] SECRET` from word i to the end of the line into dst (decoded clear text). */
int cfg_secret(const cfg_parser *p, const cfg_line *ln, size_t i, char *dst, size_t dstsz,
               const char *syntax) EC_MUST_USE;

/* Reads `DAYS [HOURS [MINUTES]]` from word i to the end of the line; the total must be > 0. */
int cfg_dhm(const cfg_parser *p, const cfg_line *ln, size_t i, long max_days, ec_time *out) EC_MUST_USE;

/* Copies word i as a numeric IPv4 or IPv6 address into dst (size dstsz). */
int cfg_address(const cfg_parser *p, const cfg_line *ln, size_t i, char *dst, size_t dstsz,
                const char *what) EC_MUST_USE;

/* Length of a URL scheme at the start of text ("ftp" in "ftp://h/x"), 0 when there is none:
 * a letter, then letters, digits, '+', '-' or '.', then ':'. */
size_t cfg_scheme_len(const char *text);

/* The block parsers: one line of a server or trustpoint block. */
int cfg_server_line(cfg_parser *p, const cfg_line *ln, cfg_server *s) EC_MUST_USE;
int cfg_trustpoint_line(cfg_parser *p, const cfg_line *ln, cfg_trustpoint *tp) EC_MUST_USE;

/* Whether a first word is a server or trustpoint block command (for "only valid inside ..."). */
bool cfg_server_keyword(const char *word);
bool cfg_trustpoint_keyword(const char *word);

/* Whether a first word is a global command (for the hint "global commands start at column 0"). */
bool cfg_global_keyword(const char *word);

/* Defaults of a new block. */
void cfg_server_defaults(cfg_server *s);
void cfg_trustpoint_defaults(cfg_trustpoint *tp);

/* One global line (outside any block); may open a block. */
int cfg_global_line(cfg_parser *p, const cfg_line *ln) EC_MUST_USE;
/* config_logging.c: a `logging ...` line. */
int cfg_cmd_logging(cfg_parser *p, const cfg_line *ln) EC_MUST_USE;

#endif
