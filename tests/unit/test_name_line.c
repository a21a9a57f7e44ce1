/* Names in the router's one-line display form (pki/name_line.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "pki/name_line.h"
#include "pki/pki.h"

static void router_attribute_names(void **state)
{
	char out[256];
	assert_int_equal(pki_name_line_from_text("CN=RootCA,OU=TAC,O=Cisco", out, sizeof(out)), 0);
	assert_string_equal(out, "cn=RootCA,ou=TAC,o=Cisco");
	assert_int_equal(pki_name_line_from_text("unstructuredName=r1.example.com,serialNumber=FTX1+unstructuredAddress=10.0.0.1",
	                                         out, sizeof(out)), 0);
	assert_string_equal(out, "hostname=r1.example.com,serialNumber=FTX1+ipaddress=10.0.0.1");
	assert_int_equal(pki_name_line_from_text("", out, sizeof(out)), 0);
	assert_string_equal(out, "");
}

/* Escaped separators stay inside their value, and escapes (control bytes among them) are kept. */
static void keeps_escapes(void **state)
{
	char out[256];
	assert_int_equal(pki_name_line_from_text("CN=a\\,b\\+c=d,O=x\\0Ay\\\\", out, sizeof(out)), 0);
	assert_string_equal(out, "cn=a\\,b\\+c=d,o=x\\0Ay\\\\");
}

static void too_small(void **state)
{
	char out[8];
	assert_int_equal(pki_name_line_from_text("CN=RootCA,O=Cisco", out, sizeof(out)), -1);
	assert_string_equal(out, "");
	assert_int_equal(pki_name_line_from_text("CN=a", out, 0), -1);
}

/* From a certificate's name: most specific first, as pki_name_format writes it. */
static void from_a_name(void **state)
{
	X509_NAME *name = NULL;
	ec_err err;
	char out[256];
	assert_int_equal(pki_name_parse("CN=r1.example.test,O=Example,unstructuredName=r1.example.test", &name, &err), 0);
	assert_int_equal(pki_name_line(name, out, sizeof(out)), 0);
	assert_string_equal(out, "cn=r1.example.test,o=Example,hostname=r1.example.test");
	X509_NAME_free(name);
}

/* The multi-line form of show crypto pki certificates: the same names, one a line, no separator. */
static void one_a_line(void **state)
{
	X509_NAME *name = NULL;
	ec_err err;
	char out[256];
	assert_int_equal(pki_name_parse("CN=RootCA,OU=TAC,O=Cisco", &name, &err), 0);
	assert_int_equal(pki_name_lines(name, "    ", out, sizeof(out)), 0);
	assert_string_equal(out, "    cn=RootCA\n    ou=TAC\n    o=Cisco\n");
	X509_NAME_free(name);
	assert_int_equal(pki_name_parse("unstructuredName=r1.example.test,serialNumber=FTX1\\,2", &name, &err), 0);
	assert_int_equal(pki_name_lines(name, "  ", out, sizeof(out)), 0);
	assert_string_equal(out, "  hostname=r1.example.test\n  serialNumber=FTX1\\,2\n");
	assert_int_equal(pki_name_lines(name, "  ", out, 12), -1);
	X509_NAME_free(name);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(router_attribute_names),
		cmocka_unit_test(keeps_escapes),
		cmocka_unit_test(too_small),
		cmocka_unit_test(from_a_name),
		cmocka_unit_test(one_a_line),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
