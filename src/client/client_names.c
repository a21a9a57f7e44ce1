/* The names a trustpoint's requests ask for: the subject (subject-name, serial-number, fqdn,
 * ip-address) and the subjectAltName of the extensionRequest (fqdn, subject-alt-name,
 * ip-address). Built from the configuration at each request, so that a renewal asks for the
 * names of the certificate it renews as long as the configuration keeps them. */
#include "client/client_internal.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509v3.h>

#include "util/fsutil.h"

/* The first IPv4 address of an interface, else its first IPv6 address that is not link-local. */
static int interface_address(const char *ifname, char *out, size_t sz, ec_err *err)
{
	struct ifaddrs *all = NULL;
	if (getifaddrs(&all) != 0)
		return ec_err_set(err, "cannot list the network interfaces");
	const struct sockaddr *v4 = NULL, *v6 = NULL;
	for (struct ifaddrs *a = all; a != NULL; a = a->ifa_next) {
		if (a->ifa_addr == NULL || strcmp(a->ifa_name, ifname) != 0)
			continue;
		if (a->ifa_addr->sa_family == AF_INET && v4 == NULL)
			v4 = a->ifa_addr;
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)(const void *)a->ifa_addr;
		if (a->ifa_addr->sa_family == AF_INET6 && v6 == NULL && !IN6_IS_ADDR_LINKLOCAL(&s6->sin6_addr))
			v6 = a->ifa_addr;
	}
	const char *text = NULL;
	if (v4 != NULL)
		text = inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)v4)->sin_addr, out, (socklen_t)sz);
	else if (v6 != NULL)
		text = inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)v6)->sin6_addr, out, (socklen_t)sz);
	freeifaddrs(all);
	if (text == NULL)
		return ec_err_set(err, "interface %s (ip-address %s) has no address", ifname, ifname);
	return 0;
}

/* The address `ip-address` puts in the request, "" when none. */
static int request_address(const tp_runtime *tp, char *out, size_t sz, ec_err *err)
{
	out[0] = '\0';
	if (tp->cfg.ip_interface[0] != '\0')
		return interface_address(tp->cfg.ip_interface, out, sz, err);
	if (snprintf(out, sz, "%s", tp->cfg.ip_address) >= (int)sz)
		return ec_err_set(err, "ip-address too long");
	return 0;
}

/* Appends ",ATTR=value" to the subject text. */
static int append_attr(char *out, size_t sz, const char *attr, const char *value, ec_err *err)
{
	size_t used = strlen(out);
	int n = snprintf(out + used, sz - used, ",%s=%s", attr, value);
	return (n < 0 || (size_t)n >= sz - used) ? ec_err_set(err, "the request's subject is too long") : 0;
}

int client_request_subject(tp_runtime *tp, char *out, size_t sz, ec_err *err)
{
	int n;
	if (tp->cfg.subject_name[0])
		n = snprintf(out, sz, "%s", tp->cfg.subject_name);
	else
		n = snprintf(out, sz, "CN=%s", tp->env.hostname && *tp->env.hostname ? tp->env.hostname : "evercert");
	if (n < 0 || (size_t)n >= sz)
		return ec_err_set(err, "the request's subject is too long");
	if (tp->cfg.serial_number) {
		/* The host's identity, as the router adds its serial number to the subject. */
		uint8_t *id = NULL;
		size_t len = 0;
		ec_err e;
		if (ec_read_file("/etc/machine-id", 64, &id, &len, &e) == 0) {
			while (len > 0 && (id[len - 1] == '\n' || id[len - 1] == '\r'))
				id[--len] = '\0';
			int rc = append_attr(out, sz, "serialNumber", (char *)id, err);
			free(id);
			if (rc != 0)
				return -1;
		}
	}
	char ip[INET6_ADDRSTRLEN] = "";
	if ((tp->cfg.fqdn[0] && append_attr(out, sz, "unstructuredName", tp->cfg.fqdn, err) != 0) ||
	    request_address(tp, ip, sizeof(ip), err) != 0 ||
	    (ip[0] && append_attr(out, sz, "unstructuredAddress", ip, err) != 0))
		return -1;
	return 0;
}

/* Adds one name to the list unless the same name is already on it. */
static int push_name(GENERAL_NAMES *names, int type, const char *value, ec_err *err)
{
	ASN1_OCTET_STRING *ip = NULL;
	if (type == CFG_ALT_IP && (ip = a2i_IPADDRESS(value)) == NULL)
		return ec_err_set(err, "'%s' is not an IP address", value);
	GENERAL_NAME *gn = GENERAL_NAME_new();
	ASN1_IA5STRING *text = type == CFG_ALT_IP ? NULL : ASN1_IA5STRING_new();
	if (gn == NULL || (type != CFG_ALT_IP && (text == NULL || !ASN1_STRING_set(text, value, -1)))) {
		GENERAL_NAME_free(gn);
		ASN1_IA5STRING_free(text);
		ASN1_OCTET_STRING_free(ip);
		return ec_err_set(err, "out of memory");
	}
	GENERAL_NAME_set0_value(gn, type == CFG_ALT_IP ? GEN_IPADD : type == CFG_ALT_EMAIL ? GEN_EMAIL : GEN_DNS,
	                        type == CFG_ALT_IP ? (void *)ip : (void *)text);
	for (int i = 0; i < sk_GENERAL_NAME_num(names); i++)
		if (GENERAL_NAME_cmp(sk_GENERAL_NAME_value(names, i), gn) == 0) {
			GENERAL_NAME_free(gn);
			return 0;
		}
	if (!sk_GENERAL_NAME_push(names, gn)) {
		GENERAL_NAME_free(gn);
		return ec_err_set(err, "out of memory");
	}
	return 0;
}

/* The subjectAltName in request order: fqdn, the subject-alt-name values, the ip-address. */
static int collect_names(const tp_runtime *tp, GENERAL_NAMES *names, ec_err *err)
{
	char ip[INET6_ADDRSTRLEN] = "";
	if (tp->cfg.fqdn[0] && push_name(names, CFG_ALT_DNS, tp->cfg.fqdn, err) != 0)
		return -1;
	for (size_t i = 0; i < tp->cfg.n_alt_names; i++)
		if (push_name(names, tp->cfg.alt_names[i].type, tp->cfg.alt_names[i].value, err) != 0)
			return -1;
	if (request_address(tp, ip, sizeof(ip), err) != 0 || (ip[0] && push_name(names, CFG_ALT_IP, ip, err) != 0))
		return -1;
	return 0;
}

int client_request_extensions(const tp_runtime *tp, X509_REQ *req, ec_err *err)
{
	GENERAL_NAMES *names = sk_GENERAL_NAME_new_null();
	STACK_OF(X509_EXTENSION) *exts = NULL;
	int rc = -1;
	if (names == NULL) {
		ec_err_set(err, "out of memory");
		goto out;
	}
	if (collect_names(tp, names, err) != 0)
		goto out;
	if (sk_GENERAL_NAME_num(names) == 0) {
		rc = 0;
		goto out;
	}
	X509_EXTENSION *san = X509V3_EXT_i2d(NID_subject_alt_name, 0, names);
	if ((exts = sk_X509_EXTENSION_new_null()) == NULL || san == NULL || !sk_X509_EXTENSION_push(exts, san)) {
		X509_EXTENSION_free(san);
		ec_err_ssl(err, "cannot encode the subjectAltName");
		goto out;
	}
	if (!X509_REQ_add_extensions(req, exts)) {
		ec_err_ssl(err, "cannot add the extensionRequest");
		goto out;
	}
	rc = 0;
out:
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	GENERAL_NAMES_free(names);
	return rc;
}
