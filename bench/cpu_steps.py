#!/usr/bin/env python3
"""Where evercertd's CPU goes, by step of an enrollment, from a perf profile with call chains.

    perf record -F 1999 --call-graph dwarf,32768 -p PID -o perf.data   (during a load)
    perf script -i perf.data -F comm,tid,ip,sym,dso | bench/cpu_steps.py [--cpu-ms MS]

Each sample is put in one row, by its call chain (libcrypto's internal functions have no symbols,
but the chains through them name the exported function and evercertd's caller):

* the RSA private operations: samples under the constant-time exponentiations and the blinding,
  and under the public exponentiation OpenSSL 3.0 makes after each private one to check its
  result (on a signing or decrypting chain); `openssl speed` counts all of these too;
* the RSA public operations: the other samples under BN_mod_exp_mont;
* otherwise the innermost step of the request on the chain (ROWS below), split into user and
  kernel time for the group commit; samples on no step's chain are the HTTP threads' own work or
  the kernel's (loopback TCP, scheduling).

With --cpu-ms (the CA's CPU per enrollment measured without the profiler) each share is also
given in ms per enrollment.

With --libraries the samples outside the RSA operations are put by the library that was running
instead (the kernel, libcrypto, OpenSSL's legacy provider, SQLite, libc, evercertd...), a libc
function inlined or called from elsewhere going to libc: what a rewrite of evercertd's own steps
could and could not remove.
"""
import argparse
import collections
import re
import sys

PRIVATE = {"BN_mod_exp_mont_consttime_x2", "BN_mod_exp_mont_consttime", "BN_BLINDING_convert_ex",
           "BN_BLINDING_update", "BN_BLINDING_invert_ex", "BN_BLINDING_create_param"}
PUBLIC = {"BN_mod_exp_mont"}
# A public exponentiation on one of these chains checks a private operation's result.
PRIVATE_CALLERS = {"RSA_sign", "EVP_DigestSignFinal", "EVP_PKEY_sign", "EVP_PKEY_decrypt",
                   "PKCS7_dataDecode", "PKCS7_decrypt", "RSA_private_decrypt", "RSA_private_encrypt"}

# The rows, and evercertd's functions that name each: the innermost of them on a chain wins.
COMMIT = "the group commit (SQLite, WAL, fdatasync, waits)"
REST = "the rest of the request (signer, fingerprints, nonces, freeing)"
HTTP = "the HTTP layer, routing, the log lines, the metrics"
ROWS = {
    COMMIT: ["sq_record_granted"],
    "the transactionID lookup": ["request_fetch", "sq_request_find"],
    "signing the CertRep around its RSA": ["scep_p7_sign"],
    "the reply's envelope around its RSA": ["scep_envelope"],
    "building the certificate around its RSA": ["pki_issue_cert", "ca_issue_build"],
    "opening the request's envelope around its RSA": ["open_envelope"],
    "parsing and checking the PKCS#10 around its RSA": ["scep_csr_parse"],
    "parsing the pkiMessage around its RSA": ["scep_msg_parse"],
    "the policy's decision and the request's record": ["obey", "pki_csr_check_policy"],
    REST: ["scep_degenerate_build", "scep_msg_free", "classify_signer", "pki_cert_fingerprint_hex",
           "pki_spki_fingerprint", "scep_random", "ca_pki_operation"],
    HTTP: ["ec_log_vline", "ca_audit", "daemon_metrics_scep_handle", "on_request"],
}
STEP_OF = {fn: row for row, fns in ROWS.items() for fn in fns}
FRAME = re.compile(r"\s+[0-9a-f]+\s+(.*?)\s+\((.*)\)\s*$")


def samples(lines):
    """Yields each sample's call chain, innermost first, as (symbol, library) pairs."""
    chain = None
    for line in lines:
        if not line.strip():
            if chain:
                yield chain
            chain = None
        elif not line[0].isspace():
            chain = []
        elif chain is not None:
            m = FRAME.match(line)
            if m:
                chain.append((m.group(1), m.group(2).rsplit("/", 1)[-1]))
    if chain:
        yield chain


def row_of(chain):
    names = [n for n, _ in chain]
    if any(n in PRIVATE for n in names):
        return "RSA private operations, their blinding and the check of each result"
    if any(n in PUBLIC for n in names):
        if any(n in PRIVATE_CALLERS for n in names):
            return "RSA private operations, their blinding and the check of each result"
        return "RSA public operations"
    kernel = chain[0][1] == "[kernel.kallsyms]"
    for n in names:
        if n in STEP_OF:
            row = STEP_OF[n]
            if row == COMMIT:
                row += ": kernel" if kernel else ": SQLite and ours"
            return row
    return "loopback TCP, scheduling, interrupts (kernel)" if kernel else "unattributed"


LIBRARIES = [("[kernel.kallsyms]", "the kernel"), ("libcrypto", "libcrypto, other than the RSA"),
             ("legacy", "OpenSSL's legacy provider (DES, 3DES)"), ("libsqlite3", "SQLite"),
             ("libc", "libc (allocations, locks, copies)"), ("libmicrohttpd", "libmicrohttpd"),
             ("evercertd", "evercertd")]


# perf shows glibc's functions inlined into their caller's library (malloc in CRYPTO_zalloc):
# these names are glibc's own.
GLIBC = re.compile(r"^(__GI_|_?__pthread|__libc|_int_|tcache_|__mem|__str|malloc|free|lll_|__lll|"
                   r"__futex|unlink_chunk|__getpid|getpid)")


def library_of(chain):
    """The RSA row, or the library of the innermost frame: glibc's by its name when perf shows it
    inlined, else the first frame's that names one."""
    row = row_of(chain)
    if row.startswith("RSA"):
        return row
    if chain and chain[0][1] == "inlined" and GLIBC.match(chain[0][0]):
        return "libc (allocations, locks, copies)"
    lib = next((lib for _, lib in chain if lib != "inlined"), "")
    return next((name for prefix, name in LIBRARIES if lib.startswith(prefix)), "other")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cpu-ms", type=float, help="the CA's CPU per enrollment without the profiler")
    ap.add_argument("--libraries", action="store_true", help="rows by library instead of by step")
    args = ap.parse_args()
    rows = collections.Counter()
    classify = library_of if args.libraries else row_of
    for chain in samples(sys.stdin):
        rows[classify(chain)] += 1
    total = sum(rows.values())
    if total == 0:
        print("cpu_steps: no samples with call chains", file=sys.stderr)
        return 1
    print("   %-72s %7s %s" % ("where", "share", "ms/enrollment" if args.cpu_ms else ""))
    for row, n in rows.most_common():
        share = n / total
        ms = " %6.3f" % (share * args.cpu_ms) if args.cpu_ms else ""
        print("   %-72s %6.1f%%%s" % (row, 100 * share, ms))
    print("   %d samples" % total)
    return 0


if __name__ == "__main__":
    sys.exit(main())
