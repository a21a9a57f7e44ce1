/*
 * name_line.h - a distinguished name in the router's one-line display form, as its show commands
 * print it: most specific attribute first, "cn=RootCA,ou=TAC,o=Cisco",
 * "hostname=r1.example.com,serialNumber=FTX1234", or one attribute a line.
 *
 * The text is pki_name_format's (pki.h) with the attribute names the router uses: the short
 * upper-case ones in lower case (cn, ou, o, c, dc...), unstructuredName as "hostname",
 * unstructuredAddress as "ipaddress", the others as they are (serialNumber, emailAddress).
 * Values keep pki_name_format's escapes, so a control byte in a certificate never reaches a
 * terminal and a comma inside a value stays distinguishable from a separator.
 *
 * Purity and threads: pure; any thread.
 */
#ifndef EVERCERT_PKI_NAME_LINE_H
#define EVERCERT_PKI_NAME_LINE_H

#include <stddef.h>

#include <openssl/x509.h>

#include "util/err.h"

/* From pki_name_format's text ("CN=RootCA,OU=TAC"); -1 when out is too small (out is then ""). */
int pki_name_line_from_text(const char *text, char *out, size_t outsz) EC_MUST_USE;
/* From the name itself; -1 when out is too small or the name cannot be formatted. */
int pki_name_line(const X509_NAME *name, char *out, size_t outsz) EC_MUST_USE;
/* The same attributes one a line, each after indent and ending in '\n' (the router's multi-line
 * form of show crypto pki certificates); -1 as above. */
int pki_name_lines(const X509_NAME *name, const char *indent, char *out, size_t outsz) EC_MUST_USE;

#endif
