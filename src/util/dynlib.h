/*
 * dynlib.h - a shared library loaded when first needed, with the functions taken from it.
 *
 * evercertd maps libmicrohttpd only when a listener starts and libpq only when a PostgreSQL store
 * opens: a client-only daemon maps neither, nor what they bring (TLS libraries, LDAP, Kerberos).
 * A library loaded here stays for the life of the process.
 *
 * Purity and threads: not pure (the dynamic loader); call it once per library (pthread_once).
 */
#ifndef EVERCERT_UTIL_DYNLIB_H
#define EVERCERT_UTIL_DYNLIB_H

#include <stddef.h>

/* A function to take: its name, and where its address goes. */
typedef struct ec_dynsym {
	const char *name;
	void **slot;
} ec_dynsym;

/* Loads library and fills every slot. -1 with the reason in error ("cannot load L (Debian
 * package P): ...", "L has no F (too old a version?)") when the library or a function is
 * missing; the slots filled so far are then not to be used. */
int ec_dynlib_load(const char *library, const char *package, const ec_dynsym *syms, size_t n, char *error,
                   size_t errsz);

#endif
