/* Shared libraries loaded when first needed (dynlib.h). */
#include "util/dynlib.h"

#include <dlfcn.h>
#include <stdio.h>

int ec_dynlib_load(const char *library, const char *package, const ec_dynsym *syms, size_t n, char *error,
                   size_t errsz)
{
	void *lib = dlopen(library, RTLD_NOW | RTLD_LOCAL);
	if (lib == NULL) {
		snprintf(error, errsz, "cannot load %s (Debian package %s): %s", library, package, dlerror());
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		if ((*syms[i].slot = dlsym(lib, syms[i].name)) == NULL) {
			snprintf(error, errsz, "%s has no %s (too old a version?)", library, syms[i].name);
			return -1;
		}
	}
	return 0;
}
